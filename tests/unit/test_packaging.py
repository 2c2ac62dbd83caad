"""The package declares what it imports: every third-party module that crawler/ imports
belongs to a distribution in pyproject.toml's dependencies, so `pip install .` in a clean
environment gives a crawler that runs (tests/e2e/test_install.py builds and installs the
wheel, but borrows this environment's packages, so it cannot see a missing one)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported_top_level_modules() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "crawler").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"crawler", "__future__"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {
        re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].lower() for spec in project["dependencies"]
    }


def test_every_imported_distribution_is_declared() -> None:
    owners = packages_distributions()
    modules = _imported_top_level_modules()
    assert {"bs4", "redis", "warcio", "jinja2"} <= modules  # the scan sees the imports
    missing = {
        module: owners.get(module)
        for module in modules
        if not {name.lower() for name in owners.get(module, [])} & _declared()
    }
    assert not missing, f"imported by crawler/ but not in pyproject.toml's dependencies: {missing}"
