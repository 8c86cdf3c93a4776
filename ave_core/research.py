"""The research stage: keyword research for each video over a search cache the project shares.

The video's strongest concepts are searched (through a search client of search.py: ddgs, cached on disk
with a TTL, rate limited); competitor titles, phrases that recur across results and scored keywords come out.
Offline, or when search fails, the transcripts' own concepts are the keywords and the fallback is recorded.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .backends import Choice
from .config import ResearchConfig
from .models import Analysis, Fallback, Keyword, Research, Transcript, make_producer
from .search import (
    MESSAGE_CHARS,
    SEARCH_BACKENDS,
    CachedSearch,
    SearchClient,
    SearchError,
    SearchResult,
    describe_error,
)
from .text import fold_plural, is_content_word, one_line, token

logger = logging.getLogger("ave.research")

TRANSCRIPT = "transcript"
MAX_SEARCH_KEYWORDS = 40  # search keywords kept beside the transcript's own (which are all kept)
THEME_SCORE = 0.5  # themes are picked by frequency and carry no score of their own
MIN_RESULTS = 2  # a phrase must appear in this many different results to count as recurring
MAX_GAP_WORDS = 1  # stop words allowed between two content words of a phrase ("save energy at home")
WEIGHT_FREQUENCY = 0.5
WEIGHT_SUGGESTED = 0.2
WEIGHT_RELEVANCE = 0.3
MAX_CONSECUTIVE_FAILURES = (
    2  # then the search service is taken as unreachable and the other seeds are skipped
)

# a title's trailing " - YouTube" / " | Energy.gov": the separator, then a short name
_SITE_SUFFIX = re.compile(r"\s+([-|\u2013\u2014\u00b7])\s+([^-|\u2013\u2014\u00b7]{1,40})$")
_KNOWN_SITES = frozenset(
    "youtube wikipedia reddit quora medium facebook instagram tiktok pinterest linkedin twitter".split()
)
_DOMAIN_LIKE = re.compile(r"\.[a-z]{2,6}$", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[.,!?;:|()\[\]\"\u2013\u2014\u00b7…]+|\s-\s")


# --- text helpers -----------------------------------------------------------------------------


def phrase_key(phrase: str) -> tuple[str, ...]:
    """A phrase as compared: its folded, lowercase tokens."""
    return tuple(fold_plural(t) for t in (token(p) for p in phrase.split()) if t)


def _content_stems(key: Iterable[str]) -> set[str]:
    return {w for w in key if is_content_word(w)}


def _contains(long: tuple[str, ...], short: tuple[str, ...]) -> bool:
    return any(long[i : i + len(short)] == short for i in range(len(long) - len(short) + 1))


def _overlaps(key: tuple[str, ...], kept: Iterable[tuple[str, ...]]) -> bool:
    return any(_contains(key, k) or _contains(k, key) for k in kept)


# --- competitor titles ------------------------------------------------------------------------


def _looks_like_site(name: str, url: str) -> bool:
    squashed = re.sub(r"[^a-z0-9]", "", name.lower())
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    core = host.split(".")[0] if host else ""
    return (
        squashed in _KNOWN_SITES
        or bool(_DOMAIN_LIKE.search(name.strip()))
        or bool(core and len(core) >= 3 and (core in squashed or squashed in host.replace(".", "")))
    )


def clean_title(title: str, url: str = "") -> str:
    """A result title without its site suffix (" - YouTube", " | Energy.gov")."""
    cleaned = " ".join(title.split())
    while match := _SITE_SUFFIX.search(cleaned):
        separator, name = match.groups()
        # "|" almost always precedes a brand; " - 10 Tips" must match the site to be cut
        if separator != "|" and not _looks_like_site(name, url):
            break
        cleaned = cleaned[: match.start()].rstrip()
    return cleaned


def competitor_titles(results: Iterable[SearchResult]) -> list[str]:
    """Cleaned result titles, in result order, each once."""
    seen: set[str] = set()
    titles: list[str] = []
    for result in results:
        title = clean_title(result.title, result.url)
        if title and title.lower() not in seen:
            seen.add(title.lower())
            titles.append(title)
    return titles


# --- recurring phrases ------------------------------------------------------------------------


def candidate_phrases(text: str) -> Iterable[tuple[tuple[str, ...], str]]:
    """(key, surface) of each run of 2-4 content words, with at most one stop word between two of them."""
    for clause in _CLAUSE_BREAK.split(text):
        # "energy-saving" reads as "energy saving", as it is also written
        words = [t for t in (token(w) for w in clause.replace("-", " ").split()) if t]
        for start, first in enumerate(words):
            if not is_content_word(first):
                continue
            yield from _phrases_from(words, start)


def _phrases_from(words: Sequence[str], start: int) -> Iterable[tuple[tuple[str, ...], str]]:
    content, gap = 1, 0
    for end in range(start + 1, len(words)):
        if not is_content_word(words[end]):
            gap += 1
            if gap > MAX_GAP_WORDS:
                return
            continue
        content, gap = content + 1, 0
        if content > 4:
            return
        span = words[start : end + 1]
        yield tuple(fold_plural(w) for w in span), " ".join(span)


@dataclass
class _Phrase:
    """A phrase seen in search results: in which results, and how it was written."""

    results: set[int] = field(default_factory=set)
    surfaces: Counter[str] = field(default_factory=Counter)

    @property
    def surface(self) -> str:
        return min(self.surfaces.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def phrase_index(results: Sequence[SearchResult]) -> dict[tuple[str, ...], _Phrase]:
    """Every candidate phrase of the results' titles and bodies, with the results it appears in."""
    index: defaultdict[tuple[str, ...], _Phrase] = defaultdict(_Phrase)
    for number, result in enumerate(results):
        for key, surface in candidate_phrases(f"{clean_title(result.title, result.url)}. {result.body}"):
            index[key].results.add(number)
            index[key].surfaces[surface] += 1
    return dict(index)


