"""ave_core.research on hand-built analyses of two energy-saving videos and recorded ddgs answers.

There is no network in the test environment: the real ddgs library is only driven against a closed port and
a silent local server, and the searches that succeed replay responses recorded in ddgs' own format.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ave_core import research, search
from ave_core.backends import Choice, given
from ave_core.config import ResearchConfig
from ave_core.models import Analysis, Concept, Research, Transcript, make_producer
from ave_core.research import clean_title, phrase_key, research_keywords
from ave_core.search import CachedSearch, DdgsClient, SearchError, SearchResult, make_search_client

# ddgs' text() rows for "save energy", as recorded (title, href, body)
SAVE_ENERGY_ROWS: list[dict[str, str]] = [
    {
        "title": "10 Ways to Save Energy at Home - YouTube",
        "href": "https://www.youtube.com/watch?v=Qx3b1kL0e9A",
        "body": "Learn 10 easy ways to save energy at home and cut your energy bills this winter. "
        "Turn down the thermostat, switch to LED bulbs and more.",
    },
    {
        "title": "How to Save Energy at Home: 25 Simple Tips | Energy Saving Trust",
        "href": "https://energysavingtrust.org.uk/hub/quick-tips-to-save-energy/",
        "body": "Simple changes can lower your energy bills. Turn appliances off standby, wash at 30 degrees "
        "and fit LED bulbs to save energy.",
    },
    {
        "title": "Energy Saver - Department of Energy",
        "href": "https://www.energy.gov/energysaver/energy-saver",
        "body": "Energy Saver offers tips to save energy and money at home: insulation, heating and cooling, "
        "thermostat settings and lighting.",
    },
    {
        "title": "Cut Your Energy Bills: 12 Proven Tips - Which?",
        "href": "https://www.which.co.uk/reviews/energy-saving/article/cut-energy-bills",
        "body": "Our experts reveal how to cut your energy bills. Turn down the thermostat by one degree and "
        "save energy without feeling colder.",
    },
    {
        "title": "Standby Power: How Much Do Appliances Use When Off? - BBC News",
        "href": "https://www.bbc.co.uk/news/articles/c4ng7x2y1o",
        "body": "Appliances left on standby power can add to your energy bills. Switching them off at the "
        "wall is an easy way to save energy.",
    },
    {
        "title": "LED Bulbs vs Halogen: Which Saves More Energy? | Good Housekeeping",
        "href": "https://www.goodhousekeeping.com/home/led-vs-halogen-bulbs",
        "body": "LED bulbs use up to 80% less energy than halogen bulbs, which lowers energy bills over the "
        "life of the bulb.",
    },
    {
        "title": "Best ways to save energy in an old house? - Reddit",
        "href": "https://www.reddit.com/r/HomeImprovement/comments/1a2b3c/",
        "body": "Insulation made the biggest difference to our heating bills. Draught proofing and a smart "
        "thermostat helped us save energy too.",
    },
    {
        "title": "Save Energy - 10 Tips for Students",
        "href": "https://green-school.example.edu/save-energy",
        "body": "Ten tips to save energy at school and at home: switch off lights, unplug chargers and close "
        "windows when the heating is on.",
    },
]
LED_ROWS: list[dict[str, str]] = [
    {
        "title": "Are LED Bulbs Worth It? The Real Savings - YouTube",
        "href": "https://www.youtube.com/watch?v=Zr8LmN2pQ4c",
        "body": "We tested LED bulbs against halogen bulbs for a year. The LED bulbs paid for themselves.",
    },
    {
        "title": "LED Bulbs Buying Guide | Which?",
        "href": "https://www.which.co.uk/reviews/light-bulbs/article/led-bulbs",
        "body": "How to choose LED bulbs: brightness in lumens, colour temperature and halogen bulbs "
        "compared.",
    },
]
RECORDED = {"save energy": SAVE_ENERGY_ROWS, "LED bulbs": LED_ROWS}
SUGGESTIONS = {"save energy": ["how to save energy at home", "energy saving tips", "save energy"]}

CLEAN_TITLES = [
    "10 Ways to Save Energy at Home",
    "How to Save Energy at Home: 25 Simple Tips",
    "Energy Saver",
    "Cut Your Energy Bills: 12 Proven Tips",
    "Standby Power: How Much Do Appliances Use When Off?",
    "LED Bulbs vs Halogen: Which Saves More Energy?",
    "Best ways to save energy in an old house?",
    "Save Energy - 10 Tips for Students",  # " - 10 Tips" is no site: it stays
    "Are LED Bulbs Worth It? The Real Savings",
    "LED Bulbs Buying Guide",
]


def as_results(rows: list[dict[str, str]]) -> list[SearchResult]:
    return [SearchResult(title=r["title"], body=r["body"], url=r["href"]) for r in rows]


class RecordedClient:
    """Answers from RECORDED (nothing for other queries) and counts its requests."""

    name = "ddgs"

    def __init__(self, fail_on: dict[str, BaseException] | None = None, suggest: bool = True) -> None:
        self.fail_on = fail_on or {}
        self.suggest = suggest
        self.requests: list[tuple[str, str]] = []

    def text(self, query: str, max_results: int) -> list[SearchResult]:
        self.requests.append(("text", query))
        if query in self.fail_on:
            raise self.fail_on[query]
        return as_results(RECORDED.get(query, []))[:max_results]

    def suggestions(self, query: str) -> list[str]:
        self.requests.append(("suggestions", query))
        return list(SUGGESTIONS.get(query, [])) if self.suggest else []


class FailingClient:
    """Every request fails with `error`."""

    name = "ddgs"

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    def text(self, query: str, max_results: int) -> list[SearchResult]:
        self.calls += 1
        raise self.error

    def suggestions(self, query: str) -> list[str]:
        raise AssertionError("suggestions asked after a failed search")


class FakeClock:
    """Seconds since the epoch that move only when told to (or when slept)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def analysis(concepts: list[tuple[str, float]], themes: list[str]) -> Analysis:
    return Analysis(
        producer=make_producer("analyze", "yake"),
        concepts=[Concept(term=term, score=score) for term, score in concepts],
        themes=themes,
    )


