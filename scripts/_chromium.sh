# Sourced by test.sh (or run alone): make sure Debian's chromium and chromium-driver exist
# for the report's browser tests (tests/e2e/test_report_browser.py drives them through
# Selenium; no browser is ever downloaded). If they are missing and we are root with
# apt-get, install the two Debian packages; otherwise say in one line that the browser
# tests will be skipped. Never fails the caller.

source "$(dirname "${BASH_SOURCE[0]}")/_apt.sh"

ensure_chromium() {
  command -v chromium >/dev/null && command -v chromedriver >/dev/null && return 0
  apt_ensure "chromium/chromedriver for the report's browser tests" chromedriver \
    chromium chromium-driver || true
}

# Run alone (bash scripts/_chromium.sh) it just does its one job.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ensure_chromium
fi
