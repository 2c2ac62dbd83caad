"""A shell snippet run in a network namespace of its own, whose only interface is loopback.

Tests that name a non-loopback address (169.254.169.254, 10.0.0.5, ...) run the crawler
and its test server in here, so no packet can leave even if the address guard is broken:
outside loopback every connect fails with ENETUNREACH. A mount namespace comes with it,
so a hosts file of the test's own can be bind-mounted over /etc/hosts; the real one is
never touched.
"""

from __future__ import annotations

import errno
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

# The namespace's first command: lo up, and refuse to go on if any other interface exists
# (then the namespace is not what we think it is, and nothing may be started in it).
_PREAMBLE = 'ip link set lo up && [ "$(ip -o link show | wc -l)" -eq 1 ] || exit 97\n'

# Kept in every hosts file we mount: "localhost" must go on resolving as before.
_LOCALHOST = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"

# What must hold inside: only lo, our hosts file read, a non-loopback connect unreachable.
_PROBE = f"""
import socket, sys
names = [name for _, name in socket.if_nameindex()]
if names != ["lo"]:
    sys.exit(f"interfaces {{names}}, not only lo")
if socket.gethostbyname("netns-probe.test") != "127.0.0.2":
    sys.exit("the bind-mounted /etc/hosts is not read")
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(2)
try:
    s.connect(("169.254.169.254", 80))
except OSError as e:
    sys.exit(0 if e.errno == {errno.ENETUNREACH} else f"connect gave {{e!r}}, not ENETUNREACH")
sys.exit("connect to 169.254.169.254 succeeded")
"""

PROBE_TIMEOUT_S = 10.0
KILL_WAIT_S = 10.0


@functools.cache
def netns_unavailable() -> str | None:
    """Why tests cannot run in a loopback-only namespace here, or None if they can."""
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"no network namespace: `{tool}` is not installed"
    try:
        done = run_in_netns(
            f"{shlex.quote(sys.executable)} -c {shlex.quote(_PROBE)}",
            cwd=Path(tempfile.gettempdir()),
            env=dict(os.environ),
            timeout=PROBE_TIMEOUT_S,
            hosts={"netns-probe.test": "127.0.0.2"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no network namespace: {exc}"
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return f"no network namespace (unshare -n -m needs root): {why}"
    return None


def run_in_netns(
    shell: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    hosts: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `shell` with `sh -c` in a fresh `unshare -n -m` namespace with lo up.

    `hosts` (name -> address) becomes the namespace's /etc/hosts, bind-mounted over the
    real one inside the mount namespace only (localhost kept). On `timeout` every process
    the snippet started is killed (they share its process group) and TimeoutExpired raised.
    """
    with tempfile.TemporaryDirectory(prefix="netns-") as scratch:
        script = _PREAMBLE
        if hosts is not None:
            hosts_file = Path(scratch) / "hosts"
            lines = "".join(f"{address} {name}\n" for name, address in hosts.items())
            hosts_file.write_text(_LOCALHOST + lines, encoding="utf-8")
            script += f"mount --bind {shlex.quote(str(hosts_file))} /etc/hosts || exit 96\n"
        script += shell
        proc = subprocess.Popen(
            ["unshare", "-n", "-m", "sh", "-c", script],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its group holds everything it starts: killed as one
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise
        finally:
            if proc.poll() is None:
                _kill_group(proc)
        return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.communicate(timeout=KILL_WAIT_S)
    except subprocess.TimeoutExpired:  # a pipe still held open by something left behind
        pass
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    proc.wait(KILL_WAIT_S)
