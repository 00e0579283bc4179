"""ReadWriteLock: readers share, a writer is alone, a waiting writer is not starved by new readers."""

from __future__ import annotations

import threading
import time

from facekeeper.index.locks import ReadWriteLock


def test_readers_share_and_writers_exclude() -> None:
    lock = ReadWriteLock()
    inside: list[str] = []
    both_reading = threading.Barrier(2, timeout=5)

    def reader() -> None:
        with lock.reading():
            both_reading.wait()  # would time out if readers excluded each other
            inside.append("r")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert inside == ["r", "r"]


def test_waiting_writer_goes_before_new_readers() -> None:
    lock = ReadWriteLock()
    order: list[str] = []
    first_reader_in = threading.Event()
    release_first = threading.Event()

    def first_reader() -> None:
        with lock.reading():
            first_reader_in.set()
            release_first.wait(5)

    def writer() -> None:
        with lock.writing():
            order.append("writer")

    def late_reader() -> None:
        with lock.reading():
            order.append("late reader")

    threads = [threading.Thread(target=first_reader)]
    threads[0].start()
    first_reader_in.wait(5)
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    time.sleep(0.05)  # the writer is now waiting for the first reader
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    time.sleep(0.05)
    assert order == []
    release_first.set()
    for thread in threads:
        thread.join(5)
    assert order == ["writer", "late reader"]