def transcript(text: str) -> Transcript:
    return Transcript(
        producer=make_producer("transcribe", "sidecar"),
        language="en",
        text=text,
        segments=[],
        words=[],
        backend="sidecar",
        model="lesson.srt",
    )


ANALYSES = [
    analysis(
        [("save energy", 1.0), ("energy bills", 0.8), ("thermostat", 0.6), ("insulation", 0.5)],
        ["energy", "heating"],
    ),
    analysis([("LED bulbs", 1.0), ("save energy", 0.9), ("standby power", 0.7)], ["energy", "appliances"]),
]
TRANSCRIPTS = [
    transcript(
        "Today we look at three ways to save energy at home. Heating is the biggest part of your energy "
        "bills. Turn the thermostat down by one degree and check the insulation in the loft."
    ),
    transcript(
        "Swap old halogen lamps for LED bulbs to save energy. Appliances on standby power still draw "
        "electricity, so switch them off at the wall."
    ),
]
OWN_PHRASES = {"save energy", "energy bills", "thermostat", "insulation", "LED bulbs", "standby power"}


@pytest.fixture
def config(tmp_path: Path) -> ResearchConfig:
    return ResearchConfig(backend="ddgs", cache_dir=str(tmp_path / "cache"), rate_limit_s=0.0)


def run(config: ResearchConfig, client: Any, clock: FakeClock | None = None) -> Research:
    """Research with `client` (a Choice, or a client that is then the one chosen)."""
    clock = clock or FakeClock()
    chosen = client if isinstance(client, Choice) else given(client)
    return research_keywords(ANALYSES, TRANSCRIPTS, config, chosen, clock=clock, sleep=clock.sleep)


def by_phrase(result: Research) -> dict[str, Any]:
    return {k.phrase: k for k in result.keywords}


def assert_transcript_only(result: Research, fallback: bool = True) -> None:
    """Keywords from the transcripts alone; with a fallback record from ddgs unless none was wanted."""
    assert {k.source for k in result.keywords} == {"transcript"}
    assert OWN_PHRASES <= set(by_phrase(result))
    assert result.competitor_titles == [] and result.recurring_phrases == []
    assert result.producer.backend == "transcript"
    if not fallback:
        assert result.producer.fallback is None
        return
    assert result.producer.fallback is not None
    assert (result.producer.fallback.wanted, result.producer.fallback.used) == ("ddgs", "transcript")


def assert_sorted(result: Research) -> None:
    order = [(-k.score, k.phrase) for k in result.keywords]
    assert order == sorted(order)
    assert all(0.0 <= k.score <= 1.0 for k in result.keywords)
    keys = [phrase_key(k.phrase) for k in result.keywords]
    assert len(keys) == len(set(keys)), "a phrase is listed twice"