def recurring_phrases(index: dict[tuple[str, ...], _Phrase]) -> dict[tuple[str, ...], _Phrase]:
    """Phrases in at least MIN_RESULTS results, less shorter ones that only ever occur inside a longer one."""
    recurring = {k: p for k, p in index.items() if len(p.results) >= MIN_RESULTS}
    return {
        key: phrase
        for key, phrase in recurring.items()
        if not any(
            len(other) > len(key) and _contains(other, key) and other_phrase.results == phrase.results
            for other, other_phrase in recurring.items()
        )
    }


# --- transcript keywords and seeds ------------------------------------------------------------


@dataclass
class _Term:
    """A concept or theme gathered across videos."""

    phrase: str
    best: float
    videos: set[int] = field(default_factory=set)


def transcript_terms(analyses: Sequence[Analysis]) -> dict[tuple[str, ...], _Term]:
    """Concepts (with their scores) and themes (THEME_SCORE) of every video, by key."""
    terms: dict[tuple[str, ...], _Term] = {}
    for number, analysis in enumerate(analyses):
        scored = [(c.term, c.score) for c in analysis.concepts]
        scored += [(theme, THEME_SCORE) for theme in analysis.themes]
        for phrase, score in scored:
            key = phrase_key(phrase)
            if not _content_stems(key):
                continue
            term = terms.setdefault(key, _Term(phrase=phrase, best=score))
            if score > term.best:
                term.phrase, term.best = phrase, score
            term.videos.add(number)
    return terms


def transcript_score(term: _Term, video_count: int) -> float:
    """A concept's best score, halved when only one of many videos has it."""
    share = len(term.videos) / max(video_count, 1)
    return round(term.best * (0.5 + 0.5 * share), 4)


def choose_seeds(terms: dict[tuple[str, ...], _Term], video_count: int, limit: int) -> list[str]:
    """The strongest terms, best first, skipping any that contains or is inside one already chosen."""
    ranked = sorted(terms.items(), key=lambda kv: (-transcript_score(kv[1], video_count), kv[1].phrase))
    chosen: list[tuple[str, ...]] = []
    seeds: list[str] = []
    for key, term in ranked:
        if len(seeds) < limit and not _overlaps(key, chosen):
            chosen.append(key)
            seeds.append(term.phrase)
    return seeds


