"""One run's outcome: the measurement, and how its records compare with the ground truth.

Records are compared by request target after the crawler's own canonicalization, so the
crawler's output and Scrapy's feed are checked against the same set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from crawler.urls import InvalidURL, canonicalize
from scripts.bench.measure import Measurement
from scripts.bench.site_build import request_target


@dataclass(frozen=True, slots=True)
class Coverage:
    """How a crawl's records compare with the site's ground truth (request targets)."""

    records: int
    distinct: int
    found: int
    expected: int
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.found == self.expected


def coverage(urls: Sequence[str], expected: frozenset[str]) -> Coverage:
    targets: set[str] = set()
    for url in urls:
        try:
            targets.add(request_target(canonicalize(url)))
        except InvalidURL:
            targets.add(url)
    return Coverage(
        records=len(urls),
        distinct=len(targets),
        found=len(targets & expected),
        expected=len(expected),
        missing=tuple(sorted(expected - targets)),
        extra=tuple(sorted(targets - expected)),
    )


def odd_outcomes(records: Iterable[Mapping[str, object]]) -> Counter[str]:
    """Records other than the site's 200, 301 and 404: server trouble or crawler errors."""
    odd: Counter[str] = Counter()
    for record in records:
        error = record.get("error")
        if isinstance(error, Mapping):
            odd[f"error {error.get('kind')}"] += 1
        elif record.get("status") not in (200, 301, 404):
            odd[f"status {record.get('status')}"] += 1
    return odd


@dataclass(frozen=True, slots=True)
class RunResult:
    variant: str
    round: int
    measurement: Measurement
    coverage: Coverage
    ok: bool  # exit code 0 (and, for the crawler, "complete": true)
    odd: Counter[str] = field(default_factory=Counter)  # see odd_outcomes
    server_errors: tuple[str, ...] = ()  # serious lines nginx logged during the run

    @property
    def wall_s(self) -> float:
        return self.measurement.wall_s

    @property
    def pages_per_s(self) -> float:
        return self.coverage.records / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_s(self) -> float:
        return self.measurement.cpu_s

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_s / self.coverage.records if self.coverage.records else 0.0

    @property
    def peak_pss_mb(self) -> float:
        return self.measurement.peak_pss_kb / 1024
