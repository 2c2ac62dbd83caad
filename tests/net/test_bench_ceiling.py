"""scripts/bench_ceiling.py, the latency scenario's upper bound, against a loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer

ROOT = Path(__file__).resolve().parents[2]


def test_ceiling_client_fetches_every_target_once_without_following(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    pages = [f"/p/{n}" for n in range(40)]
    for page in pages:
        httpserver.expect_request(page).respond_with_data(
            "<title>x</title>", content_type="text/html"
        )
    httpserver.expect_request("/r/1").respond_with_data(
        "", status=301, headers={"Location": "/p/0"}
    )
    targets = tmp_path / "targets.txt"
    targets.write_text("\n".join([*pages, "/r/1"]) + "\n", encoding="utf-8")
    feed = tmp_path / "feed.json"
    cmd = [sys.executable, "-m", "scripts.bench_ceiling", "--base", httpserver.url_for("/")]
    cmd += ["--targets", str(targets), "--out", str(feed), "--procs", "2", "--threads", "3"]
    subprocess.run(cmd, cwd=ROOT, check=True, timeout=60)

    records = json.loads(feed.read_text(encoding="utf-8"))
    assert sorted(r["url"] for r in records) == sorted(
        httpserver.url_for(t) for t in [*pages, "/r/1"]
    )
    assert {r["url"]: r["status"] for r in records}[httpserver.url_for("/r/1")] == 301
    # Each target exactly once: the redirect was an answer, not followed to /p/0 again.
    seen = sorted(request.path for request, _ in httpserver.log)
    assert seen == sorted([*pages, "/r/1"])
