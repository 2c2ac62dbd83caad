from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.urls import InvalidURL, canonicalize, host_key, hostname

DATA = Path(__file__).parent.parent / "data"
CANONICAL = json.loads((DATA / "canonical_urls.json").read_text(encoding="utf-8"))
RELATIVE = json.loads((DATA / "relative_urls.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("raw", "expected"), CANONICAL)
def test_canonical_form(raw: str, expected: str) -> None:
    assert canonicalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), CANONICAL)
def test_canonical_form_is_idempotent(raw: str, expected: str) -> None:
    assert canonicalize(expected) == expected


@pytest.mark.parametrize(("base", "href", "expected"), RELATIVE)
def test_relative_links_resolve(base: str, href: str, expected: str) -> None:
    assert canonicalize(href, base=base) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("mailto:a@b.c", "unsupported scheme"),
        ("ftp://ex.com/", "unsupported scheme"),
        ("javascript:alert(1)", "unsupported scheme"),
        ("/relative", "not an absolute URL"),
        ("ex.com/x", "not an absolute URL"),
        ("http://", "no host"),
        ("http://ex.com:99999/", "Port"),
        ("http://[::1/", "IPv6"),
    ],
)
def test_invalid_urls_are_rejected_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidURL, match=reason):
        canonicalize(raw)


def test_same_page_different_spelling_dedups() -> None:
    spellings = [
        "http://EX.com:80/a/b/../c?y=2&x=1",
        "http://ex.com/a/c?x=1&y=2#frag",
        "http://ex.com/a/./c?x=1&y=2",
    ]
    assert len({canonicalize(s) for s in spellings}) == 1


def test_host_key_keeps_port_and_drops_userinfo() -> None:
    assert host_key("http://127.0.0.1:8000/x") == "127.0.0.1:8000"
    assert host_key("http://u:p@ex.com/x") == "ex.com"
    assert hostname("http://Ex.com:81/") == "ex.com"