# --- searching through recorded answers ----------------------------------------------------------


def test_recorded_search_gives_titles_phrases_and_scored_keywords(config: ResearchConfig) -> None:
    client = RecordedClient()
    result = run(config, client)

    assert result.producer.backend == "ddgs" and result.producer.fallback is None
    assert "ddgs" in result.producer.versions and result.producer.warnings == []
    # seeds: the strongest concepts, at most max_queries, "energy" left out as part of "save energy"
    assert result.seeds[:3] == ["save energy", "LED bulbs", "energy bills"]
    assert len(result.seeds) <= config.max_queries and "energy" not in result.seeds
    assert [q for kind, q in client.requests if kind == "text"] == result.seeds

    assert result.competitor_titles == CLEAN_TITLES
    phrases = result.recurring_phrases
    for wanted in ("save energy", "energy bills", "led bulbs", "save energy at home", "halogen bulbs"):
        assert wanted in phrases, (wanted, phrases)
    assert phrases[0] == "save energy"  # in the most results
    assert "draught proofing" not in phrases and "smart thermostat" not in phrases  # in one result only
    assert not any(len(p.split()) < 2 for p in phrases)

    keywords = by_phrase(result)
    assert {k.source for k in result.keywords} == {"ddgs", "transcript"}
    assert keywords["save energy"].source == "ddgs" and keywords["save energy"].score == 1.0
    assert keywords["save energy at home"].source == "ddgs"
    assert keywords["energy saving tips"].source == "ddgs"  # a suggestion is a keyword too
    assert keywords["insulation"].source == "transcript"  # a single word never recurs as a phrase
    # relevant to the videos beats merely frequent: "halogen bulbs" is in as many results but never said
    assert keywords["LED bulbs"].source == "ddgs"  # found by search, spelled as the video says it
    assert keywords["LED bulbs"].score > keywords["halogen bulbs"].score
    assert_sorted(result)
    assert result.keywords[0].phrase == "save energy"


def test_suggestions_raise_the_score_of_phrases_in_them(tmp_path: Path) -> None:
    with_suggestions = run(ResearchConfig(cache_dir=str(tmp_path / "a")), RecordedClient())
    without = run(ResearchConfig(cache_dir=str(tmp_path / "b")), RecordedClient(suggest=False))
    suggested, plain = by_phrase(with_suggestions), by_phrase(without)
    assert suggested["save energy at home"].score == pytest.approx(plain["save energy at home"].score + 0.2)
    assert suggested["energy bills"].score == plain["energy bills"].score
    assert "energy saving tips" not in plain


def test_clean_title_cuts_site_suffixes_only() -> None:
    assert clean_title("Heat Pumps Explained | The Eco Experts", "https://www.theecoexperts.co.uk/x") == (
        "Heat Pumps Explained"
    )
    assert clean_title("Insulation 101 - Channel Name - YouTube", "https://m.youtube.com/watch") == (
        "Insulation 101 - Channel Name"
    )
    assert clean_title("Energy Saver - Energy.gov", "") == "Energy Saver"
    assert clean_title("Save Energy - 10 Tips", "https://example.org/tips") == "Save Energy - 10 Tips"


# --- failures and fallbacks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "in_reason"),
    [
        (SearchError("ddgs search for 'save energy' failed (DNSError) — check the network"), "DNSError"),
        (TimeoutError("timed out after 10 s"), "TimeoutError: timed out after 10 s"),
    ],
)
def test_failing_search_falls_back_to_transcript_keywords(
    config: ResearchConfig, error: BaseException, in_reason: str
) -> None:
    client = FailingClient(error)
    result = run(config, client)

    assert_transcript_only(result)
    assert result.producer.fallback is not None
    reason = result.producer.fallback.reason
    assert in_reason in reason and "\n" not in reason and "save energy" in reason
    # after two failures in a row the service is taken as unreachable: the other seeds are not tried
    assert client.calls == research.MAX_CONSECUTIVE_FAILURES
    assert any("not searched" in w for w in result.producer.warnings)
    assert_sorted(result)
    assert result.keywords[0].phrase == "save energy"  # both videos, top concept: 1.0


