"""loadlab: drives sweeps of the FastAPI concurrency lab, collects results, renders reports."""
