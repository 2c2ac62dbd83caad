# Sourced by test.sh (or run alone): make sure Debian's chromium and chromium-driver exist
# for the report's browser tests (tests/e2e/test_report_browser.py drives them through
# Selenium; no browser is ever downloaded). If they are missing and we are root with
# apt-get, install the two Debian packages; otherwise say in one line that the browser
# tests will be skipped. Never fails the caller.

_chromium_skip() {
  echo "chromium/chromedriver not installed ($1): the report's browser tests will be skipped" >&2
}

ensure_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    _chromium_skip "installing them needs root"
    return 0
  fi
  if ! command -v apt-get >/dev/null; then
    _chromium_skip "no apt-get to install them with"
    return 0
  fi
  echo "installing chromium and chromium-driver with apt-get for the report's browser tests ..." >&2
  local log
  log="$(mktemp)"
  if ! { apt-get update -qq \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
              chromium chromium-driver; } >"$log" 2>&1 \
     || ! command -v chromedriver >/dev/null; then
    _chromium_skip "apt-get install chromium chromium-driver failed: $(grep -v '^ *$' "$log" | tail -n 1)"
  fi
  rm -f "$log"
}

# Run alone (bash scripts/_chromium.sh) it just does its one job.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ensure_chromium
fi
