"""A small FastAPI app written only for the lab's tests of `TARGET=` (not the demo, nothing
imported from it): a `def` endpoint blocking its thread for BLOCK_SECONDS, an `async def` one
blocking the event loop as long, and faults a user's app can have, each switched on by an
environment variable (EXIT_AT_START, SICK)."""

import asyncio
import os
import sys
import time

from fastapi import FastAPI, Response

BLOCK_SECONDS = float(os.environ.get("BLOCK_SECONDS", "0.1"))

if os.environ.get("EXIT_AT_START"):
    print("blocking: exiting at start, as EXIT_AT_START asks", file=sys.stderr)
    sys.exit(3)

app = FastAPI()


@app.get("/healthz")
def health(response: Response) -> dict:
    if os.environ.get("SICK"):  # never healthy
        response.status_code = 503
    return {"healthy": not os.environ.get("SICK")}


@app.get("/block")
def block() -> dict:
    time.sleep(BLOCK_SECONDS)  # holds one of anyio's threads
    return {"blocked": BLOCK_SECONDS}


@app.get("/loop-block")
async def loop_block() -> dict:
    time.sleep(BLOCK_SECONDS)  # holds the event loop itself: every other request waits
    return {"blocked": BLOCK_SECONDS}


@app.get("/nap")
async def nap() -> dict:
    await asyncio.sleep(BLOCK_SECONDS)
    return {"napped": BLOCK_SECONDS}


@app.post("/made", status_code=201)
def made() -> dict:
    return {"made": True}


@app.get("/hang")
async def hang() -> dict:
    await asyncio.sleep(3600)
    return {}
