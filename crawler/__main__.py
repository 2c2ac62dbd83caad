"""`python -m crawler`: run the command line and exit with its code."""

import sys

from crawler.cli import main

if __name__ == "__main__":
    sys.exit(main())
