"""How worker processes start, without importing what they run.

The coordinator imports this, not crawler.worker: requests, bs4 and lxml (~0.2 s of
imports) load once, in the forkserver that preloads crawler.worker and forks every
worker, and the forkserver is started early enough that those imports overlap the
coordinator's own start-up instead of delaying the first request.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # importing this module must stay cheap: see crawler/__main__.py
    from crawler.settings import Settings

WORKER_MODULE = "crawler.worker"


def worker_context() -> ForkServerContext:
    """The forkserver context, its server started (or already running) with the preload.

    Forking from a server that has imported the worker's libraries starts each worker in
    milliseconds, also a replacement for one that died; the server starts in the
    background, so calling this early costs the caller nothing.
    """
    ctx = cast(ForkServerContext, multiprocessing.get_context("forkserver"))
    ctx.set_forkserver_preload([WORKER_MODULE])
    multiprocessing.forkserver.ensure_running()
    return ctx


def run_worker(index: int, settings: Settings, tasks: Connection, results: Connection) -> None:
    """A worker process's target: crawler.worker.worker_main (preloaded, so no import here)."""
    from crawler.worker import worker_main

    worker_main(index, settings, tasks, results)
