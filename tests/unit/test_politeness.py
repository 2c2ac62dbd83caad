from __future__ import annotations

import pytest

from crawler.politeness import HostGate


def test_delay_between_request_starts() -> None:
    gate = HostGate(delay_s=2.0, per_host=8)
    assert gate.may_start(100.0)
    gate.start(100.0)
    assert not gate.may_start(101.9)
    assert gate.next_start() == 102.0
    assert gate.may_start(102.0)


def test_in_flight_cap() -> None:
    gate = HostGate(delay_s=0.0, per_host=2)
    gate.start(1.0)
    gate.start(1.0)
    assert gate.is_full() and not gate.may_start(5.0)
    gate.finish()
    assert gate.may_start(5.0)


def test_misuse_is_loud() -> None:
    gate = HostGate(delay_s=1.0, per_host=1)
    gate.start(0.0)
    with pytest.raises(RuntimeError):
        gate.start(0.5)
    gate.finish()
    with pytest.raises(RuntimeError):
        gate.finish()


def test_hand_over_keeps_the_slot_and_only_without_delay() -> None:
    gate = HostGate(delay_s=0.0, per_host=1)
    with pytest.raises(RuntimeError):
        gate.hand_over(0.0)  # nothing in flight to follow
    gate.start(0.0)
    gate.hand_over(0.1)
    assert gate.in_flight == 1 and gate.is_full()
    slow = HostGate(delay_s=1.0, per_host=1)
    slow.start(0.0)
    with pytest.raises(RuntimeError):
        slow.hand_over(0.1)  # the next start must wait for the clock
