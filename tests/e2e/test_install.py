"""The package as a user installs it: build the wheel, install it into a fresh virtualenv,
run the console scripts from a directory that is not the repository.

Offline: the wheel is built with the setuptools of the test's own environment
(requirements.txt pins one new enough for pyproject.toml) instead of an isolated build
that would download one, and the fresh venv finds the dependencies through a .pth file
naming this environment's site-packages instead of installing them again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the build reads. Copied, so that the build's own build/ and *.egg-info land in a
# temporary directory: in the repository they would race a concurrent test run, and a
# stale build/lib can put a deleted module into the next wheel.
BUILD_INPUTS = ("pyproject.toml", "setup.cfg", "README.md", "crawler")
SETUPTOOLS_FLOOR = 77  # pyproject.toml's [build-system] requires


def _run(cmd: list[str], cwd: Path, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]


def _tiny_out_json(path: Path) -> None:
    seed = "http://127.0.0.1:8000/"
    base = {"depth": 1, "referrer": seed, "redirects": [], "bytes": 10, "elapsed_ms": 1.5}
    base |= {"retries": 0, "worker": 0, "error": None, "content_type": "text/html"}
    pages = [
        {**base, "url": seed, "final_url": seed, "depth": 0, "referrer": None, "status": 200}
        | {"links": [seed + "gone"]},
        {**base, "url": seed + "gone", "final_url": seed + "gone", "status": 404, "links": []},
    ]
    stats = {"pages": 2, "ok": 1, "failed": 1, "elapsed_s": 1.0, "pages_per_s": 2.0}
    data = {"version": 1, "complete": True, "seeds": [seed], "stats": stats, "pages": pages}
    path.write_text(json.dumps(data), encoding="utf-8")


def test_wheel_installs_both_console_scripts(tmp_path: Path) -> None:
    if int(version("setuptools").split(".")[0]) < SETUPTOOLS_FLOOR:
        pytest.fail(f"setuptools >= {SETUPTOOLS_FLOOR} is needed: install requirements.txt")
    source, dist, venv, elsewhere = (tmp_path / name for name in ("src", "dist", "venv", "cwd"))
    source.mkdir()
    elsewhere.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)

    _run(
        _pip("wheel", "--no-deps", "--no-index", "--no-build-isolation", "-w", str(dist), "."),
        source,
    )
    (wheel,) = dist.glob("crawler-*.whl")

    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    purelib = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            tmp_path,
        ).stdout.strip()
    )
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    _run(_pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel)), tmp_path)

    where = _run([str(python), "-c", "import crawler; print(crawler.__file__)"], elsewhere)
    assert where.stdout.startswith(str(venv)), "the installed package, not the repository's"

    usage = _run([str(venv / "bin" / "crawler"), "--help"], elsewhere)
    assert usage.stdout.startswith("usage: crawler")
    assert "--seeds" in usage.stdout
    export_usage = _run([str(venv / "bin" / "crawler-export"), "--help"], elsewhere)
    assert export_usage.stdout.startswith("usage: crawler-export")

    out = elsewhere / "out.json"
    _tiny_out_json(out)
    summary = _run(
        [str(venv / "bin" / "crawler-summary"), "out.json", "--format", "json"], elsewhere
    )
    report = json.loads(summary.stdout)
    assert report["totals"] == {
        "pages": 2,
        "ok": 1,
        "failed": 1,
        "bytes": 20,
        "retries": 0,
        "plugin_errors": 0,
    }
    (broken,) = report["broken_links"]["items"]
    assert broken["url"] == "http://127.0.0.1:8000/gone"
    assert broken["linked_from"] == ["http://127.0.0.1:8000/"]

    # The report's templates are package data: the installed crawler-report renders them.
    made = _run([str(venv / "bin" / "crawler-report"), "out.json", "-o", "r.html"], elsewhere)
    assert made.stderr.startswith("crawler-report: 2 pages -> r.html")
    html = (elsewhere / "r.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "http://127.0.0.1:8000/gone" in html
