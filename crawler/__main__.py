"""`python -m crawler`: run the command line and exit with its code."""

import sys

from crawler.worker_entry import worker_context

if __name__ == "__main__":
    if not {"-h", "--help", "--version"} & set(sys.argv[1:]):
        # First of all: the workers' forkserver imports requests, bs4 and lxml (~0.2 s)
        # while this process imports the command line's own modules.
        worker_context()
    from crawler.cli import main

    sys.exit(main())
