"""The address guard of a crawl: the seeds' hosts resolved once, at start.

Loopback and private addresses are allowed only to a crawl whose seeds are on such
addresses themselves (crawling your own localhost or intranet site), or with
--allow-private. A seed whose name does not resolve grants nothing.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.parse import urlsplit

from crawler.addresses import AddressClass, AddressGuard, classify

log = logging.getLogger(__name__)

MAX_LOOKUPS = 16  # threads resolving seed hosts at once


def seed_guard(seeds: Iterable[str], allow_private: bool, timeout_s: float) -> AddressGuard:
    """Resolve each seed's host (all within `timeout_s`); the guard their classes make."""
    hosts = sorted({urlsplit(seed).hostname or "" for seed in seeds} - {""})
    classes: set[AddressClass] = set()
    if hosts:
        pool = ThreadPoolExecutor(max_workers=min(MAX_LOOKUPS, len(hosts)))
        futures = [pool.submit(_addresses, host) for host in hosts]
        done, _ = wait(futures, timeout=timeout_s)
        # A lookup still hanging ends on the resolver's own timeout, in the background.
        pool.shutdown(wait=False, cancel_futures=True)
        for future in done:
            if future.exception() is None:
                classes.update(classify(address) for address in future.result())
    guard = AddressGuard.for_seeds(classes, allow_private)
    log.debug("address guard: allowed %s", ", ".join(sorted(guard.allowed)))
    return guard


def _addresses(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]
