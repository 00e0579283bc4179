"""Threads chosen in one place (`workers.py`): database work never waits behind the models, and work
whose request was cancelled is dropped before it starts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from facekeeper.workers import Workers


@pytest.fixture
def workers() -> Iterator[Workers]:
    made = Workers(inference_workers=1, database_workers=1, local_database=False)
    yield made
    made.shutdown()


def test_database_work_runs_while_every_inference_worker_is_busy(workers: Workers) -> None:
    release = threading.Event()

    async def scenario() -> str:
        busy = asyncio.ensure_future(workers.inference(release.wait, 10))
        try:
            return await asyncio.wait_for(workers.database(lambda: threading.current_thread().name), 5)
        finally:
            release.set()
            await busy

    assert asyncio.run(scenario()).startswith("database")


def test_cancelled_work_still_queued_never_runs(workers: Workers) -> None:
    release = threading.Event()
    ran: list[str] = []

    async def scenario() -> None:
        busy = asyncio.ensure_future(workers.inference(release.wait, 10))
        queued = asyncio.ensure_future(workers.inference(ran.append, "queued work"))
        await asyncio.sleep(0.05)
        queued.cancel()  # what the deadline middleware does when the client has gone
        await asyncio.sleep(0.05)  # the cancellation reaches the executor's queue on the next loop turn
        release.set()
        await busy
        await asyncio.sleep(0.1)  # the worker is free: a job left in the queue would run now

    asyncio.run(scenario())
    assert ran == []


def test_lookups_stay_on_the_loop_only_for_a_local_database() -> None:
    async def thread_of(made: Workers) -> str:
        return await made.lookup(lambda: threading.current_thread().name)

    local, remote = Workers(1, 1, local_database=True), Workers(1, 1, local_database=False)
    try:
        assert asyncio.run(thread_of(local)) == "MainThread"
        assert asyncio.run(thread_of(remote)).startswith("database")
    finally:
        local.shutdown()
        remote.shutdown()


def test_small_bodies_parse_on_the_loop_big_ones_in_the_database_pool(workers: Workers) -> None:
    async def thread_of(size: int) -> str:
        return await workers.parse(size, lambda: threading.current_thread().name)

    assert asyncio.run(thread_of(100)) == "MainThread"
    assert asyncio.run(thread_of(10_000_000)).startswith("database")
