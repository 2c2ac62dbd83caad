# Sourced by _redis.sh and _chromium.sh: install Debian packages a group of tests needs,
# when we may (root, apt-get); otherwise, or if it fails, say in one line that those
# tests will be skipped. Never fails the caller. `apt-get update` runs once per shell.

_APT_UPDATED=""

# apt_ensure WHAT CHECK PACKAGE... : install PACKAGEs (the caller found them missing).
# WHAT names them and the tests in the messages ("redis-server for the Redis tests").
# Returns 0 if the command CHECK exists afterwards, else 1.
apt_ensure() {
  local what="$1" check="$2"
  shift 2
  local skip="${what%% for *} not installed (%s): ${what#* for } will be skipped"
  if [ "$(id -u)" != 0 ]; then
    printf "$skip\n" "installing needs root" >&2
    return 1
  fi
  if ! command -v apt-get >/dev/null; then
    printf "$skip\n" "no apt-get to install with" >&2
    return 1
  fi
  echo "installing $* with apt-get for ${what#* for } ..." >&2
  local log
  log="$(mktemp)"
  if { { [ -n "$_APT_UPDATED" ] || apt-get update -qq; } \
       && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >"$log" 2>&1 \
     && command -v "$check" >/dev/null; then
    _APT_UPDATED=1
    rm -f "$log"
    return 0
  fi
  printf "$skip\n" "apt-get install $* failed: $(grep -v '^ *$' "$log" | tail -n 1)" >&2
  rm -f "$log"
  return 1
}