def transcript_vocabulary(transcripts: Sequence[Transcript]) -> set[str]:
    """Every content word said in the project, folded."""
    return {
        fold_plural(w) for t in transcripts for w in (token(x) for x in t.text.split()) if is_content_word(w)
    }


def relevance(key: tuple[str, ...], concept_words: set[str], vocabulary: set[str]) -> float:
    """How much a phrase is about the videos: share of its words among the concepts and among words said."""
    words = _content_stems(key)
    if not words:
        return 0.0
    return 0.5 * len(words & concept_words) / len(words) + 0.5 * len(words & vocabulary) / len(words)


# --- searching --------------------------------------------------------------------------------


@dataclass
class _Findings:
    """What the searches brought back."""

    results: list[SearchResult] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    succeeded: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_searches(seeds: Sequence[str], client: SearchClient, max_results: int) -> _Findings:
    """Search each seed (and ask for suggestions); a failed request is noted, never raised."""
    found = _Findings()
    failed_in_a_row = 0
    for number, seed in enumerate(seeds):
        if failed_in_a_row == MAX_CONSECUTIVE_FAILURES:
            # a dead network would otherwise cost every remaining seed its full timeout
            found.failures.append(
                f"not searched after {failed_in_a_row} failures: {', '.join(seeds[number:])}"
            )
            break
        try:
            found.results.extend(client.text(seed, max_results))
        except Exception as exc:  # any backend failure means fallback, never a crashed stage
            # our own errors already name the query; others need it said
            said = (
                str(exc)
                if isinstance(exc, SearchError)
                else f"search for {seed!r} failed: {describe_error(exc)}"
            )
            found.failures.append(one_line(said, MESSAGE_CHARS))
            failed_in_a_row += 1
            continue
        found.succeeded += 1
        failed_in_a_row = 0
        try:
            found.suggestions.extend(client.suggestions(seed))
        except Exception as exc:  # suggestions are a bonus; the results stand without them
            found.warnings.append(f"suggestions for {seed!r} failed: {describe_error(exc)}")
    return found


def search_keywords(
    found: _Findings, concept_words: set[str], vocabulary: set[str], source: str
) -> tuple[list[Keyword], list[str]]:
    """Keywords scored from the results (frequency, suggestions, relevance), and the recurring phrases."""
    recurring = recurring_phrases(phrase_index(found.results))
    suggested = [phrase_key(s) for s in found.suggestions]
    candidates = {key: phrase.surface for key, phrase in recurring.items()}
    for text, key in zip(found.suggestions, suggested, strict=True):
        if _content_stems(key):
            candidates.setdefault(key, " ".join(text.lower().split()))
    most = max((len(p.results) for p in recurring.values()), default=1)
    keywords = []
    for key, phrase in candidates.items():
        frequency = len(recurring[key].results) / most if key in recurring else 0.0
        in_suggestions = any(_contains(s, key) for s in suggested)
        score = (
            WEIGHT_FREQUENCY * frequency
            + WEIGHT_SUGGESTED * in_suggestions
            + WEIGHT_RELEVANCE * relevance(key, concept_words, vocabulary)
        )
        keywords.append(Keyword(phrase=phrase, score=round(min(score, 1.0), 4), source=source))
    ordered = sorted(recurring, key=lambda k: (-len(recurring[k].results), recurring[k].surface))
    return _ranked(keywords)[:MAX_SEARCH_KEYWORDS], [recurring[k].surface for k in ordered]


def _ranked(keywords: Iterable[Keyword]) -> list[Keyword]:
    return sorted(keywords, key=lambda k: (-k.score, k.phrase))


