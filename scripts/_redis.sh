# Sourced by test.sh (or run alone): make sure a redis-server binary exists for the Redis
# tests, which start their own per test session (tests/helpers/redis_server.py). If it is
# missing and we are root with apt-get, install Debian's redis-server and stop the service
# the package starts (it would hold port 6379 and outlive the tests); otherwise say in one
# line that the Redis tests will be skipped. Never fails the caller.

_redis_skip() {
  echo "redis-server not installed ($1): the Redis tests will be skipped" >&2
}

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
  if [ "$(id -u)" != 0 ]; then
    _redis_skip "installing it needs root"
    return 0
  fi
  if ! command -v apt-get >/dev/null; then
    _redis_skip "no apt-get to install it with"
    return 0
  fi
  echo "installing redis-server with apt-get for the Redis tests ..." >&2
  local log
  log="$(mktemp)"
  if { apt-get update -qq \
       && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >"$log" 2>&1 \
     && command -v redis-server >/dev/null; then
    _redis_stop_service
  else
    _redis_skip "apt-get install redis-server failed: $(grep -v '^ *$' "$log" | tail -n 1)"
  fi
  rm -f "$log"
}

# Run alone (bash scripts/_redis.sh) it just does its one job.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ensure_redis_server
fi
