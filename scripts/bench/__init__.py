"""The benchmark: the crawler against Scrapy on the synthetic site, side by side.

Builds the site (scripts/site.py) as static files, serves them with nginx (scenarios fast,
scaling) or with a 50 ms-latency asyncio server of its own (latency), runs the crawler and
Scrapy in alternation, checks that each found every page, and prints medians and ratios as
a Markdown table. Timing lives here and never in the test suite; only the pure helpers
(/proc parsing, tree walking, scenarios, tables) are unit-tested.

    .venv/bin/python -m scripts.bench [--scenario fast|latency|scaling|all] [--rounds 3]
        [--pages 20000] [--latency-pages 20000] [--quick] [--baseline DIR] [--no-scrapy]

    cli.py        options -> scenarios -> runs -> report; exit code
    variants.py   the contenders (crawler, Scrapy, requests alone) and the scenarios
    site_build.py the synthetic site written out as static files, and its ground truth
    servers.py    serving those files: nginx, or the latency server
    measure.py    one command run to its end, its process tree's CPU and PSS sampled
    results.py    one run's outcome: coverage of the ground truth, odd records
    runs.py       a scenario's rounds: each variant run in alternation, each run described
    report.py     medians, the Markdown table, the target lines
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout this bench belongs to
