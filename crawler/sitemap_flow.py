"""--sitemaps: the seed hosts' sitemaps, read before any page of a seed host starts.

Part of the coordinator's shell. The rules are crawler/sitemaps.py's (which sitemaps,
which index entries, what a file lists: the workers parse the files); this moves the
work between the frontier, robots.txt's answers and the crawl's queue.

The flow. Every seed host is held (as while its robots.txt is pending) from the start.
Its robots.txt answer names its sitemaps (`Sitemap:` lines, on any host), else
/sitemap.xml is tried; with --ignore-robots robots.txt is fetched for those lines only.
Each sitemap is fetched as a robots.txt is (a "robots" task for the frontier: it goes
first, also on a held host, obeys politeness, is no page record) once its own host's
robots.txt allows it; an index's entries are read the same way, up to 3 levels. The
URLs of each file enter the crawl at depth 0 as links of the sitemap would. Once every
seed host's files are read, the seed hosts are released together, so every page record
is written after every sitemap is read and `in_sitemap` is exact for all of them (the
price: a slow sitemap of one seed host holds the other seed hosts back too, at most
--timeout per attempt and level).

A resumed crawl (--state) reads the sitemaps again, as it asks robots.txt again: URLs
the checkpoint has seen are not queued again, and "sitemaps" describes that reading.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from crawler.answers import Answers
from crawler.frontier import Frontier, Task, fingerprint
from crawler.messages import Result
from crawler.redirects import is_redirect
from crawler.robots import RobotsBook, robots_next_hop, robots_url
from crawler.settings import Settings
from crawler.sitemaps import (
    INDEX,
    MAX_SITEMAP_FILES,
    MAX_SITEMAP_LEVELS,
    OTHER_HOST,
    ROBOTS_EXCLUDED,
    TOO_DEEP,
    TOO_MANY_SITEMAPS,
    Entry,
    child_error,
    default_sitemap,
    redirect_target,
    robots_sitemaps,
)
from crawler.urls import host_key

log = logging.getLogger(__name__)


class SitemapReader:
    """The sitemaps of the seed hosts: what is still to read, and what was read."""

    def __init__(
        self,
        settings: Settings,
        seeds: Sequence[str],
        frontier: Frontier,
        robots: RobotsBook,
        answers: Answers,
    ) -> None:
        self._settings = settings
        self._frontier = frontier
        self._robots = robots
        self._answers = answers
        self._seeds: dict[str, str] = {}  # seed host -> its first seed
        for seed in seeds:
            self._seeds.setdefault(host_key(seed), seed)
        self._awaiting_robots = set(self._seeds)  # seed hosts whose sitemaps are unknown
        self._outstanding = 0  # sitemap fetches queued or in flight
        self._waiting: dict[str, list[Task]] = {}  # fetches waiting for their robots.txt
        self._requested: set[str] = set()  # sitemap URLs asked for: each is read once
        self._files: Counter[str] = Counter()  # entries per seed host
        self.entries: list[Entry] = []
        self._urls: set[int] = set()  # fingerprints of every URL a sitemap listed
        self.done = False

    # -- what the crawl asks -------------------------------------------------------
    def lists(self, url: str) -> bool:
        """Does some sitemap read so far list this canonical URL?"""
        return fingerprint(url) in self._urls

    def to_json(self) -> dict[str, Any]:
        """out.json's "sitemaps"."""
        return {"files": [entry.to_json() for entry in self.entries], "urls": len(self._urls)}

    # -- the flow ------------------------------------------------------------------
    def start(self) -> None:
        """Hold every seed host and ask for the robots.txt that names its sitemaps."""
        for host, seed in self._seeds.items():
            self._frontier.hold(host)
            if self._settings.ignore_robots:
                task = Task(
                    url=robots_url(seed), depth=0, robots=True, robots_for=host, sitemap_for=host
                )
                self._frontier.push([task])
        if not self._settings.ignore_robots:
            # Hosts asked already (a resumed crawl's pending URLs) answer all the same.
            self._answers.ask_robots(list(self._seeds.values()))
        self._check_done()

    def on_robots(self, host: str, body: bytes) -> None:
        """A host's robots.txt answered (its policy is known now); `body` if it was 2xx."""
        if host in self._awaiting_robots:
            self._awaiting_robots.discard(host)
            if not self.done:
                self._frontier.hold(host)  # released once the sitemaps are read
            listed = robots_sitemaps(body) or [default_sitemap(self._seeds[host])]
            not_read = sum(not self._request(url, host, 1) for url in listed)
            if not_read:
                log.warning(
                    "robots.txt of %s lists %d more sitemaps than the %d read per seed host",
                    host,
                    not_read,
                    MAX_SITEMAP_FILES,
                )
        for task in self._waiting.pop(host, []):
            self._admit(task)
        self._check_done()

    def on_answer(self, task: Task, result: Result) -> None:
        """A sitemap fetch's last answer (retries are over), or the robots.txt one
        read for its Sitemap: lines only."""
        assert task.sitemap_for is not None
        if task.sitemap_level == 0:
            self._on_robots_only(task, result)
            return
        self._outstanding -= 1
        url = task.redirects[0] if task.redirects else task.url
        if result.error_kind is None and is_redirect(result.status, result.location):
            if self._redirect(task, result):
                return
        elif result.sitemap is not None:  # 2xx, also cut at --max-bytes (too_large)
            self._read(task, url, result)
        elif result.error_kind is not None:
            self._entry(url, result.status, 0, result.error_kind, result.error_message)
        else:  # not 2xx: nothing to read, as for a page
            self._entry(url, result.status, 0)
        self._check_done()

    # -- steps -------------------------------------------------------------------------
    def _on_robots_only(self, task: Task, result: Result) -> None:
        """--ignore-robots: a robots.txt fetched for its Sitemap: lines; nothing else of
        it counts (an unusable one is no error: /sitemap.xml is tried)."""
        host = task.sitemap_for
        assert host is not None
        if result.error_kind is None and is_redirect(result.status, result.location):
            target = robots_next_hop(task.url, result.location, len(task.redirects))
            if target is not None:
                hop = Task(
                    url=target,
                    depth=0,
                    robots=True,
                    robots_for=host,
                    redirects=[*task.redirects, task.url],
                    sitemap_for=host,
                )
                self._frontier.push([hop], front=True)
                return
        self.on_robots(host, result.body)

    def _request(self, url: str, seed_host: str, level: int) -> bool:
        """Ask for one sitemap file, unless it was asked for already (an index listing
        itself is no loop); False if the seed host's files are used up."""
        if url in self._requested:
            return True
        if self._files[seed_host] >= MAX_SITEMAP_FILES:
            return False
        self._requested.add(url)
        self._files[seed_host] += 1
        self._admit(Task(url=url, depth=0, robots=True, sitemap_for=seed_host, sitemap_level=level))
        return True

    def _admit(self, task: Task) -> None:
        """Queue a sitemap fetch if its host's robots.txt allows it; it waits for that
        robots.txt when it is unknown. (A file's entry counts once it is decided.)"""
        host = task.host
        if not self._robots.knows(host):
            self._waiting.setdefault(host, []).append(task)
            self._answers.ask_robots([task.url])  # unless asked already
            return
        refusal = self._robots.refusal(host)
        if refusal is not None:
            self._entry(task.url, None, 0, *refusal)
        elif not self._robots.allowed(host, task.url):
            message = "robots.txt disallows it: not fetched"
            self._entry(task.url, None, 0, ROBOTS_EXCLUDED, message)
        else:
            self._outstanding += 1
            self._frontier.push([task])

    def _redirect(self, task: Task, result: Result) -> bool:
        """Follow a sitemap's redirect on its host; False: it ended (entry written)."""
        chain = task.redirects
        target = redirect_target(task.url, result.location, chain, self._settings.max_redirects)
        url = chain[0] if chain else task.url
        if isinstance(target, tuple):
            self._entry(url, result.status, 0, *target)
            return False
        if not self._robots.allowed(task.host, target):
            self._entry(url, result.status, 0, ROBOTS_EXCLUDED, f"robots.txt disallows {target}")
            return False
        hop = Task(
            url=target,
            depth=0,
            robots=True,
            redirects=[*chain, task.url],
            retries=task.retries,
            sitemap_for=task.sitemap_for,
            sitemap_level=task.sitemap_level,
        )
        self._outstanding += 1
        self._frontier.push([hop], front=True)
        return True

    def _read(self, task: Task, url: str, result: Result) -> None:
        """A sitemap that answered 2xx: its entry, then its URLs or its sitemaps."""
        content = result.sitemap
        assert content is not None and task.sitemap_for is not None
        error: tuple[str, str] | None = None
        if content.error_kind is not None:
            error = (content.error_kind, content.error_message or "")
        elif result.error_kind is not None:  # too_large: the first part was read
            error = (result.error_kind, result.error_message or "")
        if content.kind != INDEX:
            self._entry(url, result.status, content.listed, *(error or (None, None)))
            self._urls.update(fingerprint(link) for link in content.urls)
            self._answers.recorder.stats.dropped_links += content.dropped
            self._answers.follow(content.urls, (), 0, url, duplicates=False)
            return
        level = task.sitemap_level + 1
        if level > MAX_SITEMAP_LEVELS and content.urls and error is None:
            message = f"lists {len(content.urls)} sitemaps past level {MAX_SITEMAP_LEVELS}"
            error = (TOO_DEEP, message)
        self._entry(url, result.status, content.listed, *(error or (None, None)))
        if level > MAX_SITEMAP_LEVELS:
            return
        not_read = 0
        for child in content.urls:
            problem = child_error(task.url, child, level)
            if problem is not None and problem[0] == OTHER_HOST:
                if child in self._requested:
                    continue
                self._requested.add(child)
                if self._files[task.sitemap_for] < MAX_SITEMAP_FILES:
                    self._files[task.sitemap_for] += 1
                    self._entry(child, None, 0, *problem)
                else:
                    not_read += 1
            elif not self._request(child, task.sitemap_for, level):
                not_read += 1
        if not_read:
            log.warning(
                "%s: %d sitemaps not read: at most %d files per seed host",
                url,
                not_read,
                MAX_SITEMAP_FILES,
            )
            message = f"{not_read} of its sitemaps not read: at most {MAX_SITEMAP_FILES} per host"
            self._mark_last_index(url, TOO_MANY_SITEMAPS, message)

    def _mark_last_index(self, url: str, kind: str, message: str) -> None:
        """Give the index's own entry the error, unless it has one."""
        for i in range(len(self.entries) - 1, -1, -1):
            entry = self.entries[i]
            if entry.url == url:
                if entry.error_kind is None:
                    self.entries[i] = entry._replace(error_kind=kind, error_message=message)
                return

    def _entry(
        self,
        url: str,
        status: int | None,
        urls: int,
        error_kind: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """One file's entry; the seed host's count of files was taken when it was listed."""
        self.entries.append(Entry(url, status, urls, error_kind, error_message))
        if error_kind is not None:
            log.info("sitemap %s: %s: %s", url, error_kind, error_message)

    def _check_done(self) -> None:
        """Release the seed hosts once every sitemap is read."""
        if self.done or self._awaiting_robots or self._outstanding or self._waiting:
            return
        self.done = True
        for host in self._seeds:
            self._frontier.release(host, None)
        log.info("sitemaps: %d files read, %d URLs", len(self.entries), len(self._urls))
