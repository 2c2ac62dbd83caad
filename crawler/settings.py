"""The Settings dataclass: every default of the crawler, loading and validation.

Defaults live here and nowhere else (config/default.toml shows the same values and a
test keeps them equal). Precedence: built-in < config file < command line.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawler import PROJECT_URL, __version__
from crawler.errors import UsageError

MASK = "***"  # what a secret is written as

# The environment variable that names a config file when --config does not.
CONFIG_ENV = "CRAWLER_CONFIG"
# The environment variable that names the frontier when --frontier does not (it beats a
# config file: the machine's environment says where its cluster's Redis is).
FRONTIER_ENV = "CRAWLER_FRONTIER"
MEMORY_FRONTIER = "memory"
REDIS_SCHEMES = ("redis", "rediss")
_CRAWL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SCOPES = ("host", "domain", "any")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _cpu_count() -> int:
    return max(1, min(256, os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class Settings:
    """Every effective setting of one crawl; picklable, sent whole to workers.

    Field names are the long command-line options with `_` for `-`; times are seconds,
    sizes bytes.
    """

    seeds: str | None = None
    seed: tuple[str, ...] = ()
    procs: int = field(default_factory=_cpu_count)
    threads: int = 8
    out: str = "out.json"
    jsonl: str | None = None
    report: str | None = None  # the HTML report, written at the end (crawler/report.py)
    max_depth: int = 5
    max_pages: int = 0
    scope: str = "host"
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    delay: float = 0.0
    per_host: int = 8
    timeout: float = 10.0
    retries: int = 2
    max_bytes: int = 10_485_760
    max_redirects: int = 10
    max_pages_per_host: int = 0
    max_url_length: int = 2048
    user_agent: str = f"crawler/{__version__} (+{PROJECT_URL})"
    header: tuple[str, ...] = ()
    ignore_robots: bool = False
    allow_private: bool = False
    sitemaps: bool = False  # read the seed hosts' sitemaps first (crawler/sitemap_flow.py)
    accept_ext: tuple[str, ...] = ()
    reject_ext: tuple[str, ...] = ()
    extract: tuple[str, ...] = ()  # NAME=SELECTOR[@attr], checked by crawler/extract.py
    plugin: str | None = None  # MODULE:FUNCTION, imported by the CLI at start to check it
    plugin_timeout: float = 30.0  # seconds one plugin call may take
    state: str | None = None
    warc: str | None = None  # a directory: archive every exchange as WARC files there
    warc_max_size: int = 1_073_741_824  # bytes; a new WARC file past it
    frontier: str = MEMORY_FRONTIER  # or redis://[:password@]host[:port][/db], rediss://
    crawl: str | None = None  # the crawl's name in Redis; None: derived from its identity
    lease_ttl: float = 30.0
    redis_timeout: float = 60.0
    log_level: str = "INFO"
    progress: bool | None = None  # None: on when stderr is a terminal

    @property
    def shared(self) -> bool:
        """Is the frontier shared (in Redis), the crawl one of many machines?"""
        return self.frontier != MEMORY_FRONTIER

    def headers(self) -> dict[str, str]:
        """The --header values as a dict (validated already)."""
        return dict(_split_header(h) for h in self.header)

    def to_json(self) -> dict[str, Any]:
        """The effective settings for out.json: header values are never written."""
        data = dataclasses.asdict(self)
        data["header"] = [_split_header(h)[0] for h in self.header]
        for key in ("seed", "allow", "deny", "accept_ext", "reject_ext", "extract"):
            data[key] = list(data[key])
        data["frontier"] = masked_url(self.frontier)
        return data


FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_TUPLE_FIELDS = {"seed", "allow", "deny", "header", "accept_ext", "reject_ext", "extract"}
# File extensions: "gz, .TAR.gz" -> ("gz", "tar.gz"); a list or one comma-separated string.
_EXTENSION_FIELDS = {"accept_ext", "reject_ext"}
_OPTIONAL_STR = {"seeds", "jsonl", "report", "state", "plugin", "crawl", "warc"}


def _split_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    return name.strip(), value.strip()


def masked_url(url: str) -> str:
    """A frontier URL as it may be logged or written: its password (in the user part or
    in a `password=` query argument, both of which redis-py reads) as ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":" + MASK
        netloc = f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k == "password" else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def default_settings() -> Settings:
    return Settings()


def read_config(path: Path, named_by: str = "--config") -> dict[str, Any]:
    """Read a TOML config file; UsageError names the file and the problem."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        hint = f" (named by {named_by})" if named_by != "--config" else ""
        raise UsageError(f"config file not found: {path}{hint}") from None
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"bad config file {path}: {exc}") from None
    for key in data:
        if key not in FIELDS or key == "config":
            raise UsageError(f"bad config file {path}: unknown key '{key}'")
    return data


def load_settings(
    given: dict[str, Any],
    config_path: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Apply precedence: built-in defaults, then the config file, then `given`.

    `given` holds only the options actually typed on the command line. The config file
    is `config_path` (--config), else the one `environ` names in CRAWLER_CONFIG, else
    none: a file is read only when named, never found by looking around, and a named
    file must exist.
    """
    values: dict[str, tuple[Any, str]] = {}
    named_by = "--config"
    if not config_path and environ is not None:
        config_path, named_by = environ.get(CONFIG_ENV) or None, CONFIG_ENV
    if config_path:
        path = Path(config_path)
        for key, value in read_config(path, named_by).items():
            values[key] = (value, f"config file {path}")
    if environ is not None and environ.get(FRONTIER_ENV):
        values["frontier"] = (environ[FRONTIER_ENV], f"environment variable {FRONTIER_ENV}")
    for key, value in given.items():
        values[key] = (value, "command line")
    checked = {key: _check(key, value, where) for key, (value, where) in values.items()}
    settings = Settings(**checked)
    if settings.seeds is None and not settings.seed:
        raise UsageError("no seeds: give URLs, --seed URL or --seeds FILE")
    if settings.shared and settings.state:
        raise UsageError(
            "--state and --frontier redis://... are exclusive: with a shared frontier, "
            "Redis holds the crawl's state"
        )
    if settings.shared and settings.sitemaps:
        # The sitemaps' reading (crawler/sitemap_flow.py) keeps its state in one
        # coordinator: every machine would read them, and in_sitemap would be per machine.
        raise UsageError("--sitemaps does not work with --frontier redis://... yet")
    return settings


