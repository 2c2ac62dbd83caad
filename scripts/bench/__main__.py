"""`python -m scripts.bench`: run the benchmark and exit with its code."""

from __future__ import annotations

import sys

from scripts.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