def merge_keywords(found: Sequence[Keyword], own: Sequence[Keyword]) -> list[Keyword]:
    """One keyword per phrase: a transcript keyword the search also found keeps the higher score, as found."""
    merged = {phrase_key(k.phrase): k for k in own}
    for keyword in found:
        key = phrase_key(keyword.phrase)
        if key in merged:  # the transcript's spelling keeps names and acronyms ("LED bulbs") as said
            own_keyword = merged[key]
            keyword = keyword.model_copy(
                update={"phrase": own_keyword.phrase, "score": max(keyword.score, own_keyword.score)}
            )
        merged[key] = keyword
    return _ranked(merged.values())


# --- the stage --------------------------------------------------------------------------------


def research_keywords(
    analyses: Sequence[Analysis],
    transcripts: Sequence[Transcript],
    config: ResearchConfig,
    search: Choice[SearchClient],
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Research:
    """Keyword research for the project; without a search client, or on any failure, the transcripts'
    keywords, with the fallback recorded when a search was wanted."""
    terms = transcript_terms(analyses)
    own = [
        Keyword(phrase=t.phrase, score=transcript_score(t, len(analyses)), source=TRANSCRIPT)
        for t in terms.values()
    ]
    seeds = choose_seeds(terms, len(analyses), config.max_queries)
    client = search.backend
    if client is None:  # research.backend is offline, or the wanted client cannot run here
        return _transcript_only(seeds, own, search.wanted, search.reason, [])
    reason = _why_not_search(config, seeds)
    if reason is not None:
        return _transcript_only(seeds, own, client.name, reason, [])
    cached = CachedSearch(
        client, config.cache_dir, config.region, config.ttl_hours, config.rate_limit_s, clock, sleep
    )
    earlier = len(getattr(client, "warnings", []))  # a client used before keeps its old warnings
    found = run_searches(seeds, cached, config.max_results)
    warnings = found.failures + found.warnings + cached.warnings + getattr(client, "warnings", [])[earlier:]
    for line in warnings:
        logger.warning("research: %s", line)
    if found.succeeded == 0:
        return _transcript_only(
            seeds, own, client.name, f"no search succeeded; {found.failures[0]}", warnings
        )
    if not found.results and not found.suggestions:  # answered, but nothing to learn from
        searches = f"{found.succeeded} search{'es' if found.succeeded != 1 else ''}"
        return _transcript_only(
            seeds, own, client.name, f"{searches} answered with no usable result", warnings
        )
    concept_words = set().union(*(_content_stems(k) for k in terms))
    vocabulary = transcript_vocabulary(transcripts)
    keywords, phrases = search_keywords(found, concept_words, vocabulary, client.name)
    packages = SEARCH_BACKENDS.packages(client.name)
    return Research(
        producer=make_producer("research", client.name, packages=packages, warnings=warnings),
        seeds=seeds,
        keywords=merge_keywords(keywords, own),
        competitor_titles=competitor_titles(found.results),
        recurring_phrases=phrases,
    )


def _why_not_search(config: ResearchConfig, seeds: Sequence[str]) -> str | None:
    """Why no search is made although a client is there, or None when it can be."""
    if config.max_queries == 0:
        return "research.max_queries is 0"
    if not seeds:
        return "the videos have no concepts to search for"
    return None


def _transcript_only(
    seeds: Sequence[str], own: Sequence[Keyword], wanted: str | None, reason: str | None, warnings: list[str]
) -> Research:
    """Research from the transcripts alone; a fallback from `wanted` is recorded and logged when there is a
    reason (research.backend offline has none)."""
    fallback = None
    if wanted is not None and reason is not None:
        fallback = Fallback(wanted=wanted, used=TRANSCRIPT, reason=one_line(reason, 2 * MESSAGE_CHARS))
        logger.warning("research: using the transcripts' keywords: %s", fallback.reason)
    return Research(
        producer=make_producer("research", TRANSCRIPT, fallback=fallback, warnings=warnings),
        seeds=list(seeds),
        keywords=_ranked(own),
        competitor_titles=[],
        recurring_phrases=[],
    )
