from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from crawler.errors import UsageError
from crawler.settings import Settings, load_settings

ROOT = Path(__file__).parent.parent.parent
SEED = {"seed": ["http://a.test/"]}


def test_default_toml_shows_the_builtin_defaults() -> None:
    shown = tomllib.loads((ROOT / "config" / "default.toml").read_text(encoding="utf-8"))
    defaults = Settings()
    for key, value in shown.items():
        expected = getattr(defaults, key)
        if isinstance(expected, tuple):
            expected = list(expected)
        assert value == expected, key
    commented = (ROOT / "config" / "default.toml").read_text(encoding="utf-8")
    # every setting appears, set or as a commented example
    for field in dataclasses.fields(Settings):
        assert f"{field.name} =" in commented, field.name


def test_precedence_default_then_config_then_command_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('threads = 3\ndelay = 0.5\nscope = "domain"\n', encoding="utf-8")
    s = load_settings({**SEED, "threads": 5}, str(config))
    assert s.threads == 5  # command line wins
    assert s.delay == 0.5  # config file beats built-in
    assert s.scope == "domain"
    assert s.per_host == 8  # built-in default


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="config file not found"):
        load_settings(SEED, str(tmp_path / "nope.toml"))
    with pytest.raises(UsageError, match="config file not found: .*nope.toml.*CRAWLER_CONFIG"):
        load_settings(SEED, None, {"CRAWLER_CONFIG": str(tmp_path / "nope.toml")})


def test_no_config_file_is_read_unless_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "default.toml").write_text("threads = 3\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_settings(SEED, None, {}).threads == Settings().threads
    assert load_settings(SEED, None, {"CRAWLER_CONFIG": ""}).threads == Settings().threads


def test_crawler_config_names_the_file_unless_config_does(tmp_path: Path) -> None:
    named = tmp_path / "named.toml"
    named.write_text("threads = 3\n", encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text("threads = 5\n", encoding="utf-8")
    environ = {"CRAWLER_CONFIG": str(named)}
    assert load_settings(SEED, None, environ).threads == 3
    assert load_settings(SEED, str(other), environ).threads == 5
    assert load_settings({**SEED, "threads": 7}, None, environ).threads == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("threads = ", "bad config file"),
        ("bogus = 1", "unknown key 'bogus'"),
        ('threads = "eight"', "threads.*config file"),
        ("procs = 0", "procs"),
        ('scope = "world"', "scope"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load_settings(SEED, str(config))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"procs": 0}, "procs.*1..256"),
        ({"procs": 257}, "procs"),
        ({"threads": 1025}, "threads"),
        ({"timeout": 0.0}, "timeout"),
        ({"delay": -1.0}, "delay"),
        ({"delay": float("nan")}, "delay"),
        ({"per_host": 0}, "per-host"),
        ({"allow": ["("]}, "allow.*regular expression"),
        ({"header": ["no colon"]}, "header"),
        ({"header": ["X-A: 1\r\nEvil: 2"]}, "header"),
        ({"log_level": "LOUD"}, "log-level"),
        ({"max_bytes": 0}, "max-bytes"),
        ({"extract": ["h=a["]}, r"extract \(command line\): bad CSS selector 'a\['"),
        ({"extract": ["no selector"]}, "extract.*NAME=SELECTOR"),
        ({"extract": ["h=h1", "h=h2"]}, "extract.*'h' given twice"),
        ({"extract": ["a b=h1"]}, "extract.*bad name"),
    ],
)
def test_bad_values_are_usage_errors(given: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_settings({**SEED, **given})


def test_no_seeds_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no seeds"):
        load_settings({})


def test_settings_json_lists_header_names_only() -> None:
    s = load_settings({**SEED, "header": ["X-Token: secret", "Cookie: a=b"]})
    data = s.to_json()
    assert data["header"] == ["X-Token", "Cookie"]
    assert "secret" not in repr(data)
    assert s.headers() == {"X-Token": "secret", "Cookie": "a=b"}
    assert data["procs"] >= 1 and data["threads"] == 8


def test_extract_from_config_and_command_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('extract = ["t=title", "l=a@href"]\n', encoding="utf-8")
    s = load_settings(SEED, str(config))
    assert s.extract == ("t=title", "l=a@href")
    assert s.to_json()["extract"] == ["t=title", "l=a@href"]
    assert load_settings({**SEED, "extract": ["h=h1"]}, str(config)).extract == ("h=h1",)
    config.write_text('extract = ["t=title["]\n', encoding="utf-8")
    with pytest.raises(UsageError, match="extract.*config file.*bad CSS selector"):
        load_settings(SEED, str(config))
