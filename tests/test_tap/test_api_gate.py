"""The API client's shared retry gate: one thread's 429 holds every thread back."""

from __future__ import annotations

from tap_endorlabs.api import RetryGate


class FakeClock:
    """A clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_an_open_gate_lets_requests_through_at_once() -> None:
    clock = FakeClock()
    RetryGate(clock).wait(clock.sleep)
    assert clock.slept == []


def test_a_closed_gate_holds_every_sender_until_the_asked_time() -> None:
    clock = FakeClock()
    gate = RetryGate(clock)
    gate.close_for(2.0)  # one worker's 429 asked for two seconds
    gate.wait(clock.sleep)  # another worker, about to send
    assert sum(clock.slept) == 2.0
    gate.wait(clock.sleep)  # open again
    assert sum(clock.slept) == 2.0


def test_a_shorter_wait_never_shortens_a_longer_one() -> None:
    clock = FakeClock()
    gate = RetryGate(clock)
    gate.close_for(5.0)
    gate.close_for(1.0)
    gate.wait(clock.sleep)
    assert sum(clock.slept) == 5.0
