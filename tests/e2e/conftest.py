"""Run the real CLI (`python -m crawler`) as a subprocess and read what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class Crawl:
    code: int
    stderr: str
    out: dict[str, Any] | None
    out_path: Path

    @property
    def pages(self) -> list[dict[str, Any]]:
        assert self.out is not None, self.stderr
        return self.out["pages"]

    def by_url(self) -> dict[str, dict[str, Any]]:
        return {p["url"]: p for p in self.pages}

    @property
    def stats(self) -> dict[str, Any]:
        assert self.out is not None, self.stderr
        return self.out["stats"]

    @property
    def last_stderr_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def crawler_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("PYTHONWARNINGS", None)
    return env


def run_crawler(tmp_path: Path, *args: str, timeout: float = 60, stdin: str | None = None) -> Crawl:
    """`python -m crawler --out tmp/out.json --no-progress ARGS` from `tmp_path`."""
    out_path = tmp_path / "out.json"
    cmd = [sys.executable, "-m", "crawler", "--out", str(out_path), "--no-progress", *args]
    proc = subprocess.run(
        cmd,
        cwd=tmp_path,
        env=crawler_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin if stdin is not None else "",
    )
    out = json.loads(out_path.read_text(encoding="utf-8")) if out_path.exists() else None
    return Crawl(proc.returncode, proc.stderr, out, out_path)


@pytest.fixture
def crawl(tmp_path: Path):  # type: ignore[no-untyped-def]
    def _crawl(*args: str, timeout: float = 60, stdin: str | None = None) -> Crawl:
        return run_crawler(tmp_path, *args, timeout=timeout, stdin=stdin)

    return _crawl
