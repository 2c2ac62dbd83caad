"""The address guard in the fetcher's connection layer, against a real loopback server.

Names are resolved by the fetcher itself; here a fake resolver stands in for DNS where
a name must resolve to an address this machine cannot reach (no packet can leave:
nothing is connected to when the guard refuses, and the tests assert that).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from crawler import fetcher as fetcher_module
from crawler.addresses import AddressClass, AddressGuard
from crawler.fetcher import Fetcher

GLOBAL_ONLY = AddressGuard(frozenset({AddressClass.GLOBAL}))
LOOPBACK_TOO = AddressGuard(frozenset({AddressClass.GLOBAL, AddressClass.LOOPBACK}))


def make_fetcher(guard: AddressGuard) -> Fetcher:
    return Fetcher(user_agent="crawler-test/1", timeout_s=5, max_bytes=100_000, guard=guard)


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Fail the test if any connection is attempted; the addresses it was asked for."""
    attempts: list[Any] = []

    def refuse(addresses: list[Any], *args: object) -> socket.socket:
        attempts.append(addresses)
        raise AssertionError(f"a connection was attempted to {addresses}")

    monkeypatch.setattr(fetcher_module, "_connect_first", refuse)
    yield attempts


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    def resolve(host: str, port: int, timeout_s: float) -> list[Any]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(fetcher_module, "_resolve", resolve)


def test_loopback_is_refused_unless_granted(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("ok")
    with make_fetcher(GLOBAL_ONLY) as f:
        attempt = f.fetch(httpserver.url_for("/"))
    assert attempt.status is None and attempt.error_kind == "blocked_address"
    assert attempt.error_message is not None
    assert "127.0.0.1" in attempt.error_message and "loopback" in attempt.error_message
    assert httpserver.log == []  # no connection, so no request
    with make_fetcher(LOOPBACK_TOO) as f:
        assert f.fetch(httpserver.url_for("/")).status == 200
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("addresses", "named", "kind"),
    [
        (["169.254.169.254"], "169.254.169.254", "link-local"),
        (["10.0.0.5"], "10.0.0.5", "private"),
        (["192.168.1.1"], "192.168.1.1", "private"),
        (["100.64.0.1"], "100.64.0.1", "private"),
        (["0.0.0.0"], "0.0.0.0", ""),
        (["224.0.0.1"], "224.0.0.1", "multicast"),
        (["fe80::1"], "fe80::1", "link-local"),
        (["::ffff:169.254.169.254"], "169.254.169.254", "link-local"),
        (["2002:a9fe:a9fe::1"], "169.254.169.254", "link-local"),
        (["64:ff9b::a9fe:a9fe"], "169.254.169.254", "link-local"),
        # A name with several addresses is refused if any one is.
        (["93.184.216.34", "169.254.169.254"], "169.254.169.254", "link-local"),
    ],
)
def test_a_name_resolving_to_a_refused_address_is_never_connected(
    monkeypatch: pytest.MonkeyPatch,
    no_connect: list[Any],
    addresses: list[str],
    named: str,
    kind: str,
) -> None:
    fake_dns(monkeypatch, {"metadata.test": addresses})
    with make_fetcher(LOOPBACK_TOO) as f:
        attempt = f.fetch("http://metadata.test/latest/meta-data/")
    assert attempt.error_kind == "blocked_address", attempt
    assert attempt.error_message is not None and named in attempt.error_message
    assert kind in attempt.error_message
    assert no_connect == []


def test_the_checked_addresses_are_the_ones_connected_to(
    monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> None:
    # One lookup per connection, and the connection goes to that very answer: a second
    # lookup (which could answer otherwise: DNS rebinding) never happens in between.
    events: list[tuple[str, Any]] = []
    port = httpserver.port
    real_connect = fetcher_module._connect_first

    def resolve(host: str, p: int, timeout_s: float) -> list[Any]:
        first = not any(kind == "resolve" for kind, _ in events)
        address = "127.0.0.1" if first else "169.254.169.254"
        answer = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, p))]
        events.append(("resolve", answer))
        return answer

    def connect(addresses: list[Any], *args: Any) -> socket.socket:
        events.append(("connect", addresses))
        return real_connect(addresses, *args)

    monkeypatch.setattr(fetcher_module, "_resolve", resolve)
    monkeypatch.setattr(fetcher_module, "_connect_first", connect)
    httpserver.expect_request("/a").respond_with_data("a")
    with make_fetcher(LOOPBACK_TOO) as f:
        assert f.fetch(f"http://rebind.test:{port}/a").status == 200
    assert [kind for kind, _ in events] == ["resolve", "connect"]
    assert events[1][1] is events[0][1]  # the checked answer itself
    with make_fetcher(LOOPBACK_TOO) as f:  # a new connection looks up again
        assert f.fetch(f"http://rebind.test:{port}/a").error_kind == "blocked_address"
    assert [kind for kind, _ in events] == ["resolve", "connect", "resolve"]
    assert len(httpserver.log) == 1


def test_a_refused_request_is_not_retried_by_the_fetcher(
    monkeypatch: pytest.MonkeyPatch, no_connect: list[Any]
) -> None:
    lookups: list[str] = []

    def resolve(host: str, p: int, timeout_s: float) -> list[Any]:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", p))]

    monkeypatch.setattr(fetcher_module, "_resolve", resolve)
    with make_fetcher(GLOBAL_ONLY) as f:
        assert f.fetch("http://intranet.test/").error_kind == "blocked_address"
    assert lookups == ["intranet.test"]
