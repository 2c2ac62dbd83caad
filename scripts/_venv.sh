# Sourced by demo.sh and test.sh: make .venv and install requirements.txt when it
# changed since the last install (a hash of the file is kept in the venv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
if ! "$PY" -m pip --version >/dev/null 2>&1; then
  # Not there, or half made: Debian's python3 without python3-venv (no ensurepip) leaves
  # a .venv without pip behind, which a plain "does it exist" check would keep forever.
  echo "setting up $VENV ..." >&2
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    source "$ROOT/scripts/_apt.sh"
    if ! python3 -c 'import ensurepip' 2>/dev/null \
        && apt_ensure "python3-venv for the virtualenv" python3 python3-venv; then
      python3 -m venv "$VENV"
    else
      echo "cannot make $VENV: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
fi
want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
have="$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  echo "installing requirements.txt into $VENV ..." >&2
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements.txt"
  echo "$want" > "$VENV/.requirements.sha256"
fi
cd "$ROOT"
