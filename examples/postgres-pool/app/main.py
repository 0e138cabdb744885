"""A FastAPI app whose database pool binds, not its CPU (examples/postgres-pool).

Every item request runs one slow query on a real PostgreSQL server, ``SELECT pg_sleep(s),
count(*) FROM items``: it holds a pooled connection for QUERY_SECONDS on the server and costs
next to no CPU anywhere. So a pool of N connections serves at most N / QUERY_SECONDS requests
a second; past N requests in flight the rest wait in the pool's queue (up to pool_timeout).

    GET /items/sync    a ``def`` endpoint (anyio's thread pool, 40 threads): a Session on a
                       sync engine (psycopg 3) with SQLAlchemy's QueuePool
    GET /items/async   an ``async def`` endpoint: an AsyncSession on an async engine (psycopg
                       3's asyncio side) with its own pool of the same size
    GET /health        {"status": "ok"} once ``SELECT 1`` succeeds, 503 otherwise
    GET /pool          both pools' SQLAlchemy status (checked out, overflow), for a look

Environment: DATABASE_URL (postgresql+psycopg://lab:lab@postgres:5432/lab), QUERY_SECONDS
(0.1), and the pool's knobs DB_POOL_SIZE and DB_MAX_OVERFLOW: when unset, SQLAlchemy's own
defaults (pool_size 5, max_overflow 10: 15 connections), pool_timeout always 30 s. Each
server worker process has its own two pools. No pre-ping (it would double the round trips):
after a database restart the first request of each pool fails, and the pool starts afresh.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session

DEFAULT_DATABASE_URL = "postgresql+psycopg://lab:lab@postgres:5432/lab"
QUERY = text("SELECT pg_sleep(:s), count(*) FROM items")
HEALTH_TIMEOUT = 2.0  # seconds: a database that does not answer is not healthy


def pool_options(environ: Mapping[str, str] = os.environ) -> dict[str, int]:
    """The pool's size and overflow as given; SQLAlchemy's defaults for what is not."""
    options: dict[str, int] = {}
    for name, key in (("DB_POOL_SIZE", "pool_size"), ("DB_MAX_OVERFLOW", "max_overflow")):
        value = environ.get(name, "").strip()
        if value:
            number = int(value)
            if number < (1 if key == "pool_size" else 0):
                raise ValueError(f"{name}={value}: too small")
            options[key] = number
    return options


def query_seconds(environ: Mapping[str, str] = os.environ) -> float:
    seconds = float(environ.get("QUERY_SECONDS", "0.1"))
    if not 0 <= seconds <= 60:
        raise ValueError(f"QUERY_SECONDS={seconds}: not within 0..60")
    return seconds


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Made here, in the worker process (gunicorn forks before this), never shared across forks.
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    options = pool_options()
    app.state.seconds = query_seconds()
    app.state.sync_engine = create_engine(url, **options)
    app.state.async_engine = create_async_engine(url, **options)
    # /health's own connection: a probe never waits behind the measured pools.
    app.state.health_engine = create_async_engine(
        url, pool_size=1, max_overflow=0, connect_args={"connect_timeout": 2}
    )
    try:
        yield
    finally:
        await app.state.health_engine.dispose()
        await app.state.async_engine.dispose()
        app.state.sync_engine.dispose()


app = FastAPI(title="postgres-pool", lifespan=lifespan)


@app.get("/items/sync")
def items_sync(request: Request) -> dict:
    engine: Engine = request.app.state.sync_engine
    with Session(engine) as session:
        row = session.execute(QUERY, {"s": request.app.state.seconds}).one()
    return {"endpoint": "items/sync", "count": row[1]}


@app.get("/items/async")
async def items_async(request: Request) -> dict:
    engine: AsyncEngine = request.app.state.async_engine
    async with AsyncSession(engine) as session:
        row = (await session.execute(QUERY, {"s": request.app.state.seconds})).one()
    return {"endpoint": "items/async", "count": row[1]}


@app.get("/health")
async def health(request: Request):
    engine: AsyncEngine = request.app.state.health_engine
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to answer SELECT 1: not ready
        body = {"status": "unavailable", "error": type(error).__name__}
        return JSONResponse(body, status_code=503)
    return {"status": "ok"}


@app.get("/pool")
async def pool(request: Request) -> dict:
    return {
        "sync": request.app.state.sync_engine.pool.status(),
        "async": request.app.state.async_engine.pool.status(),
    }
