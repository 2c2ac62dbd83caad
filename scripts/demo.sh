#!/usr/bin/env bash
# The main job on a fresh machine (sets up .venv first): start the local demo site,
# crawl it with --procs 4 --threads 8 into demo-out/out.json, print a summary and the path
# of the HTML report (demo-out/report.html), stop the site.
# Extra arguments go to the crawler, e.g. scripts/demo.sh --max-pages 100
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
"$PY" -m scripts.demo "$@"
