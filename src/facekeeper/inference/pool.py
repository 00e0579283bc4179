"""The bounded thread pool that keeps model inference off the event loop."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class InferencePool:
    """`workers` threads at most; with onnx_threads each, keep workers x threads <= cores.

    onnxruntime, OpenCV and numpy release the GIL while they compute, so threads give real parallelism
    without a process pool's copies of every model.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("an inference pool needs at least one worker")
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inference")
        self._lock = threading.Lock()
        self._pending = 0  # tasks submitted and not finished: running ones and queued ones

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` in a worker; requests beyond `workers` wait in the executor's queue."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._counted(functools.partial(fn, *args, **kwargs)))

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run `fn` in a worker without waiting: for callers outside the event loop (bulk import) and for
        background work such as warming the models up."""
        return self._executor.submit(self._counted(functools.partial(fn, *args, **kwargs)))

    def beside(self, fn: Callable[[], T]) -> Future[T] | None:
        """Run `fn` now in an idle worker, or return None (the caller then runs it itself).

        A request running in one worker hands part of its own work (the face plugins) to a worker that
        would otherwise sit idle, so one request uses both cores when the server is quiet, and never adds
        a thread or queues behind other requests when it is busy. Deadlock-free: a worker only waits for a
        task given while another worker was idle, and a worker that finds none idle never waits.
        """
        with self._lock:
            if self._pending >= self.workers:
                return None
            self._pending += 1
        return self._executor.submit(self._finishing(fn))

    def _counted(self, fn: Callable[[], T]) -> Callable[[], T]:
        with self._lock:
            self._pending += 1
        return self._finishing(fn)

    def _finishing(self, fn: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            try:
                return fn()
            finally:
                with self._lock:
                    self._pending -= 1

        return run

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)
