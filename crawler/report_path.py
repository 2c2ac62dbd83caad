"""Can the HTML report be written where it is asked for? Checked before the first request.

`--report PATH` is written at the end of a crawl; a crawl of hours must not end in
"cannot write the report", so the path is looked at first, like --out's (exit 2):
a directory, a file standing where a directory must be, the same file as another
output, or a place where no file can be created. Kept apart from crawler.report so
that a crawl's start-up does not import Jinja2.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from crawler.output import file_path_problem


def report_path_problem(
    path: str, others: Iterable[tuple[str, str | None]] = (), option: str = "--report"
) -> str | None:
    """Why the report cannot be written to `path`, or None. `others`: (name, path) of
    the run's other files, which the report must not replace. Creates nothing that
    stays: a probe file is made and removed in the nearest existing directory."""
    problem = file_path_problem(path, replaced=True, example="report.html")
    if problem is None:
        for name, other in others:
            if other is not None and os.path.realpath(other) == os.path.realpath(path):
                problem = f"it is also {name} (give the report a file of its own)"
                break
    if problem is None:
        problem = _probe(Path(path).parent)
    return None if problem is None else f"cannot write output {option} {path}: {problem}"


def _probe(directory: Path) -> str | None:
    """Create and remove a file in `directory`, or in its nearest existing ancestor when
    it is still to be made (what may be created there is what may be made there)."""
    existing = next((d for d in (directory, *directory.parents) if d.is_dir()), None)
    if existing is None:
        return None
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".crawler-report.", suffix=".probe")
    except OSError as exc:
        return f"cannot create a file in {existing}: {exc.strerror}"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None
