from __future__ import annotations

import pytest

from crawler.scope import Scope

SEEDS = ["http://example.com/", "http://127.0.0.1:8000/start"]


@pytest.mark.parametrize(
    ("mode", "url", "expected"),
    [
        ("host", "http://example.com/x", True),
        ("host", "http://www.example.com/x", False),
        ("host", "http://127.0.0.1:8000/y", True),
        ("host", "http://127.0.0.1:8001/y", False),
        ("domain", "http://www.example.com/x", True),
        ("domain", "http://a.b.example.com:8080/x", True),
        ("domain", "http://notexample.com/x", False),
        ("domain", "http://example.com.evil.test/x", False),
        ("any", "http://anything.test/", True),
    ],
)
def test_scope_modes(mode: str, url: str, expected: bool) -> None:
    assert Scope.build(SEEDS, mode).allows(url) is expected


def test_allow_and_deny_patterns() -> None:
    scope = Scope.build(SEEDS, "host", allow=[r"/docs/", r"/blog/"], deny=[r"\.pdf$"])
    assert scope.allows("http://example.com/docs/a")
    assert not scope.allows("http://example.com/other")
    assert not scope.allows("http://example.com/docs/a.pdf")
    assert not scope.allows("http://other.test/docs/a")


def test_seed_hosts_for_custom_headers() -> None:
    scope = Scope.build(SEEDS, "any")
    assert scope.is_seed_host("http://example.com/anything")
    assert not scope.is_seed_host("http://www.example.com/")
