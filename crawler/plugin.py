"""--plugin MODULE:FUNCTION: the user's function, imported and called in the worker processes.

`load_plugin` imports it (the coordinator once at start, to fail early with exit 2; each
worker process once as it starts), with the current directory first on the import path
as `python -m` puts it there: the `crawler` console script does not, and a plugin file
next to the user is what they expect to be found. `call_plugin` runs one call and
turns whatever happens into an `Applied` (crawler/plugin_rules.py): a plugin that raises
or returns nonsense costs its record a `plugin_error`, never the worker. A call that
does not return is the coordinator's to stop (crawler/pool.py, docs/design.md).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from crawler.plugin_rules import (
    Applied,
    BadPluginSpec,
    apply_return,
    exception_text,
    parse_spec,
)

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

PluginFunction = Callable[["Page"], object]

log = logging.getLogger(__name__)
# The first exception a plugin raises in a process is logged with its traceback as a
# warning (the record's plugin_error has one line only); later ones at DEBUG.
_first_error = threading.Event()


class PluginLoadError(Exception):
    """The plugin cannot be used; the message is one line naming the problem."""


def load_plugin(spec: str, directory: str | None = None) -> PluginFunction:
    """Import MODULE and return its FUNCTION, with `directory` (default: the current one)
    first on sys.path; PluginLoadError names the problem."""
    try:
        module_name, function_name = parse_spec(spec)
    except BadPluginSpec as exc:
        raise PluginLoadError(str(exc)) from None
    path = os.path.abspath(directory if directory is not None else os.getcwd())
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        obj: Any = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # whatever the module's top level does
        raise PluginLoadError(
            f"cannot import {module_name!r} ({spec}): {exception_text(exc)}"
        ) from None
    for part in function_name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginLoadError(f"{module_name!r} has no {function_name!r} ({spec})") from None
    if not callable(obj):
        raise PluginLoadError(f"{spec} is a {type(obj).__name__}, not a function")
    function: PluginFunction = obj
    return function


class Page:
    """What a plugin gets: one fetched 2xx HTML page.

    `url` is the record's URL, `final_url` the one that answered (after redirects),
    `headers` the response's headers (lower-case names; repeated ones joined by ", "),
    `text` the decoded body. `soup` is the whole document as a BeautifulSoup tree (lxml),
    built the first time it is read: a plugin that only needs the text pays nothing for it.
    """

    __slots__ = ("url", "final_url", "status", "headers", "text", "_soup")

    def __init__(
        self, url: str, final_url: str, status: int, headers: Mapping[str, str], text: str
    ) -> None:
        self.url = url
        self.final_url = final_url
        self.status = status
        self.headers = {name.lower(): value for name, value in headers.items()}
        self.text = text
        self._soup: BeautifulSoup | None = None

    @property
    def soup(self) -> BeautifulSoup:
        if self._soup is None:
            from bs4 import BeautifulSoup  # loaded already in a worker (its forkserver)

            # A leading space keeps bs4 from warning about an XML declaration (as in
            # crawler/links.py); the parser skips it.
            text = " " + self.text if self.text.startswith("<?xml") else self.text
            self._soup = BeautifulSoup(text, "lxml")
        return self._soup

    @property
    def soup_built(self) -> bool:
        """Whether `soup` was read (for tests: it is built only on demand)."""
        return self._soup is not None

    def __repr__(self) -> str:
        return f"<Page {self.final_url} {self.status}>"


def call_plugin(
    function: PluginFunction,
    page: Page,
    extracted: Mapping[str, Any],
    base: str,
    max_url_length: int,
) -> Applied:
    """One plugin call on `page`, whose --extract values are `extracted`; `base` resolves
    its `follow` URLs (the page's base URL, <base href> honoured, as its links)."""
    try:
        returned = function(page)
    except (Exception, SystemExit) as exc:  # sys.exit() in a plugin must not end a thread
        level = logging.DEBUG if _first_error.is_set() else logging.WARNING
        _first_error.set()
        log.log(level, "the plugin failed on %s\n%s", page.final_url, traceback.format_exc())
        return Applied(dict(extracted), [], exception_text(exc), 0)
    return apply_return(returned, extracted, base, max_url_length)
