"""Web search behind one small interface, shaped like llm.py: the client protocol, the real client (ddgs,
every search abandoned after its deadline), an on-disk cache with a TTL shared by the project's videos, a
rate limit between real requests, and the registry research.backend chooses from (`offline`: none).
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field

from .backends import Backend, Backends, Choice
from .config import ResearchConfig
from .deadline import Late, call_within
from .errors import AveError
from .models import Model, write_artifact
from .text import one_line

MESSAGE_CHARS = 200
MAX_TITLE_CHARS = 300  # a result's title and body are cut to these lengths: junk cannot flood the phrases
MAX_BODY_CHARS = 2000
# markup in a result: scripts and styles with their content, comments, and tags ("a < b" is no tag)
_HTML_JUNK = re.compile(
    r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|</?[a-z][^<>]{0,500}>", re.IGNORECASE | re.DOTALL
)


class SearchError(AveError):
    """A search request failed or timed out."""


@dataclass(frozen=True)
class SearchResult:
    """One web search result."""

    title: str
    body: str
    url: str


class SearchClient(Protocol):
    """A web search backend.

    A client may also set `offers_suggestions = False`, so that asking it for suggestions is skipped, and
    keep a list of `warnings` (one line each) that the research artifact records.
    """

    name: str

    def text(self, query: str, max_results: int) -> list[SearchResult]: ...

    def suggestions(self, query: str) -> list[str]: ...


def describe_error(exc: BaseException) -> str:
    """An exception as one line; our own errors already read well, others get their type."""
    if isinstance(exc, AveError):
        return one_line(str(exc), MESSAGE_CHARS)
    return one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, MESSAGE_CHARS)


# --- the ddgs backend -------------------------------------------------------------------------


def ddgs_available() -> bool:
    """Whether the ddgs package can be imported."""
    return importlib.util.find_spec("ddgs") is not None


def _ddgs_factory(timeout_s: float) -> Any:
    from ddgs import DDGS

    return DDGS(timeout=timeout_s)  # type: ignore[arg-type]  # typed int, passed on as seconds to primp


class DdgsClient:
    """Text search through ddgs' metasearch (DuckDuckGo, Brave, Mojeek, ...); ddgs 9.16 has no suggestions.

    `timeout_s` bounds each HTTP request. ddgs tries engines in batches, each waiting up to that timeout (4 s
    for a 1 s timeout against a silent server), so the search is abandoned after `deadline_s` (default twice
    the timeout) whatever ddgs does.
    """

    name = "ddgs"
    offers_suggestions = False

    def __init__(
        self,
        timeout_s: float = 10.0,
        region: str = "us-en",
        engines: str = "auto",
        deadline_s: float | None = None,
        factory: Callable[[float], Any] = _ddgs_factory,
    ) -> None:
        self.timeout_s = timeout_s
        self.region = region
        self.engines = engines
        self.deadline_s = deadline_s if deadline_s is not None else 2 * timeout_s
        self._factory = factory
        self.warnings: list[str] = []

    def text(self, query: str, max_results: int) -> list[SearchResult]:
        """Up to `max_results` results for `query`; SearchError when the search fails or times out.

        Rows that are no result (not a dict, no title or body) are dropped, and a warning says how many.
        """
        rows = self._within_deadline(query, lambda: self._search(query, max_results))
        results = [r for r in (result_from_row(row) for row in rows[:max_results]) if r is not None]
        dropped = min(len(rows), max_results) - len(results)
        if dropped:
            self.warnings.append(
                f"ddgs search for {query!r}: {dropped} of {min(len(rows), max_results)} results "
                "were unreadable and left out"
            )
        return results

    def suggestions(self, query: str) -> list[str]:
        """Always empty: ddgs 9.16 offers text, news, images, videos and books search, no suggestions."""
        return []

    def _search(self, query: str, max_results: int) -> Any:
        from ddgs.exceptions import DDGSException

        searcher = self._factory(self.timeout_s)
        try:  # the answer is checked by the caller: it should be a list of dicts
            return searcher.text(query, region=self.region, max_results=max_results, backend=self.engines)
        except DDGSException as exc:
            if str(exc) == "No results found.":  # every engine answered, none had a match: not a failure
                return []
            raise

    def _within_deadline(self, query: str, search: Callable[[], Any]) -> list[Any]:
        """Run `search` in a daemon thread so that a hung request cannot hold the stage past the deadline."""
        try:
            rows = call_within(search, self.deadline_s, "ave-ddgs")
        except Late:
            raise SearchError(
                f"ddgs search for {query!r}: no answer within {self.deadline_s:g} s "
                "— check the network or raise research.timeout_s"
            ) from None
        except Exception as exc:
            raise SearchError(
                f"ddgs search for {query!r} failed ({ddgs_detail(exc)}) "
                "— check the network, or set research.backend: offline"
            ) from exc
        if not isinstance(rows, list):
            raise SearchError(
                f"ddgs search for {query!r} answered {type(rows).__name__}, not a list of results"
            )
        return rows


def plain_text(value: Any, limit: int) -> str:
    """A result field as plain text: markup and scripts removed, entities decoded, one line, at most
    `limit` characters; anything but a string is no text."""
    if not isinstance(value, str):
        return ""
    text = html.unescape(_HTML_JUNK.sub(" ", value))
    return one_line(_HTML_JUNK.sub(" ", text), limit)  # again: entities can hide tags ("&lt;b&gt;")


def result_from_row(row: Any) -> SearchResult | None:
    """A ddgs row ({title, href, body}) as a SearchResult, or None when it holds neither title nor body."""
    if not isinstance(row, dict):
        return None
    title = plain_text(row.get("title"), MAX_TITLE_CHARS)
    body = plain_text(row.get("body"), MAX_BODY_CHARS)
    if not title and not body:
        return None
    url = row.get("href") or row.get("url")
    url = (
        url.strip()
        if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://"))
        else ""
    )
    return SearchResult(title=title, body=body, url=url)


def ddgs_detail(exc: BaseException) -> str:
    """The gist of a ddgs error, whose text nests each layer's message ("... > Connection refused")."""
    innermost = re.sub(r"['\"]\)+$", "", str(exc).rsplit(" > ", 1)[-1])  # the repr's closing "')"
    return one_line(f"{type(exc).__name__}: {innermost}" if innermost else type(exc).__name__, 100)


