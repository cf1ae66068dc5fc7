"""The bounded upload pool (storage/upload_pool.py), in process: no S3 needed to show it."""

from __future__ import annotations

import threading

import pytest

from target_s3_endor.errors import UploadError
from target_s3_endor.storage.upload_pool import UploadPool


def test_results_are_reported_on_the_waiting_thread_and_only_once_all_ended() -> None:
    pool = UploadPool(4)
    release = threading.Event()
    started = threading.Barrier(4)
    reported: list[tuple[str, str]] = []

    def upload(name: str) -> str:
        started.wait(timeout=30)  # all four run at once, or this times out
        release.wait(timeout=30)
        return name

    for name in "abcd":
        pool.submit(
            name,
            lambda n=name: upload(n),
            lambda r: reported.append((r, threading.current_thread().name)),
        )
    assert reported == []  # nothing is reported before it has ended
    release.set()
    pool.wait()
    assert sorted(name for name, _ in reported) == list("abcd")
    assert {thread for _, thread in reported} == {threading.current_thread().name}
    assert pool.in_flight == 0
    pool.shutdown()


def test_a_failure_is_raised_once_the_others_ended_and_stops_later_submissions() -> None:
    pool = UploadPool(2)
    slow_may_end = threading.Event()
    slow_ended = threading.Event()
    reported: list[str] = []

    def slow() -> str:
        slow_may_end.wait(timeout=30)
        slow_ended.set()
        return "slow"

    def failing() -> str:
        slow_may_end.set()
        raise UploadError("s3:PutObject is denied")

    pool.submit("slow", slow, reported.append)
    pool.submit("failing", failing, reported.append)
    with pytest.raises(UploadError, match="denied"):
        pool.wait()
    assert slow_ended.is_set()  # no file an upload reads is closed under it
    assert "failing" not in reported
    with pytest.raises(UploadError, match="denied"):
        pool.submit("later", lambda: "later", reported.append)
    assert "later" not in reported
    pool.shutdown()


def test_two_uploads_of_one_key_never_overlap() -> None:
    pool = UploadPool(4)
    running = threading.Semaphore(1)
    order: list[str] = []

    def upload(version: str) -> str:
        assert running.acquire(blocking=False), "two uploads of one key at once"
        try:
            order.append(version)
            return version
        finally:
            running.release()

    pool.submit("scan-key", lambda: upload("first"), lambda _: None)
    pool.submit("scan-key", lambda: upload("second"), lambda _: None)
    pool.wait()
    assert order == ["first", "second"]
    pool.shutdown()
