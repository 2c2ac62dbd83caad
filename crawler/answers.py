"""What each answer leads to: a retry, robots.txt's policy, the next redirect hop, or a
finished page record with its links queued.

Part of the coordinator's shell: the decisions are the core's (backoff, redirects,
follow, robots), this acts on them against the frontier, the recorder and the
breadth-first order.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from crawler.backoff import is_retryable, retry_delay_s
from crawler.cluster import SharedFrontier
from crawler.depth_order import BreadthFirst
from crawler.errors import ErrorKind
from crawler.follow import plan_links
from crawler.frontier import Frontier, Task, fingerprint
from crawler.messages import Result
from crawler.plugin_rules import with_follow
from crawler.recorder import Recorder
from crawler.records import ErrorInfo, build_record, error_info, not_attempted
from crawler.redirects import Follow, is_redirect, next_hop
from crawler.robots import RobotsBook, robots_next_hop, robots_url
from crawler.scope import Scope
from crawler.settings import Settings
from crawler.urls import host_key

if TYPE_CHECKING:
    from crawler.sitemap_flow import SitemapReader

log = logging.getLogger(__name__)


class Answers:
    def __init__(
        self,
        settings: Settings,
        scope: Scope,
        frontier: Frontier,
        recorder: Recorder,
        robots: RobotsBook,
        order: BreadthFirst[tuple[Task, Result]],
        rng: random.Random,
        *,
        shared: SharedFrontier | None = None,
    ) -> None:
        self.settings = settings
        self.shared = shared  # one crawl on many machines: robots.txt answers go to Redis
        self.scope = scope
        self.frontier = frontier
        self.recorder = recorder
        self.robots = robots
        self.order = order
        self._rng = rng
        self.interrupted = False  # set by the coordinator: no retry is queued then
        self._beyond_depth: set[int] = set()  # fingerprints counted in stats.beyond_depth
        # --sitemaps: told of each robots.txt answer; says which records are in a sitemap.
        self.sitemaps: SitemapReader | None = None

    def on_page(self, task: Task, result: Result) -> None:
        """A page's answer, in breadth-first order: retried, followed, or its record."""
        if self.retry(task, result):
            return
        if result.error_kind == ErrorKind.BLOCKED_ADDRESS and task.last_attempt is not None:
            # A hop into a refused address ends the chain; the record keeps its 3xx.
            error = error_info(result.error_kind, result.error_message)
            self.emit(task, task.last_attempt, error=error)
            return
        if result.error_kind is None and is_redirect(result.status, result.location):
            self._on_redirect(task, result)
        else:
            self.emit(task, result)

    def retry(self, task: Task, result: Result) -> bool:
        """Queue the task again if its attempt is to be retried; True if it was."""
        if task.hop_retries >= self.settings.retries:
            return False
        if not is_retryable(result.status, result.error_kind):
            return False
        if self.interrupted:
            # Interrupted: no record; --state keeps the URL pending, a shared frontier
            # gets it back for the next run or another machine.
            if self.shared is not None:
                self.frontier.push([task], front=True)
            return True
        task.retries += 1
        task.hop_retries += 1
        delay_s = retry_delay_s(task.hop_retries, result.retry_after, time.time(), self._rng)
        log.debug("retry %d of %s in %.2fs", task.hop_retries, task.url, delay_s)
        self.frontier.push([task], front=True, delay_s=delay_s)
        return True

    def on_robots(self, task: Task, result: Result) -> None:
        """A robots.txt answer: follow its redirect, or learn the policy and release the host."""
        host = task.robots_for or task.host
        if is_redirect(result.status, result.location):
            target = robots_next_hop(task.url, result.location, len(task.redirects))
            if target is not None:
                hop = Task(
                    url=target,
                    depth=0,
                    robots=True,
                    robots_for=host,
                    redirects=[*task.redirects, task.url],
                )
                self.frontier.push([hop], front=True)
                return
        blocked = None
        if result.error_kind == ErrorKind.BLOCKED_ADDRESS and task.host == host:
            blocked = result.error_message or "blocked address"
        policy = self.robots.learn(
            host, result.status, result.error_kind, result.body, blocked, result.error_message
        )
        refusal = self.robots.refusal(host)
        if refusal is not None:
            kind, message = refusal
            log.warning("%s; its URLs are not fetched (%s records)", message, kind)
        log.debug("robots.txt for %s: status %s, error %s", host, result.status, result.error_kind)
        if self.shared is not None:
            # Before the release: whichever machine takes the host's pages finds it.
            answer = {
                "status": result.status,
                "error_kind": result.error_kind,
                "body": result.body,
                "blocked": blocked,
                "error_message": result.error_message,
            }
            self.shared.store_robots(host, answer)
        self.frontier.release(host, policy.delay_s())
        if self.sitemaps is not None:
            self.sitemaps.on_robots(host, result.body)

    def _on_redirect(self, task: Task, result: Result) -> None:
        """Follow one redirect hop, or end the record's chain where the decision says."""
        assert result.location is not None  # is_redirect() said so
        hop = next_hop(
            task.url, result.location, task.redirects, self.settings.max_redirects, self.scope
        )
        if not isinstance(hop, Follow):
            self.emit(task, result, redirects=hop.chain, final_url=hop.final_url, error=hop.error)
            return
        follow = Task(
            url=hop.target,
            depth=task.depth,
            referrer=task.referrer,
            origin=task.record_url,
            redirects=hop.chain,
            retries=task.retries,
            last_attempt=result,
            counted=True,
        )
        if self.shared is not None:
            # Held before it is queued: no other machine may take it before robots.txt.
            self.ask_robots([hop.target])
        if not self.frontier.add([follow], front=True)[0]:
            # Seen elsewhere: its content is (or will be) in the record that fetched it.
            self.emit(task, result, redirects=hop.chain, final_url=hop.target)
            return
        if self.shared is None:
            self.ask_robots([hop.target])

    def refuse(self, task: Task, kind: ErrorKind, message: str) -> None:
        """A record that no worker attempted: the decision was made here (a redirect hop
        keeps the 3xx answer that led to it)."""
        attempt = task.last_attempt or not_attempted(time.time())
        self.emit(task, attempt, error=error_info(kind, message))

    def emit(
        self,
        task: Task,
        result: Result,
        *,
        redirects: list[str] | None = None,
        final_url: str | None = None,
        error: ErrorInfo | None = None,
    ) -> None:
        """Finish a page record: hand it to the recorder, queue its links."""
        record = build_record(
            url=task.record_url,
            final_url=final_url or task.url,
            redirects=task.redirects if redirects is None else redirects,
            depth=task.depth,
            referrer=task.referrer,
            attempt=result,
            retries=task.retries,
            error=error,
        )
        if self.sitemaps is not None:
            record["in_sitemap"] = self.sitemaps.lists(record["url"])
        self.order.close(task.depth)
        # The URLs this record used up; a chain that ended at a URL seen elsewhere
        # leaves that one to its own record.
        used = [record["url"], *record["redirects"]]
        if record["final_url"] == task.url:
            used.append(task.url)
        self.recorder.add(record, used, result.dropped_links, host=task.host)
        links, nofollow = record["links"], result.nofollow
        if result.follow:  # a plugin's links to follow: not in the record's links
            links, nofollow = with_follow(links, nofollow, result.follow)
        if links:
            self.follow(links, nofollow, task.depth + 1, task.record_url)

    def follow(
        self,
        links: Sequence[str],
        nofollow: Sequence[str],
        depth: int,
        referrer: str,
        *,
        duplicates: bool = True,
    ) -> None:
        """Queue the links (of a page, or a sitemap's URLs at depth 0) that are to be
        followed and not seen yet; with `duplicates`, those seen already are counted in
        stats.duplicates (a page's links are; a sitemap's URLs, read again by every
        resumed run, are not: stats.duplicates counts links)."""
        settings = self.settings
        plan = plan_links(
            links,
            nofollow,
            depth,
            settings.max_depth,
            self.scope,
            settings.accept_ext,
            settings.reject_ext,
        )
        stats = self.recorder.stats
        self._give_up(plan.out_of_scope, "out_of_scope")
        self._give_up(plan.rejected, "rejected")
        if plan.beyond_depth:
            # Not marked seen: a resumed crawl with a higher --max-depth must find them.
            # Those not seen (crawled or queued) already count, once each.
            beyond = self._beyond_depth
            # Those counted already need no look-up (on a shared frontier, a round trip).
            ask = [url for url in plan.beyond_depth if fingerprint(url) not in beyond]

            def count(known: list[bool]) -> None:
                for url, is_seen in zip(ask, known, strict=True):
                    key = fingerprint(url)
                    if not is_seen and key not in beyond:
                        beyond.add(key)
                        stats.beyond_depth += 1

            def count_new(new: list[bool]) -> None:
                # Shared: Redis says which no machine counted yet (distinct cluster-wide).
                for url, is_new in zip(ask, new, strict=True):
                    beyond.add(fingerprint(url))
                    stats.beyond_depth += is_new

            if ask and self.shared is not None:
                self.shared.beyond_later(ask, count_new)  # with the next call to Redis
            elif ask:
                count(self.frontier.seen(ask))
        if plan.follow:
            self.queue(
                [Task(url=link, depth=depth, referrer=referrer) for link in plan.follow],
                links=duplicates,
            )

    def _give_up(self, urls: Sequence[str], counter: str) -> None:
        """Mark links never to be followed as seen; those new are counted (once each) in
        the stats `counter` (with a shared frontier, when the next call to Redis answers)."""
        if not urls:
            return

        def marked(new_flags: list[bool]) -> None:
            new = [url for url, is_new in zip(urls, new_flags, strict=True) if is_new]
            self.recorder.given_up(new)
            stats = self.recorder.stats
            setattr(stats, counter, getattr(stats, counter) + len(new))

        if self.shared is not None:
            self.shared.mark_seen_later(urls, marked)
        else:
            marked(self.frontier.mark_seen(urls))

    def queue(self, tasks: Sequence[Task], *, links: bool = False) -> None:
        """Queue new page records (unless seen already); `links`: a page's links, those
        seen already counted in stats.duplicates."""

        def queued(added: list[bool]) -> None:
            new = [task for task, is_new in zip(tasks, added, strict=True) if is_new]
            for task in new:
                self.recorder.queued(task.url, task.depth, task.referrer)
                self.order.open(task.depth)
            if links:
                self.recorder.stats.duplicates += len(tasks) - len(new)
            if self.shared is None:
                self.ask_robots([task.url for task in new])

        if self.shared is None:
            queued(self.frontier.add(tasks))
            return
        # Hosts held for robots.txt before their pages are queued (another machine could
        # take them in between), both with the next call to Redis: one round trip for
        # every page answered in between.
        self.ask_robots([task.url for task in tasks])
        self.shared.add_later(tasks, queued)

    def ask_robots(self, urls: Sequence[str]) -> None:
        """Fetch robots.txt of each new host first; its other tasks wait meanwhile."""
        for url in urls:
            host = host_key(url)
            if self.robots.needs_fetch(host):
                task = Task(url=robots_url(url), depth=0, robots=True, robots_for=host)
                if self.shared is not None:
                    self.shared.ask_robots_later(task)  # in order, before the pages
                else:
                    self.frontier.ask_robots(task)
