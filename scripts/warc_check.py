"""`warcio check` as if warcio were installed alone, for the demo and the tests.

warcio 1.8.1 cannot decode a `br` payload when brotli >= 1.2 is installed beside it (its
br decompressor sets an attribute brotli's no longer allows), and our requirements
install brotli 1.2.1. So the check runs in a child process where `import brotli` fails:
the same warcio, as a user with warcio alone has it, without a second virtualenv.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

_CHECK = (
    "import sys; sys.modules['brotli'] = None\n"  # warcio as if installed without brotli
    "from warcio.cli import main\n"
    "main(['check', *sys.argv[1:]])\n"
)


def warcio_check(
    paths: Iterable[Path], *, capture: bool = True, verbose: bool = True
) -> subprocess.CompletedProcess[str]:
    """`warcio check [-v] PATHS`; its exit code says whether every file passed."""
    return subprocess.run(
        [sys.executable, "-c", _CHECK, *(["-v"] if verbose else []), *map(str, paths)],
        capture_output=capture,
        text=True,
        timeout=60,
    )
