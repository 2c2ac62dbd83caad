"""The live progress bar on stderr (tqdm): pages, pages/s, errors, queued.

Off unless asked for or stderr is a terminal, so logs and CI output stay clean.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from tqdm import tqdm


class Progress:
    def __init__(self, enabled: bool | None, total: int | None = None) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty()
        self._bar: tqdm[Any] | None = None
        self._handler: logging.Handler | None = None
        if enabled:
            self._bar = tqdm(
                total=total or None,
                unit="page",
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.25,
                smoothing=0.1,
            )
            self._handler = _TqdmHandler()
            root = logging.getLogger()
            # Log lines go above the bar instead of through it.
            for handler in root.handlers:
                if isinstance(handler, logging.StreamHandler):
                    self._handler.setFormatter(handler.formatter)
                    self._handler.setLevel(handler.level)
            root.handlers = [self._handler]

    def update(self, pages: int, errors: int, queued: int) -> None:
        if self._bar is None:
            return
        self._bar.update(pages - self._bar.n)
        self._bar.set_postfix(errors=errors, queued=queued, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class _TqdmHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
