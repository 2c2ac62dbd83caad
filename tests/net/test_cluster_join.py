"""cluster.join against a real redis-server: the first machine stores the crawl's
settings, a joiner is compared with them (identity, crawl settings, --header values)."""

from __future__ import annotations

import json

import pytest
import redis

from crawler import cluster
from crawler.errors import UsageError
from crawler.settings import load_settings

SEED = "http://127.0.0.1:8000/"


def doc(**given: object) -> dict[str, object]:
    settings = load_settings({"seed": [SEED], **given})
    return cluster.document(settings, [SEED], [])


def test_header_values_must_match_and_are_never_stored(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    first = doc(header=["Authorization: Bearer s3cret"])
    assert cluster.join(client, "h", first, redis_url) == cluster.STARTED
    stored = client.get(cluster.settings_key("h"))
    assert stored is not None and b"s3cret" not in stored
    assert json.loads(stored)["settings"]["header"] == ["Authorization"]
    same = doc(header=["Authorization: Bearer s3cret"])
    assert cluster.join(client, "h", same, redis_url) == cluster.JOINED
    other = doc(header=["Authorization: Bearer other"])
    with pytest.raises(UsageError, match="other --header values"):
        cluster.join(client, "h", other, redis_url)
    with pytest.raises(UsageError, match="other --header values"):
        cluster.join(client, "h", doc(), redis_url)
