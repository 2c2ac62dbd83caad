"""The bench's plugin scenario: its contenders and their commands, and the plugin itself."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

from scripts.bench.cli import parse_args
from scripts.bench.variants import (
    BENCH_PLUGIN,
    PLUGIN_ONE,
    PLUGIN_TWO,
    SCRAPY,
    crawler_command,
    scenarios,
    scrapy_command,
)
from scripts.bench_plugin import work


def test_one_process_against_two_and_scrapy_all_with_the_plugin() -> None:
    (scenario,) = scenarios(["plugin"], 20_000, 20_000, plugin_pages=3_000)
    assert scenario.pages == 3_000 and scenario.server == "nginx"
    by_name = {v.name: v for v in scenario.variants}
    assert list(by_name) == [PLUGIN_ONE, PLUGIN_TWO, SCRAPY]
    assert (by_name[PLUGIN_ONE].procs, by_name[PLUGIN_ONE].threads) == (1, 8)
    assert (by_name[PLUGIN_TWO].procs, by_name[PLUGIN_TWO].threads) == (2, 4)
    assert all(v.plugin == BENCH_PLUGIN for v in scenario.variants)
    assert scenario.ratios == ((PLUGIN_ONE, SCRAPY), (PLUGIN_TWO, SCRAPY), (PLUGIN_TWO, PLUGIN_ONE))


def test_commands_carry_the_plugin(tmp_path: Path) -> None:
    (scenario,) = scenarios(["plugin"], 100, 100)
    argv = crawler_command(scenario.variants[0], "http://127.0.0.1:1/", tmp_path / "o").argv
    assert argv[argv.index("--plugin") + 1] == BENCH_PLUGIN
    scrapy = scrapy_command("http://127.0.0.1:1/", tmp_path / "f", tmp_path, BENCH_PLUGIN).argv
    assert f"plugin={BENCH_PLUGIN}" in scrapy and scrapy[-2:] == ("-O", str(tmp_path / "f"))
    assert not any(a.startswith("plugin") for a in scrapy_command("u", tmp_path, tmp_path).argv)


def test_the_plugin_pages_option() -> None:
    assert parse_args(["--scenario", "plugin"]).plugin_pages == 3_000
    assert parse_args(["--scenario", "plugin", "--quick"]).plugin_pages == 2_000
    assert parse_args(["--scenario", "plugin", "--plugin-pages", "50"]).plugin_pages == 50


def test_the_plugin_is_deterministic_cpu_work() -> None:
    page = SimpleNamespace(text="<p>a b c</p>")
    started = time.process_time()
    first = work(page)
    assert time.process_time() - started > 0.001  # it does cost CPU
    assert first == work(page) and first["words"] == 3
    assert work(SimpleNamespace(text=""))["words"] == 0