# --- cache and rate limit ---------------------------------------------------------------------


def cache_key(backend: str, kind: str, query: str, region: str, max_results: int) -> str:
    """The cache file name (without .json) of one search request."""
    raw = json.dumps([backend, kind, query, region, max_results], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class CachedSearchAnswer(Model):
    """One cached search answer (cache/research/HASH.json): results (text) or suggestions, and when."""

    backend: str
    kind: str
    query: str
    region: str
    max_results: int
    fetched_at: float = Field(description="seconds since the epoch")
    answer: list[Any]


class CachedSearch:
    """A SearchClient answering from an on-disk JSON cache while fresh, and spacing out real requests.

    `ttl_hours` is how long an answer is reused; `rate_limit_s` the minimum seconds between two real requests
    (cache hits do not count). `clock` (seconds since the epoch) and `sleep` are injectable for tests.
    """

    def __init__(
        self,
        client: SearchClient,
        cache_dir: str | Path,
        region: str = "us-en",
        ttl_hours: float = 24.0,
        rate_limit_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.name = client.name
        self.cache_dir = Path(cache_dir)
        self.region = region
        self.ttl_s = ttl_hours * 3600.0
        self.rate_limit_s = rate_limit_s
        self._clock = clock
        self._sleep = sleep
        self._last_request: float | None = None
        self.hits = 0
        self.requests = 0
        self.warnings: list[str] = []

    def text(self, query: str, max_results: int) -> list[SearchResult]:
        """Results for `query`, from the cache when fresh."""
        answer = self._answer("text", query, max_results, lambda: self.client.text(query, max_results))
        return [_result_from(item) for item in answer if isinstance(item, dict)]

    def suggestions(self, query: str) -> list[str]:
        """Query suggestions for `query`, from the cache when fresh."""
        if not getattr(self.client, "offers_suggestions", True):
            return []  # no request, so nothing to cache or to wait for
        return [str(s) for s in self._answer("suggestions", query, 0, lambda: self.client.suggestions(query))]

    def _answer(self, kind: str, query: str, max_results: int, fetch: Callable[[], list[Any]]) -> list[Any]:
        path = self.cache_dir / f"{cache_key(self.name, kind, query, self.region, max_results)}.json"
        cached = self._read(path)
        if cached is not None:
            self.hits += 1
            return cached
        fetched = [asdict(item) if isinstance(item, SearchResult) else item for item in self._request(fetch)]
        self._write(path, kind, query, max_results, fetched)
        return fetched

    def _request(self, fetch: Callable[[], list[Any]]) -> list[Any]:
        if self._last_request is not None:
            # clamped: a wall clock set back must not make us sleep for hours
            wait = min(self.rate_limit_s, self._last_request + self.rate_limit_s - self._clock())
            if wait > 0:
                self._sleep(wait)
        self.requests += 1
        try:
            return fetch()
        finally:
            self._last_request = self._clock()  # failures count too: the server saw them

    def _read(self, path: Path) -> list[Any] | None:
        try:
            entry = CachedSearchAnswer.model_validate_json(path.read_bytes())
        except (OSError, ValueError):  # missing or damaged (pydantic's ValidationError is a ValueError)
            return None  # fetch again and overwrite
        if self._clock() - entry.fetched_at > self.ttl_s:
            return None
        return entry.answer

    def _write(self, path: Path, kind: str, query: str, max_results: int, answer: list[Any]) -> None:
        entry = CachedSearchAnswer(
            backend=self.name,
            kind=kind,
            query=query,
            region=self.region,
            max_results=max_results,
            fetched_at=self._clock(),
            answer=answer,
        )
        try:
            # shared: the videos' research jobs share this cache, and may store the same query at once
            write_artifact(path, entry, shared=True)
        except OSError as exc:  # the answer is still good; only the next run pays for it again
            self.warnings.append(
                one_line(f"search cache {self.cache_dir} is not writable: {exc}", MESSAGE_CHARS)
            )


def _result_from(item: dict[str, Any]) -> SearchResult:
    return SearchResult(
        title=str(item.get("title") or ""), body=str(item.get("body") or ""), url=str(item.get("url") or "")
    )


# --- the registry -----------------------------------------------------------------------------


def _ddgs(config: ResearchConfig) -> SearchClient:
    return DdgsClient(timeout_s=config.timeout_s, region=config.region)


SEARCH_BACKENDS: Backends[ResearchConfig, SearchClient] = Backends(
    "research.backend",
    [
        Backend(
            "ddgs",
            needs="ddgs package installed (pip install ddgs)",
            make=_ddgs,
            packages=("ddgs",),
            available=lambda config: ddgs_available(),
        )
    ],
    offline="offline",
)


def make_search_client(config: ResearchConfig) -> Choice[SearchClient]:
    """The search client research.backend asks for, or none with the reason (offline, ddgs missing)."""
    return SEARCH_BACKENDS.choose(config.backend, config)