def _check(key: str, value: Any, where: str) -> Any:
    """Validate and normalise one setting; UsageError names the key and its source."""

    def bad(why: str) -> UsageError:
        return UsageError(f"bad value for {key.replace('_', '-')} ({where}): {why}")

    kind = FIELDS[key].type
    if key in _TUPLE_FIELDS:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
            raise bad("expected a string or a list of strings")
        for item in items:
            _check_item(key, item, bad)
        if key in _EXTENSION_FIELDS:
            return extensions(items)
        if key == "extract" and items:
            _check_extractors(items, bad)
        return tuple(items)
    if key in _OPTIONAL_STR or kind == "str":
        if not isinstance(value, str) or not value:
            raise bad("expected a non-empty string")
        return _check_str(key, value, bad)
    if kind == "bool" or kind == "bool | None":
        if not isinstance(value, bool):
            raise bad("expected true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"expected an integer, got {value!r}")
        low, high = _INT_RANGES[key]
        if not low <= value <= high:
            raise bad(f"{value} is not in {low}..{high}" if high < 2**62 else f"must be >= {low}")
        return value
    if kind == "float":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise bad(f"expected a number, got {value!r}")
        positive = key in ("timeout", "plugin_timeout", "lease_ttl", "redis_timeout")
        if value < 0 or (positive and value == 0):
            raise bad("must be positive" if positive else "must be >= 0")
        return float(value)
    raise AssertionError(f"no check for {key}")


_BIG = 2**63
_INT_RANGES = {
    "procs": (1, 256),
    "threads": (1, 1024),
    "max_depth": (0, _BIG),
    "max_pages": (0, _BIG),
    "per_host": (1, _BIG),
    "retries": (0, 100),
    "max_bytes": (1, _BIG),
    "max_redirects": (0, _BIG),
    "max_pages_per_host": (0, _BIG),
    "max_url_length": (1, _BIG),
    "warc_max_size": (1, _BIG),
}


def _check_str(key: str, value: str, bad: Callable[[str], UsageError]) -> str:
    if key == "scope" and value not in SCOPES:
        raise bad(f"{value!r} is not one of {', '.join(SCOPES)}")
    if key == "log_level":
        if value.upper() not in LOG_LEVELS:
            raise bad(f"{value!r} is not one of {', '.join(LOG_LEVELS)}")
        return value.upper()
    if key == "user_agent" and any(c in value for c in "\r\n"):
        raise bad("must be one line")
    if key == "plugin":
        from crawler.plugin_rules import BadPluginSpec, parse_spec  # cheap: no bs4

        try:
            parse_spec(value)
        except BadPluginSpec as exc:
            raise bad(str(exc)) from None
    if key == "frontier":
        return _check_frontier(value, bad)
    if key == "crawl" and not _CRAWL_NAME.match(value):
        raise bad(f"{value!r}: use 1 to 64 letters, digits, '.', '_' or '-'")
    return value


def _check_frontier(value: str, bad: Callable[[str], UsageError]) -> str:
    if value == MEMORY_FRONTIER:
        return value
    shown = masked_url(value)
    parts = urlsplit(value)
    if parts.scheme not in REDIS_SCHEMES:
        raise bad(f"{shown!r} is not 'memory' nor a redis:// or rediss:// URL")
    try:
        port = parts.port
    except ValueError:
        raise bad(f"{shown!r}: bad port") from None
    del port
    if not parts.hostname:
        raise bad(f"{shown!r}: no host")
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise bad(f"{shown!r}: the database must be a number, like /0")
    return value


def extensions(items: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`["gz,tar.gz, .ZIP"]` -> ("gz", "tar.gz", "zip"): lower-case, no leading dot, each
    once, in order (--accept-ext / --reject-ext, case-insensitive like wget's -A/-R)."""
    found: dict[str, None] = {}
    for item in items:
        for part in item.split(","):
            extension = part.strip().lower().lstrip(".")
            if extension:
                found.setdefault(extension, None)
    return tuple(found)


def _check_extractors(items: list[str] | tuple[str, ...], bad: Callable[[str], UsageError]) -> None:
    # Imported only when there are extractors to check: soupsieve brings bs4 and lxml,
    # which a crawl without --extract leaves to the workers' forkserver
    # (tests/unit/test_startup.py).
    from crawler.extract import BadExtractor, parse_extractors

    try:  # names must also differ from one another: check them all together
        parse_extractors(items)
    except BadExtractor as exc:
        raise bad(str(exc)) from None


def _check_item(key: str, item: str, bad: Callable[[str], UsageError]) -> None:
    if key in ("allow", "deny"):
        try:
            re.compile(item)
        except re.error as exc:
            raise bad(f"invalid regular expression {item!r}: {exc}") from None
    elif key == "header":
        name, sep, value = item.partition(":")
        if not sep or not _HEADER_NAME.match(name.strip()) or any(c in item for c in "\r\n"):
            raise bad(f"expected 'Name: value', got {item!r}")
