"""The bench's plugin (`python -m scripts.bench --scenario plugin`): ~10 ms of pure-Python
CPU per page, the kind of work a user's parsing does, run by the crawler as
`--plugin scripts.bench_plugin:work` and by the Scrapy spider in its callback.

Standard library only: Scrapy's virtualenv (.bench-venv/) imports it too. The work is a
fixed number of steps over the page's text (not its length), so every page costs the same.
"""

from __future__ import annotations

from typing import Any

# ~10 ms of CPU on the bench machine (2 CPUs, Python 3.11): ~0.075 µs a step.
STEPS = 130_000
_MASK = 0xFFFFFFFF


def work(page: Any) -> dict[str, Any]:
    """A checksum of the page's text over STEPS characters (cycling), and its word count."""
    text: str = page.text or " "
    size = len(text)
    checksum = 0
    for i in range(STEPS):
        checksum = (checksum * 31 + ord(text[i % size])) & _MASK
    return {"checksum": checksum, "words": len(text.split())}


def noop(page: Any) -> None:
    """Nothing: what calling a plugin costs the crawler itself (--crawler-args)."""
    return None
