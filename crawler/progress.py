"""The live progress bar on stderr (tqdm): pages, failed, queued, pages/s.

Off unless asked for or stderr is a terminal, so logs and CI output stay clean. The
counts come first and the bar last, so a 60-column terminal still shows every number
(tqdm cuts a line at the terminal's width; once there are records with a
plugin_error, their count may push the rate past 60 columns). After a resume the bar
starts at the earlier runs' pages, but its rate counts this run's pages only.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, TextIO

from tqdm import tqdm

if TYPE_CHECKING:
    _TqdmBase = tqdm[Any]
else:
    _TqdmBase = tqdm

# "{postfix}" is ", 3 failed, 12 queued" (tqdm puts the comma in).
_FORMAT = "{n_fmt} {noun}{postfix}, {pages_per_s} [{elapsed}]"
_FORMAT_TOTAL = "{n_fmt}/{total_fmt} pages{postfix}, {pages_per_s} {percentage:.0f}%|{bar}|"


class Progress:
    def __init__(
        self,
        enabled: bool | None,
        total: int | None = None,
        *,
        file: TextIO | None = None,
        ncols: int | None = None,
    ) -> None:
        """`file` and `ncols` (fixed width; default: the terminal's, as it changes) are
        for tests."""
        self._file = file if file is not None else sys.stderr
        if enabled is None:
            enabled = self._file.isatty()
        self._enabled = enabled
        self._total = total or None
        self._ncols = ncols
        self._bar: _Bar | None = None
        self._handler: logging.Handler | None = None
        if enabled:
            self._handler = _TqdmHandler(self._file)
            root = logging.getLogger()
            # Log lines go above the bar instead of through it.
            for handler in root.handlers:
                if isinstance(handler, logging.StreamHandler):
                    self._handler.setFormatter(handler.formatter)
                    self._handler.setLevel(handler.level)
            root.handlers = [self._handler]

    @property
    def enabled(self) -> bool:
        return self._enabled

    def start(self, resumed: int = 0) -> None:
        """Show the bar from now on; `resumed`: the records of the crawl's earlier runs
        (--state), counted on the bar but not in its rate."""
        if self._enabled and self._bar is None:
            self._bar = self._open(initial=resumed)

    def update(self, pages: int, failed: int, queued: int, plugin_errors: int = 0) -> None:
        """`pages` records so far, `failed` of them (out.json's stats.failed: an error or
        a status of 400 or more), `queued` URLs waiting, `plugin_errors` records with a
        plugin_error (shown once there is one)."""
        if not self._enabled:
            return
        postfix = f"{failed} failed, {queued} queued"
        if plugin_errors:
            postfix += f", {plugin_errors} plugin errors"
        if self._bar is None:
            # Not started: the bar starts here, and the pages so far (a resumed crawl's
            # earlier records, at the first turn of its loop) are not part of the rate.
            self._bar = self._open(initial=pages, postfix=postfix)
            return
        self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.update(pages - self._bar.n)  # drawn at most every mininterval

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _open(self, initial: int, postfix: str | None = None) -> _Bar:
        return _Bar(
            total=self._total,
            initial=initial,
            postfix=postfix,
            unit="pages",
            bar_format=_FORMAT_TOTAL if self._total else _FORMAT,
            file=self._file,
            ncols=self._ncols,
            dynamic_ncols=self._ncols is None,
            mininterval=0.25,
            miniters=0,  # redraw on every update after mininterval, also for a new postfix
            smoothing=0.1,
        )


class _Bar(_TqdmBase):
    """tqdm with "1 page" / "2 pages" and a rate in the summary line's words."""

    @property
    def format_dict(self) -> MutableMapping[str, Any]:
        values = super().format_dict
        values["noun"] = "page" if values["n"] == 1 else "pages"
        rate = values["rate"]  # smoothed; None until there is one
        if rate is None and values["elapsed"]:
            rate = (values["n"] - values["initial"]) / values["elapsed"]
        values["pages_per_s"] = f"{rate:.1f} pages/s" if rate is not None else "? pages/s"
        return values


class _TqdmHandler(logging.Handler):
    def __init__(self, file: TextIO) -> None:
        super().__init__()
        self._file = file

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=self._file)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