def test_transcript_keywords_weigh_score_and_shared_videos(config: ResearchConfig) -> None:
    result = run(config.model_copy(update={"backend": "offline"}), RecordedClient())
    scores = {k.phrase: k.score for k in result.keywords}
    # same best score 1.0, but "LED bulbs" is in one video of two
    assert scores["save energy"] == 1.0 and scores["LED bulbs"] == 0.75
    assert scores["energy"] == 0.5 and scores["heating"] == 0.375  # themes: 0.5, shared or not


def test_partial_failure_keeps_what_succeeded_and_warns(config: ResearchConfig) -> None:
    client = RecordedClient(
        fail_on={"LED bulbs": SearchError("ddgs search for 'LED bulbs' failed (Ratelimit)")}
    )
    result = run(config, client)

    assert result.producer.backend == "ddgs" and result.producer.fallback is None
    assert any("LED bulbs" in w and "Ratelimit" in w for w in result.producer.warnings)
    assert result.competitor_titles == CLEAN_TITLES[:8]  # the LED answers are missing, the rest kept
    assert "save energy at home" in by_phrase(result)
    # one failure is not a dead network: the seeds after it were still searched
    assert ("text", result.seeds[-1]) in client.requests


def test_offline_backend_uses_the_transcripts_and_records_no_fallback(config: ResearchConfig) -> None:
    offline = config.model_copy(update={"backend": "offline"})
    chosen = make_search_client(offline)
    assert chosen.backend is None and chosen.fallback(used="transcript") is None
    assert_transcript_only(run(offline, chosen), fallback=False)


def test_no_client_or_no_queries_fall_back_with_their_reason(
    config: ResearchConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "ddgs_available", lambda: False)
    assert make_search_client(config).backend is None
    missing = run(config, make_search_client(config))
    assert_transcript_only(missing)
    assert missing.producer.fallback is not None
    assert missing.producer.fallback.reason == "no ddgs package installed (pip install ddgs)"

    none_asked = run(config.model_copy(update={"max_queries": 0}), RecordedClient())
    assert none_asked.producer.fallback is not None and "max_queries" in none_asked.producer.fallback.reason
    assert none_asked.seeds == []


def test_make_search_client_follows_the_backend(config: ResearchConfig) -> None:
    assert make_search_client(config.model_copy(update={"backend": "offline"})).backend is None
    client = make_search_client(config.model_copy(update={"timeout_s": 3.0, "region": "uk-en"})).backend
    assert isinstance(client, DdgsClient)
    assert (client.timeout_s, client.region, client.name) == (3.0, "uk-en", "ddgs")
    assert isinstance(make_search_client(config.model_copy(update={"backend": "auto"})).backend, DdgsClient)


# --- cache and rate limit ---------------------------------------------------------------------------


def test_second_run_is_answered_from_the_cache_until_the_ttl(config: ResearchConfig) -> None:
    clock = FakeClock()
    first_client = RecordedClient()
    first = run(config, first_client, clock)
    assert len(first_client.requests) == 2 * len(first.seeds)  # text and suggestions per seed
    assert len(list(Path(config.cache_dir).glob("*.json"))) == len(first_client.requests)

    clock.now += 23 * 3600  # within the 24 h TTL
    second_client = RecordedClient()
    second = run(config, second_client, clock)
    assert second_client.requests == []
    assert second.keywords == first.keywords and second.competitor_titles == first.competitor_titles

    clock.now += 2 * 3600  # 25 h after the first run: stale
    third_client = RecordedClient()
    run(config, third_client, clock)
    assert third_client.requests == first_client.requests


def test_cache_key_separates_region_and_size(tmp_path: Path) -> None:
    client = RecordedClient(suggest=False)
    CachedSearch(client, tmp_path, region="us-en").text("save energy", 10)
    CachedSearch(client, tmp_path, region="uk-en").text("save energy", 10)
    CachedSearch(client, tmp_path, region="us-en").text("save energy", 5)
    CachedSearch(client, tmp_path, region="us-en").text("save energy", 10)
    assert len(client.requests) == 3


def test_damaged_cache_entry_is_refetched(tmp_path: Path) -> None:
    client = RecordedClient()
    CachedSearch(client, tmp_path).text("save energy", 10)
    for entry in tmp_path.glob("*.json"):
        entry.write_text("{not json", encoding="utf-8")
    again = CachedSearch(client, tmp_path).text("save energy", 10)
    assert len(client.requests) == 2 and again == as_results(SAVE_ENERGY_ROWS)


