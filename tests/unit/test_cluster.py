"""crawler.cluster and the shared-frontier settings: names, identity, what may differ."""

from __future__ import annotations

import pytest

from crawler import cluster
from crawler.errors import UsageError
from crawler.settings import FRONTIER_ENV, Settings, load_settings, masked_url

SEED = {"seed": ["http://a.test/"]}


def test_the_derived_name_is_12_hex_of_the_identity_in_any_order() -> None:
    one = Settings(allow=("x", "y"), deny=("z",))
    other = Settings(allow=("y", "x"), deny=("z",))
    seeds = ["http://b.test/", "http://a.test/"]
    name = cluster.crawl_name(cluster.identity(one, seeds))
    assert len(name) == 12 and int(name, 16) >= 0
    assert name == cluster.crawl_name(cluster.identity(other, list(reversed(seeds))))
    assert name != cluster.crawl_name(cluster.identity(Settings(scope="any"), seeds))


def test_only_crawl_settings_are_compared() -> None:
    stored = Settings(procs=1, threads=2, out="a.json", delay=0.5).to_json()
    mine = Settings(procs=8, threads=16, out="b.json", delay=0.5, redis_timeout=5).to_json()
    assert cluster.differences(stored, mine) == []
    mine = Settings(delay=1.0, max_pages=3).to_json()
    assert cluster.differences(stored, mine) == ["delay", "max_pages"]
    assert cluster.describe("delay", stored, mine) == "--delay 1.0 (the crawl has 0.5)"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://user:s3cret@h/1", "rediss://user:***@h/1"),
        ("redis://user@h", "redis://user@h"),
        ("redis://h/0?password=s3cret&db=1", "redis://h/0?password=***&db=1"),
    ],
)
def test_a_password_is_never_shown(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def test_settings_show_the_frontier_masked() -> None:
    settings = load_settings({**SEED, "frontier": "redis://:pw@h:6379/0"})
    assert settings.to_json()["frontier"] == "redis://:***@h:6379/0"
    assert settings.shared and not Settings().shared


def test_the_frontier_from_the_environment_under_the_command_line() -> None:
    env = {FRONTIER_ENV: "redis://h/2"}
    assert load_settings(dict(SEED), environ=env).frontier == "redis://h/2"
    given = {**SEED, "frontier": "memory"}
    assert load_settings(given, environ=env).frontier == "memory"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"frontier": "http://h/"}, "not 'memory' nor a redis://"),
        ({"frontier": "redis://:secret@/0"}, "no host"),
        ({"frontier": "redis://h/x"}, "database must be a number"),
        ({"frontier": "redis://h:99999/0"}, "bad port"),
        ({"crawl": "a b"}, "letters, digits"),
        ({"lease_ttl": 0}, "must be positive"),
        ({"redis_timeout": -1}, "must be positive"),
        ({"frontier": "redis://h/0", "state": "dir"}, "exclusive"),
        ({"frontier": "redis://h/0", "sitemaps": True}, "--sitemaps does not work"),
    ],
)
def test_bad_shared_settings_are_usage_errors(given: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        load_settings({**SEED, **given})
    assert "secret" not in str(caught.value)
