"""Output paths checked before the first request: what is refused, and nothing left behind."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from crawler.errors import UsageError
from crawler.output import (
    RecordSink,
    check_output_paths,
    directory_path_problem,
    file_path_problem,
)
from crawler.recorder import Recorder
from crawler.settings import Settings

SEEDS = ["http://a.test/"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp_path with a directory `dir` (holding `old.json`) and a regular file `file`."""
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "old.json").write_text("{}", encoding="utf-8")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    return tmp_path


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("path", "replaced", "problem"),
    [
        ("dir", True, "it is a directory (name a file in it, such as {root}/dir/x.json)"),
        ("dir", False, "it is a directory (name a file in it, such as {root}/dir/x.json)"),
        ("new/", True, "it names a directory, not a file"),
        ("", True, "it names a directory, not a file"),
        ("file/out.json", True, "{root}/file is a file, not a directory"),
        ("file/a/b/out.json", False, "{root}/file is a file, not a directory"),
        (
            "/dev/null",
            True,
            "it is not a regular file (out.json is replaced by renaming a new file onto it)",
        ),
        ("/dev/null", False, None),  # --jsonl appends: a device will do
        ("file", True, None),  # replaced by rename
        ("dir/old.json", True, None),
        ("new/deeper/out.json", True, None),  # directories are made
        ("/proc/x/out.json", True, None),  # only trying tells
    ],
)
def test_file_path_problem(tree: Path, path: str, replaced: bool, problem: str | None) -> None:
    full = f"{tree}/{path}" if path and not path.startswith("/") else path
    expected = problem.format(root=tree) if problem else None
    assert file_path_problem(full, replaced=replaced, example="x.json") == expected


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("file", "it is a file, not a directory"),
        ("file/state", "{root}/file is a file, not a directory"),
        ("dir", None),
        ("new/state", None),
    ],
)
def test_directory_path_problem(tree: Path, path: str, problem: str | None) -> None:
    expected = problem.format(root=tree) if problem else None
    assert directory_path_problem(str(tree / path)) == expected


def test_check_output_paths_names_the_option_and_the_path(tree: Path) -> None:
    out = str(tree / "out.json")
    check_output_paths(out, str(tree / "pages.jsonl"), str(tree / "state"))
    with pytest.raises(UsageError, match=f"^cannot write output --out {tree}/dir: it is a dir"):
        check_output_paths(str(tree / "dir"), None, None)
    with pytest.raises(UsageError, match=f"^cannot write output --jsonl {tree}/dir: .*pages.jsonl"):
        check_output_paths(out, str(tree / "dir"), None)
    with pytest.raises(UsageError, match=f"^cannot use --state {tree}/file: it is a file"):
        check_output_paths(out, None, str(tree / "file"))
    with pytest.raises(UsageError, match="it is also --out"):
        check_output_paths(out, str(tree / "dir" / ".." / "out.json"), None)
    assert listing(tree) == ["dir", "dir/old.json", "file"]


def test_opening_makes_the_directories_and_leaves_no_probe(tree: Path) -> None:
    sink = RecordSink(str(tree / "a" / "b" / "out.json"), str(tree / "c" / "pages.jsonl"))
    assert listing(tree) == sorted(
        ["a", "a/b", "c", "c/pages.jsonl", "dir", "dir/old.json", "file"]
    )
    sink.close()


@pytest.mark.parametrize(
    ("out", "jsonl", "message"),
    [
        ("/proc/crawler-x/out.json", None, "cannot create directory /proc/crawler-x: "),
        ("/proc/out.json", None, "cannot create a file in /proc: "),
        ("new/out.json", "/proc/crawler-x/p.jsonl", "cannot create directory /proc/crawler-x"),
        ("new/out.json", "/proc/p.jsonl", "--jsonl /proc/p.jsonl: cannot open it for appending"),
    ],
)
def test_a_place_that_refuses_files_is_a_usage_error_and_leaves_nothing(
    tree: Path, out: str, jsonl: str | None, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        RecordSink(str(tree / out), jsonl)
    assert listing(tree) == ["dir", "dir/old.json", "file"]


def settings(tmp_path: Path, **changes: object) -> Settings:
    base = Settings(seed=tuple(SEEDS), out=str(tmp_path / "out.json"))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_state_refused_after_the_outputs_opened_leaves_nothing(tree: Path) -> None:
    s = settings(
        tree,
        out=str(tree / "new" / "out.json"),
        jsonl=str(tree / "new2" / "deeper" / "pages.jsonl"),
        state="/proc/crawler-state",
    )
    with pytest.raises(UsageError, match="^cannot use --state /proc/crawler-state: cannot"):
        Recorder.open(s, SEEDS, [])
    assert listing(tree) == ["dir", "dir/old.json", "file"]


def test_another_crawl_in_state_removes_only_what_opening_made(tree: Path) -> None:
    state = str(tree / "state")
    Recorder.open(settings(tree, state=state), SEEDS, []).close()
    before = listing(tree)
    kept = tree / "dir" / "kept.jsonl"
    kept.write_text('{"url": "x"}\n', encoding="utf-8")
    for jsonl in (tree / "new" / "pages.jsonl", kept):
        other = settings(tree, state=state, scope="any", jsonl=str(jsonl))
        with pytest.raises(UsageError, match="--scope differs"):
            Recorder.open(other, SEEDS, [])
    assert listing(tree) == sorted([*before, "dir/kept.jsonl"])
    assert kept.read_text(encoding="utf-8") == '{"url": "x"}\n'


def test_every_path_is_checked_before_any_is_made(tree: Path) -> None:
    s = settings(
        tree,
        out=str(tree / "new" / "out.json"),
        jsonl=str(tree / "dir"),
        state=str(tree / "state"),
    )
    with pytest.raises(UsageError, match="--jsonl"):
        Recorder.open(s, SEEDS, [])
    assert listing(tree) == ["dir", "dir/old.json", "file"]
    assert os.listdir(tree / "dir") == ["old.json"]