def test_rate_limit_spaces_real_requests_only(tmp_path: Path) -> None:
    clock = FakeClock()
    client = RecordedClient()
    cached = CachedSearch(client, tmp_path, rate_limit_s=1.5, clock=clock, sleep=clock.sleep)
    cached.text("save energy", 10)
    assert clock.slept == []  # the first request does not wait
    clock.now += 0.4
    cached.text("LED bulbs", 10)
    assert clock.slept == [pytest.approx(1.1)]
    cached.text("save energy", 10)  # a cache hit: no wait
    assert clock.slept == [pytest.approx(1.1)]
    clock.now += 5.0
    cached.suggestions("save energy")  # long enough since the last request
    assert clock.slept == [pytest.approx(1.1)]
    cached.suggestions("LED bulbs")
    assert clock.slept == [pytest.approx(1.1), pytest.approx(1.5)]
    assert (cached.requests, cached.hits) == (4, 1)


def test_rate_limit_through_the_stage(config: ResearchConfig) -> None:
    clock = FakeClock()
    client = RecordedClient()
    run(config.model_copy(update={"rate_limit_s": 2.0}), client, clock)
    assert clock.slept == [2.0] * (len(client.requests) - 1)


# --- the real ddgs library, without a network ---------------------------------------------------------


class RecordedDdgs:
    """Stands in for ddgs.DDGS: replays recorded rows and notes how it was called."""

    calls: list[dict[str, Any]] = []

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def text(self, query: str, **options: Any) -> list[dict[str, str]]:
        RecordedDdgs.calls.append({"query": query, "timeout": self.timeout, **options})
        if query not in RECORDED:
            from ddgs.exceptions import DDGSException

            raise DDGSException("No results found.")
        return RECORDED[query]


def test_ddgs_client_maps_recorded_rows() -> None:
    RecordedDdgs.calls = []
    client = DdgsClient(timeout_s=3.0, region="uk-en", factory=RecordedDdgs)
    assert client.text("save energy", 8) == as_results(SAVE_ENERGY_ROWS)
    assert RecordedDdgs.calls == [
        {"query": "save energy", "timeout": 3.0, "region": "uk-en", "max_results": 8, "backend": "auto"}
    ]
    assert client.text("nothing matches this", 8) == []  # ddgs' "No results found." is no failure
    assert client.suggestions("save energy") == []


def test_ddgs_client_gives_up_at_its_deadline_when_ddgs_hangs() -> None:
    release = threading.Event()

    class HangingDdgs:
        def __init__(self, timeout: float) -> None:
            pass

        def text(self, query: str, **options: Any) -> list[dict[str, str]]:
            release.wait(30)
            return []

    client = DdgsClient(timeout_s=0.2, factory=HangingDdgs)
    started = time.monotonic()
    try:
        with pytest.raises(SearchError, match=r"no answer within 0\.4 s"):
            client.text("save energy", 10)
    finally:
        release.set()
    assert time.monotonic() - started < 2.0


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A local port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.fixture
def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there any more: connections are refused
    return port


@pytest.mark.parametrize(
    ("server", "in_reason"),
    [
        ("closed_port", "failed (DDGSException: Connection refused"),
        # ddgs alone would take about 4 x timeout_s here: our own deadline answers first
        ("silent_server", "no answer within 2 s"),
    ],
)
def test_real_ddgs_without_network_falls_back_in_bounded_time(
    config: ResearchConfig,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    server: str,
    in_reason: str,
) -> None:
    # ddgs reads DDGS_PROXY: every request goes to a local port, so this fails even where a network exists
    monkeypatch.setenv("DDGS_PROXY", f"http://127.0.0.1:{request.getfixturevalue(server)}")
    settings = config.model_copy(update={"timeout_s": 1.0})
    chosen = make_search_client(settings)
    client = chosen.backend
    assert isinstance(client, DdgsClient)

    started = time.monotonic()
    result = research_keywords(ANALYSES, TRANSCRIPTS, settings, chosen)
    elapsed = time.monotonic() - started

    assert_transcript_only(result)
    assert result.producer.fallback is not None
    reason = result.producer.fallback.reason
    assert reason.startswith("no search succeeded; ddgs search for 'save energy'"), reason
    assert in_reason in reason and "check the network" in reason
    assert "\n" not in reason and len(reason) <= 2 * research.MESSAGE_CHARS
    # two seeds tried, each bounded by the deadline (2 x timeout_s), then the rest skipped
    assert elapsed < 2 * client.deadline_s + 3.0, elapsed
    assert list(Path(config.cache_dir).glob("*.json")) == []  # failures are not cached
