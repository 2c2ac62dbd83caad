"""--plugin's rules: the MODULE:FUNCTION spec, and what a plugin's return value makes of a
page record's `data` and of the links the crawl follows (docs/contract.md#extraction).

Pure: values in, values out. The call itself, and the import, are crawler/plugin.py's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crawler.urls import InvalidURL, canonicalize

# A dotted module path, a colon, a dotted attribute path ("pkg.mod:Class.method" works).
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_SPEC = re.compile(rf"^({_DOTTED}):({_DOTTED})$")
# The key of a plugin's return value that names links to follow instead of data.
FOLLOW_KEY = "follow"
# A plugin_error is one line of a record, not an exception's whole text.
MAX_ERROR_CHARS = 500


class BadPluginSpec(ValueError):
    """A --plugin value that is not MODULE:FUNCTION."""


def parse_spec(text: str) -> tuple[str, str]:
    """`"pkg.mod:function"` -> ("pkg.mod", "function"); BadPluginSpec otherwise."""
    match = _SPEC.match(text.strip())
    if match is None:
        raise BadPluginSpec(f"expected MODULE:FUNCTION (e.g. myplugin:extract), got {text!r}")
    return match.group(1), match.group(2)


def error_text(kind: str, message: object) -> str:
    """A record's plugin_error: "Kind: message", on one line, at most MAX_ERROR_CHARS."""
    text = " ".join(f"{kind}: {message}".split())
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 3] + "..."
    return text


def exception_text(exc: BaseException) -> str:
    return error_text(type(exc).__name__, exc)


@dataclass(frozen=True, slots=True)
class Applied:
    """What one plugin call leaves in the record: its data, links to follow, or an error."""

    data: dict[str, Any]  # the record's whole `data`
    follow: list[str]  # canonical, each once, in the plugin's order
    error: str | None  # "Kind: message"; then `data` is the --extract values only
    dropped: int  # follow URLs longer than --max-url-length (stats.dropped_links)


def apply_return(
    returned: object, extracted: Mapping[str, Any], base: str, max_url_length: int
) -> Applied:
    """A plugin's return value applied to a page whose --extract values are `extracted`.

    None adds nothing. A dict is merged into `data` (its keys win); its `follow` (a list
    of URLs, resolved against `base`) is taken out. Anything else, a value that is not
    JSON (a set, NaN, an object), a key that is not a string or a `follow` that is not a
    list of strings, is an error and adds nothing at all.
    """
    if returned is None:
        return Applied(dict(extracted), [], None, 0)
    if not isinstance(returned, dict):
        return _refused(
            extracted, f"the plugin returned {type(returned).__name__}, not a dict or None"
        )
    for key in returned:
        if not isinstance(key, str):
            return _refused(extracted, f"key {key!r} of the returned dict is not a string")
    rest = dict(returned)
    follow = rest.pop(FOLLOW_KEY, None)
    if follow is not None and not _is_url_list(follow):
        return _refused(
            extracted, f"'{FOLLOW_KEY}' must be a list of URL strings, not {_kind_of(follow)}"
        )
    try:
        # A round trip: what crosses to the coordinator is plain JSON values (a bs4
        # string, a str subclass, would otherwise drag its whole tree through the pipe).
        plain = json.loads(json.dumps(rest, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        return Applied(dict(extracted), [], exception_text(exc), 0)
    urls, dropped = resolve_follow(follow or (), base, max_url_length)
    return Applied(merge_data(extracted, plain), urls, None, dropped)


def _refused(extracted: Mapping[str, Any], message: str) -> Applied:
    return Applied(dict(extracted), [], error_text("TypeError", message), 0)


def _is_url_list(value: object) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(url, str) for url in value)


def _kind_of(value: object) -> str:
    if isinstance(value, list | tuple):
        return f"a {type(value).__name__} holding a non-string"
    return type(value).__name__


def merge_data(extracted: Mapping[str, Any], returned: Mapping[str, Any]) -> dict[str, Any]:
    """The record's `data`: the --extract values, then the plugin's keys (a plugin key
    overwrites an --extract name of the same name, keeping that name's place)."""
    return {**extracted, **returned}


def resolve_follow(urls: Iterable[str], base: str, max_url_length: int) -> tuple[list[str], int]:
    """The plugin's `follow` URLs made canonical against `base`, each once, in order;
    and how many were longer than `max_url_length` (left out, like such links).

    A URL that is not http(s) or does not parse is skipped, as an unusable href is.
    """
    found: dict[str, None] = {}
    dropped = 0
    for url in urls:
        try:
            link = canonicalize(url, base)
        except InvalidURL:
            continue
        if len(link) > max_url_length:
            dropped += 1
            continue
        found.setdefault(link, None)
    return list(found), dropped


def with_follow(
    links: Sequence[str], nofollow: Sequence[str], follow: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The URLs a page leads to, and those of them not to follow, once a plugin asked to
    follow `follow`: the page's links first, then the plugin's not among them; a link
    the plugin names is followed even if the page said nofollow (the plugin asked)."""
    asked = set(follow)
    known = set(links)
    combined = [*links, *(url for url in follow if url not in known)]
    return combined, [url for url in nofollow if url not in asked]
