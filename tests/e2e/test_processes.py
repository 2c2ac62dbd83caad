"""Processes: concurrency per host across workers, interrupts, dead workers, no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts.site import SiteConfig, SiteServer, expected_urls
from tests.e2e.conftest import ROOT, crawler_env


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (workers are children of the forkserver, its child)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def worker_pids(pid: int) -> list[int]:
    pids = []
    for child in descendants(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        # forkserver children run crawler.worker; the server itself has children
        if b"forkserver" in cmd and not descendants(child):
            pids.append(child)
    return pids


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_crawler(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "crawler", "--out", str(tmp_path / "out.json"), "--no-progress"]
    return subprocess.Popen(
        [*cmd, *args], cwd=tmp_path, env=crawler_env(), stderr=subprocess.PIPE, text=True
    )


class _Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    active = 0
    peak = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.peak = max(cls.peak, cls.active)
        try:
            time.sleep(0.05)
            if self.path == "/robots.txt":
                body, status = b"", 404
            elif self.path == "/":
                body = "".join(f'<a href="/p{i}">p</a>' for i in range(40)).encode()
                status = 200
            else:
                body, status = b"<title>p</title>", 200
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with cls.lock:
                cls.active -= 1

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def counting_server() -> Iterator[tuple[str, type[_Counting]]]:
    handler = type("Handler", (_Counting,), {"active": 0, "peak": 0, "lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_per_host_limit_holds_across_workers(tmp_path: Path, counting_server) -> None:  # type: ignore[no-untyped-def]
    url, handler = counting_server
    proc = start_crawler(
        tmp_path, "--seed", url, "--procs", "3", "--threads", "4", "--per-host", "3"
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["stats"]["pages"] == 41
    assert handler.peak == 3  # reached, never exceeded
    assert {p["worker"] for p in data["pages"]} == {0, 1, 2}


@pytest.fixture
def slow_site() -> Iterator[SiteServer]:
    server = SiteServer(SiteConfig(pages=400, links=5, hosts=1, latency_ms=30))
    server.start()
    yield server
    server.stop()


def test_sigint_writes_partial_output_and_exits_130(tmp_path: Path, slow_site: SiteServer) -> None:
    proc = start_crawler(
        tmp_path,
        "--seed",
        slow_site.base_urls[0],
        "--procs",
        "2",
        "--threads",
        "2",
        "--jsonl",
        str(tmp_path / "pages.jsonl"),
    )
    wait_for(lambda: len(slow_site.requests) > 20, 30, "the crawl to get going")
    workers = worker_pids(proc.pid)
    assert len(workers) == 2
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert time.monotonic() - interrupted < 10
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["complete"] is False
    assert 0 < data["stats"]["pages"] < 400
    lines = (tmp_path / "pages.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == data["stats"]["pages"]  # every finished record, in both
    for pid in workers:
        wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}"), 5, f"worker {pid} to exit")


def test_sigterm_too(tmp_path: Path, slow_site: SiteServer) -> None:
    proc = start_crawler(tmp_path, "--seed", slow_site.base_urls[0], "--procs", "1")
    wait_for(lambda: len(slow_site.requests) > 5, 30, "the crawl to get going")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["complete"] is False


def start_deep_crawl(tmp_path: Path, slow_site: SiteServer) -> subprocess.Popen[str]:
    """Two workers of four threads on the whole slow site, once it has got going."""
    proc = start_crawler(
        tmp_path,
        "--seed",
        slow_site.base_urls[0],
        *("--procs", "2", "--threads", "4", "--max-depth", "50"),
    )
    wait_for(lambda: len(slow_site.requests) > 30, 30, "the crawl to get going")
    return proc


def test_killed_worker_is_replaced_and_nothing_is_lost(
    tmp_path: Path, slow_site: SiteServer
) -> None:
    proc = start_deep_crawl(tmp_path, slow_site)
    victim = wait_for(lambda: worker_pids(proc.pid), 5, "workers")[0]
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert "died" in err
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    expected = expected_urls(slow_site.cfg, slow_site.base_urls)
    assert {p["url"] for p in data["pages"]} == expected
    assert len(data["pages"]) == len(expected)
    assert data["complete"] is True


def thread_cpus(pid: int) -> set[str]:
    """The CPU lists (as /proc shows them: "0-3", "1") that the threads of `pid` may run on."""
    lists = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("Cpus_allowed_list:"):
                    lists.add(line.split(":", 1)[1].strip())
    return lists


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to choose from")
def test_each_worker_runs_with_all_its_threads_on_a_cpu_of_its_own(
    tmp_path: Path, slow_site: SiteServer
) -> None:
    proc = start_deep_crawl(tmp_path, slow_site)
    try:
        workers = wait_for(lambda: len(pids := worker_pids(proc.pid)) == 2 and pids, 5, "workers")
        placements = [thread_cpus(pid) for pid in workers]
        threads = [len(os.listdir(f"/proc/{pid}/task")) for pid in workers]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    allowed = {str(cpu) for cpu in os.sched_getaffinity(0)}
    assert all(n >= 4 + 1 for n in threads)  # the fetch threads and the parse thread
    assert all(len(cpus) == 1 and cpus <= allowed for cpus in placements), placements
    assert placements[0] != placements[1]


def test_no_process_left_after_a_normal_crawl(tmp_path: Path, slow_site: SiteServer) -> None:
    proc = start_crawler(
        tmp_path, "--seed", slow_site.base_urls[0], "--procs", "2", "--max-pages", "20"
    )
    workers = wait_for(lambda: worker_pids(proc.pid), 20, "workers")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    for pid in workers:
        wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}"), 5, f"worker {pid} to exit")


def test_progress_bar_when_asked(tmp_path: Path, slow_site: SiteServer) -> None:
    cmd = [sys.executable, "-m", "crawler", "--out", str(tmp_path / "o.json"), "--progress"]
    cmd += ["--seed", slow_site.base_urls[0], "--max-pages", "10", "--procs", "1"]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=crawler_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "page" in proc.stderr and "errors=" in proc.stderr and "queued=" in proc.stderr
