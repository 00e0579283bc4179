"""The bounded thread pool that keeps model inference off the event loop."""

from __future__ import annotations

import asyncio
import functools
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

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` in a worker; requests beyond `workers` wait in the executor's queue."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run `fn` in a worker without waiting: for callers outside the event loop (bulk import) and for
        background work such as warming the models up."""
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)
