"""crawler.figures: the figures the summary and the report share, on hand-made records."""

from __future__ import annotations

from crawler.figures import (
    Bucket,
    from_data,
    percentiles,
    response_time_buckets,
    timeline,
)
from tests.helpers.records import H, page_record


def test_response_time_buckets_edges() -> None:
    buckets = response_time_buckets([0.0, 9.99, 10.0, 24.9, 9999.0, 10000.0, 60000.0])
    assert buckets[0] == Bucket(None, 10, 2)
    assert buckets[1] == Bucket(10, 25, 2)  # a bucket holds its lower bound
    assert buckets[-2] == Bucket(5000, 10000, 1)
    assert buckets[-1] == Bucket(10000, None, 2)
    assert sum(b.count for b in buckets) == 7


def test_percentiles_nearest_rank() -> None:
    assert percentiles(float(n) for n in range(100, 0, -1)) == {
        "p50": 50.0,
        "p90": 90.0,
        "p99": 99.0,
        "max": 100.0,
    }
    assert percentiles([7.0]) == {"p50": 7.0, "p90": 7.0, "p99": 7.0, "max": 7.0}
    assert percentiles([]) == {}


def test_timeline_slices_the_crawl_span() -> None:
    found = timeline([100.0, 100.5, 110.0, 105.2], [0, 1, 0, 1], bins=60)
    assert found.width_s == 1.0  # whole seconds at least: 11 slices, not 60 empty ones
    assert len(found.slices) == 11
    assert (found.slices[0].ok, found.slices[0].failed) == (1, 1)
    assert (found.slices[5].ok, found.slices[5].failed) == (0, 1)
    assert (found.slices[10].ok, found.slices[10].failed) == (1, 0)
    long = timeline([0.5, 0.5 + 600.0], [0, 0], bins=60)
    assert long.width_s == 10.0 and len(long.slices) == 60
    assert sum(s.ok for s in long.slices) == 2
    assert timeline([], []).slices == []


def test_times_types_and_what_was_attempted() -> None:
    unavailable = {"kind": "robots_unavailable", "message": "status 503"}
    died = {"kind": "internal", "message": "2 worker processes died"}
    pages = [
        page_record(
            H, depth=0, referrer=None, elapsed_ms=12.0, fetched_at="2026-11-28T02:00:00.000Z"
        ),
        page_record(H + "pdf", content_type="application/pdf", elapsed_ms=30.0),
        # Not attempted: worker null, elapsed 0: no response time.
        page_record(
            H + "r", None, worker=None, elapsed_ms=0.0, content_type=None, error=unavailable
        ),
        # A worker death: fetched_at is 1970, no time of the crawl.
        page_record(
            H + "d", None, worker=None, elapsed_ms=0.0, fetched_at="1970-01-01T00:00:00.000Z"
        )
        | {"error": died, "content_type": None},
    ]
    del pages[1]["worker"]  # a hand-made file without "worker": its time counts
    fig = from_data({"pages": pages})
    assert sum(b.count for b in fig.response_times) == 2
    assert fig.percentiles_ms["max"] == 30.0
    assert fig.content_types == {"": 2, "text/html": 1, "application/pdf": 1}
    assert fig.timeline.started_at == "2026-11-28T02:00:00.000Z"
    assert sum(s.ok + s.failed for s in fig.timeline.slices) == 3
    assert fig.timeline.slices[1].failed == 1  # the robots_unavailable record, at +1.5 s
    assert fig.sitemaps is None  # no "sitemaps" in the file


def test_linkers_kept_and_counted() -> None:
    pages = [page_record(H + f"p{i}", links=[H + "gone", H + f"p{i}"]) for i in range(6)]
    pages.append(page_record(H + "gone", 404))
    fig = from_data({"pages": pages}, linkers=4)
    (gone,) = fig.broken
    assert gone.links_in == 6  # self-links are no links in
    assert gone.linked_from == tuple(H + f"p{i}" for i in range(4))
    assert from_data({"pages": pages}, linkers=0).broken[0].linked_from == ()


def test_orphans_and_unlisted_pages() -> None:
    moved = [H + "old"]
    pages = [
        # A seed: where the crawl starts, no orphan though nothing links to it.
        page_record(
            H, depth=0, referrer=None, in_sitemap=True, links=[H + "a", H + "b", H + "old"]
        ),
        page_record(H + "a", in_sitemap=True, links=[H + "a", H + "gone"]),  # linked from /
        page_record(H + "orphan2", in_sitemap=True, links=[H + "orphan2"]),  # a self-link only
        page_record(H + "orphan1", 404, in_sitemap=True),
        page_record(H + "orphan0", in_sitemap=True),
        page_record(H + "b", in_sitemap=False, links=[H]),  # linked, ok, unlisted
        page_record(H + "gone", 404, in_sitemap=False),  # linked but failed: not to list
        page_record(
            H + "old", in_sitemap=False, redirects=moved, final_url=H + "new"
        ),  # a redirect
        page_record(H + "lonely", in_sitemap=False),  # unlisted but linked from nowhere
    ]
    files = [{"url": H + "sitemap.xml", "status": 200, "urls": 4, "error": None}]
    fig = from_data({"sitemaps": {"files": files, "urls": 4}, "pages": pages})
    assert fig.sitemaps is not None
    assert fig.sitemaps.files == files and fig.sitemaps.urls == 4
    assert fig.sitemaps.listed == 5
    # worst first: the failed orphan, then the others by URL
    assert [e.url for e in fig.sitemaps.orphans] == [H + "orphan1", H + "orphan0", H + "orphan2"]
    assert fig.sitemaps.orphans[0].status == 404
    assert [(e.url, e.links_in, e.linked_from) for e in fig.sitemaps.unlisted] == [
        (H + "b", 1, (H,))
    ]
