# Sourced by test.sh (or run alone): make sure a redis-server binary exists for the Redis
# tests, which start their own per test session (tests/helpers/redis_server.py). If it is
# missing and we are root with apt-get, install Debian's redis-server and stop the service
# the package starts (it would hold port 6379 and outlive the tests); otherwise say in one
# line that the Redis tests will be skipped. Never fails the caller.

source "$(dirname "${BASH_SOURCE[0]}")/_apt.sh"

_redis_stop_service() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl disable --now --quiet redis-server >/dev/null 2>&1 || true
  elif command -v service >/dev/null; then
    # Without systemd (a container): the init script, and no start at the next boot.
    service redis-server stop >/dev/null 2>&1 || true
    update-rc.d redis-server disable >/dev/null 2>&1 || true
  fi
  # Whatever still runs from the package's pid file (a policy-rc.d may also have kept it
  # from starting at all, as in most containers).
  local pidfile=/run/redis/redis-server.pid pid
  if [ -f "$pidfile" ]; then
    pid="$(cat "$pidfile")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
    fi
  fi
}

ensure_redis_server() {
  command -v redis-server >/dev/null && return 0
  if apt_ensure "redis-server for the Redis tests" redis-server redis-server; then
    _redis_stop_service
  fi
  return 0
}

# Run alone (bash scripts/_redis.sh) it just does its one job.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ensure_redis_server
fi
