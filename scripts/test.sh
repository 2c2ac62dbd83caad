#!/usr/bin/env bash
# Run the whole test suite (sets up .venv first): lint, type check, then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -x
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
"$VENV/bin/ruff" check crawler scripts tests
"$PY" -m mypy
"$PY" -m pytest -q "$@"
