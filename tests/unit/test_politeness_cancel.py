"""crawler.politeness: HostGate.cancel(), a start that is refused after all."""

from __future__ import annotations

import pytest

from crawler.politeness import HostGate


def test_cancel_frees_the_slot() -> None:
    gate = HostGate(delay_s=0.0, per_host=1)
    gate.start(10.0)
    assert gate.is_full()
    gate.cancel()
    assert gate.in_flight == 0
    assert not gate.is_full()
    assert gate.may_start(10.0)


def test_cancel_of_the_first_start_gives_the_delay_back() -> None:
    gate = HostGate(delay_s=5.0, per_host=4)
    gate.start(10.0)
    assert not gate.may_start(10.0)
    gate.cancel()
    assert gate.last_start is None
    assert gate.next_start() == float("-inf")
    assert gate.may_start(10.0)  # the refused request did not use the delay
    gate.start(10.0)
    assert gate.next_start() == 15.0


def test_cancel_restores_the_previous_start_time() -> None:
    gate = HostGate(delay_s=2.0, per_host=4)
    gate.start(100.0)
    gate.start(103.0)
    assert gate.next_start() == 105.0
    gate.cancel()
    assert gate.in_flight == 1  # the request started at 100 is still in flight
    assert gate.last_start == 100.0
    assert gate.next_start() == 102.0
    assert gate.may_start(103.0)
    gate.start(103.0)
    assert gate.next_start() == 105.0


def test_cancel_after_the_previous_request_finished() -> None:
    gate = HostGate(delay_s=1.0, per_host=1)
    gate.start(0.0)
    gate.finish()
    gate.start(1.5)
    gate.cancel()
    assert gate.in_flight == 0
    assert gate.next_start() == 1.0
    assert gate.may_start(1.5)


def test_cancel_then_start_again_and_cancel_again() -> None:
    gate = HostGate(delay_s=3.0, per_host=1)
    gate.start(0.0)
    gate.finish()
    for now in (3.0, 3.5, 4.0):
        gate.start(now)
        gate.cancel()
        assert gate.last_start == 0.0  # each refused start leaves the real one in place
        assert gate.in_flight == 0
    assert gate.may_start(3.0)


def test_cancel_without_start_raises() -> None:
    gate = HostGate(delay_s=1.0, per_host=1)
    with pytest.raises(RuntimeError, match="cancel without start"):
        gate.cancel()
    assert gate.in_flight == 0
    assert gate.last_start is None


def test_cancel_after_finish_raises() -> None:
    gate = HostGate(delay_s=1.0, per_host=1)
    gate.start(0.0)
    gate.finish()
    with pytest.raises(RuntimeError):
        gate.cancel()
    assert gate.in_flight == 0
    assert gate.last_start == 0.0  # the finished request's start still times the next


def test_cancel_twice_after_one_start_raises() -> None:
    gate = HostGate(delay_s=0.0, per_host=2)
    gate.start(0.0)
    gate.cancel()
    with pytest.raises(RuntimeError):
        gate.cancel()
    assert gate.in_flight == 0


def test_finish_after_cancel_raises() -> None:
    gate = HostGate(delay_s=0.0, per_host=1)
    gate.start(0.0)
    gate.cancel()
    with pytest.raises(RuntimeError):
        gate.finish()
