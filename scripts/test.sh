#!/usr/bin/env bash
# Run the whole test suite (sets up .venv first): lint, type check, then pytest (with
# redis-server installed first when it is missing and we may: scripts/_redis.sh; and
# Debian's chromium + chromium-driver for the report's browser tests: scripts/_chromium.sh).
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -x
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
source "$ROOT/scripts/_redis.sh"
source "$ROOT/scripts/_chromium.sh"
"$VENV/bin/ruff" check crawler scripts tests
"$PY" -m mypy
ensure_redis_server
ensure_chromium
"$PY" -m pytest -q "$@"
