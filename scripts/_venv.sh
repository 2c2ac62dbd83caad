# Sourced by demo.sh and test.sh: make .venv and install requirements.txt when it
# changed since the last install (a hash of the file is kept in the venv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
  echo "setting up $VENV ..." >&2
  python3 -m venv "$VENV"
fi
want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
have="$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  echo "installing requirements.txt into $VENV ..." >&2
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements.txt"
  echo "$want" > "$VENV/.requirements.sha256"
fi
cd "$ROOT"
