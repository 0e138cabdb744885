"""The lab's target: one FastAPI app with every concurrency style the seeds compare."""
