"""Faults at the two network edges: the Gemini API (through its local stand-in) and the web search.

For every fault: the requests made are counted and bounded by the retry policy, the call ends within what
the configured timeout and retry count allow (a generous bound, not a tight timing), the fallback lands in
the artifact with its reason, and the planted API key appears in no exception, log line or artifact.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from ave_core import research, search
from ave_core.backends import given
from ave_core.backgrounds import BackgroundError, BackgroundRequest, ImageModelBackground
from ave_core.config import DirectorConfig, ResearchConfig
from ave_core.director import Context, direct, rule_based_plan
from ave_core.llm import GeminiLLM, LLMError, LLMResponse
from ave_core.models import Plan, Research, write_artifact
from ave_core.research import research_keywords
from ave_core.search import DdgsClient
from tests.gemini_stub import Delay, Drop, GeminiStub, RawBody, Reply, Reset, Status, Trickle
from tests.test_director import PROMPT, context, proposal, spoken
from tests.test_research import ANALYSES, CLEAN_TITLES, SAVE_ENERGY_ROWS, TRANSCRIPTS

KEY = "AIza-PLANTED-faults-key-5150"
TIMEOUT_S = 0.5
MAX_RETRIES = 2
ATTEMPTS = MAX_RETRIES + 1
BACKOFF_S, MAX_BACKOFF_S = 0.02, 0.1
SLACK_S = 3.0  # thread start-up, a 20 MB body, a loaded 2-core machine
HUGE_BYTES = 20_000_000
GOOD = proposal([])  # a valid plan proposal: keep everything


def worst_case_s(attempts: int, timeout_s: float = TIMEOUT_S) -> float:
    """The longest a call may take: every attempt up to its timeout, every backoff at its cap."""
    return attempts * timeout_s + (attempts - 1) * MAX_BACKOFF_S


def lesson() -> Context:
    words = spoken((0.5, "Heating is the biggest cost."), (3.0, "um"), (4.0, "Turn the thermostat down."))
    return context(words, 6.0)


def director_config(stub: GeminiStub, **settings: Any) -> DirectorConfig:
    values = {
        "backend": "gemini",
        "base_url": stub.base_url,
        "max_retries": MAX_RETRIES,
        "timeout_s": TIMEOUT_S,
    }
    return DirectorConfig.model_validate({**values, **settings})


class RecordingLLM:
    """A GeminiLLM whose failures are kept, so a test can read the exception that the director caught."""

    def __init__(self, llm: GeminiLLM) -> None:
        self.llm = llm
        self.name = llm.name
        self.usage = llm.usage
        self.errors: list[BaseException] = []

    def generate_json(self, prompt: str, schema: dict[str, Any], *, system: str | None = None) -> LLMResponse:
        try:
            return self.llm.generate_json(prompt, schema, system=system)
        except Exception as exc:
            self.errors.append(exc)
            raise


def gemini(stub: GeminiStub, config: DirectorConfig, cache_dir: Path | None) -> GeminiLLM:
    return GeminiLLM(config, KEY, cache_dir, backoff_s=BACKOFF_S, max_backoff_s=MAX_BACKOFF_S)


def exception_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


# --- the Gemini API -------------------------------------------------------------------------------

HTML_502 = f"<html><body><h1>502 Bad Gateway</h1>upstream said: key={KEY}</body></html>".encode()
HUGE_ANSWER = json.dumps({**GOOD, "padding": "x" * HUGE_BYTES})

LLM_FAULTS = [
    # (script, requests the client should make, what the reason says)
    pytest.param([Delay(30.0)] * ATTEMPTS, ATTEMPTS, "timed out", id="silent-beyond-timeout"),
    pytest.param(
        [Trickle(Reply(data=GOOD), chunk_bytes=4, interval_s=0.1)] * ATTEMPTS,
        ATTEMPTS,
        f"no complete answer within {TIMEOUT_S:g} s",
        id="body-trickled-beyond-timeout",
    ),
    pytest.param(
        [Status(429, f"Quota exceeded for API key {KEY}.")] * ATTEMPTS, ATTEMPTS, "HTTP 429", id="429-storm"
    ),
    pytest.param([Reset()] * ATTEMPTS, ATTEMPTS, "connection failed", id="reset-mid-body"),
    pytest.param([Reset(chunked=True)] * ATTEMPTS, ATTEMPTS, "connection failed", id="reset-mid-stream"),
    pytest.param([Drop()] * ATTEMPTS, ATTEMPTS, "connection failed", id="reset-before-answer"),
    pytest.param([RawBody(b"", 503)] * ATTEMPTS, ATTEMPTS, "HTTP 503", id="empty-503"),
    pytest.param([RawBody(HTML_502, 502)] * ATTEMPTS, ATTEMPTS, "HTTP 502", id="html-502-from-a-proxy"),
    pytest.param([RawBody(b"")], 1, "returned no text", id="empty-200"),
    pytest.param([RawBody(b"{" + b"x" * HUGE_BYTES)], 1, "not JSON at all", id="huge-junk-body"),
    pytest.param([Reply(text=HUGE_ANSWER)], 1, "M characters", id="huge-json-answer"),
]


@pytest.mark.parametrize(("script", "requests", "reason"), LLM_FAULTS)
def test_llm_fault_is_bounded_recorded_and_keeps_the_key(
    script: list[Any], requests: int, reason: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the SDK's and httpx's loggers too
    ctx = lesson()
    with GeminiStub(script) as stub:
        config = director_config(stub)
        llm = RecordingLLM(gemini(stub, config, tmp_path / "cache"))
        started = time.monotonic()
        plan = direct(ctx, config, PROMPT, given(llm))
        elapsed = time.monotonic() - started
        sent, unscripted = len(stub.requests), stub.unscripted

    assert (sent, unscripted) == (requests, 0), (
        "retries must follow max_retries, and only for transient faults"
    )
    assert elapsed < 2 * worst_case_s(requests) + SLACK_S, elapsed
    (error,) = llm.errors
    assert isinstance(error, LLMError) and reason in str(error)
    if requests > 1:
        assert f"after {requests} attempts" in str(error)

    artifact = tmp_path / "plan.json"
    write_artifact(artifact, plan)
    recorded = json.loads(artifact.read_text())
    fallback = recorded["producer"]["fallback"]
    assert (recorded["backend"], fallback["wanted"], fallback["used"]) == ("rules", "gemini", "rules")
    assert reason in fallback["reason"] and "\n" not in fallback["reason"]
    assert Plan.model_validate(recorded).cuts == rule_based_plan(ctx, config).cuts
    assert recorded["metrics"]["llm_calls"] == 0.0  # nothing was answered, so nothing is billed

    assert not list((tmp_path / "cache").glob("*")), "a failure must not be cached"
    assert KEY not in exception_text(error) + artifact.read_text() + caplog.text
    if any(KEY in str(behaviour) for behaviour in script):  # a server that echoes the key
        assert "***" in fallback["reason"], "the echoed key is blanked, the rest of the reason kept"


def test_429_storm_backs_off_exponentially_up_to_the_cap() -> None:
    retries, backoff_s, cap_s = 4, 0.05, 0.2
    with GeminiStub([Status(429)] * (retries + 1)) as stub:
        config = director_config(stub, max_retries=retries)
        llm = GeminiLLM(config, KEY, None, backoff_s=backoff_s, max_backoff_s=cap_s)
        with pytest.raises(LLMError, match=r"HTTP 429 .*after 5 attempts"):
            llm.generate_json("prompt", {"type": "object"})
        arrivals = [r.at for r in stub.requests]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert len(gaps) == retries and stub.unscripted == 0
    # waits of 0.05, 0.1, 0.2 s (each plus up to 0.05 s of jitter), then held at the 0.2 s cap
    for gap, least in zip(gaps, [0.05, 0.1, 0.2, 0.2], strict=True):
        assert least - 0.005 <= gap <= cap_s + 0.5, gaps  # 0.5 s: the request itself on a loaded machine


def test_trickled_answer_is_abandoned_not_left_reading() -> None:
    trickle = Trickle(Reply(data=GOOD), chunk_bytes=2, interval_s=0.1)  # the whole body: over a minute
    with GeminiStub([trickle, trickle]) as stub:
        llm = gemini(stub, director_config(stub, max_retries=1), None)
        started = time.monotonic()
        with pytest.raises(
            LLMError, match=r"timed out \(no complete answer within 0\.5 s\) \(after 2 attempts\)"
        ):
            llm.generate_json("prompt", {"type": "object"})
        elapsed = time.monotonic() - started
        # the server sees each abandoned request hang up soon after its deadline
        waited_until = time.monotonic() + 10.0
        while len(stub.trickle_s) < 2 and time.monotonic() < waited_until:
            time.sleep(0.05)
        sending_s = list(stub.trickle_s)
    assert elapsed < 2 * worst_case_s(2) + SLACK_S, elapsed
    assert len(sending_s) == 2 and max(sending_s) < 10.0, sending_s


def test_slow_answer_within_the_timeout_is_taken() -> None:
    # the deadline covers the whole request, and is no shorter than the timeout
    steady = Trickle(Reply(data=GOOD), chunk_bytes=512, interval_s=0.02)
    with GeminiStub([steady, Reply(data=GOOD, delay_s=TIMEOUT_S / 2)]) as stub:
        llm = gemini(stub, director_config(stub), None)
        first = llm.generate_json("prompt", {"type": "object"})
        second = llm.generate_json("another prompt", {"type": "object"})
    assert first.data == GOOD and second.data == GOOD
    assert (first.attempts, second.attempts, len(stub.requests)) == (1, 1, 2)


# --- the image model -----------------------------------------------------------------------------


def test_trickled_image_is_abandoned_within_its_timeout() -> None:
    trickle = Trickle(Reply(data=GOOD), chunk_bytes=2, interval_s=0.1)  # the whole body: over a minute
    request = BackgroundRequest(strategy="curiosity", hook="Really?", topic="saving energy")
    with GeminiStub([trickle]) as stub:
        generator = ImageModelBackground(
            KEY, "gemini-2.5-flash-image", base_url=stub.base_url, timeout_s=TIMEOUT_S, attempts=1
        )
        started = time.monotonic()
        with pytest.raises(BackgroundError) as raised:
            generator.generate(request)
        elapsed = time.monotonic() - started
        # the server sees the abandoned request hang up soon after its deadline
        waited_until = time.monotonic() + 10.0
        while not stub.trickle_s and time.monotonic() < waited_until:
            time.sleep(0.05)
        sent, sending_s = len(stub.requests), list(stub.trickle_s)
    assert str(raised.value) == (
        "gemini-2.5-flash-image: connection timed out (no complete answer within 0.5 s)"
    )
    assert elapsed < TIMEOUT_S + SLACK_S, elapsed
    assert sent == 1 and len(sending_s) == 1 and sending_s[0] < 10.0, sending_s
    assert KEY not in exception_text(raised.value)


# --- the web search -------------------------------------------------------------------------------


def search_config(tmp_path: Path, **settings: Any) -> ResearchConfig:
    values = {"backend": "ddgs", "cache_dir": str(tmp_path / "cache"), "rate_limit_s": 0.0, "timeout_s": 0.2}
    return ResearchConfig.model_validate({**values, **settings})


def stand_in(answer: Any, calls: list[str]) -> type:
    """A class standing in for ddgs.DDGS whose text() gives `answer(query)` and notes each query."""

    class StandInDdgs:
        def __init__(self, timeout: float) -> None:
            self.timeout = timeout

        def text(self, query: str, **options: Any) -> Any:
            calls.append(query)
            return answer(query)

    return StandInDdgs


def recorded(result: Research, tmp_path: Path) -> dict[str, Any]:
    """The research artifact as written to disk."""
    artifact = tmp_path / "research.json"
    write_artifact(artifact, result)
    return json.loads(artifact.read_text())


def timed_research(
    tmp_path: Path, search: Any, calls: list[str], release: threading.Event
) -> tuple[Any, DdgsClient, float]:
    """research_keywords over a stand-in ddgs answering with `search`, its client, and its wall seconds;
    `release` frees the stand-in's hung threads afterwards."""
    config = search_config(tmp_path)
    client = DdgsClient(timeout_s=config.timeout_s, factory=stand_in(search, calls))
    started = time.monotonic()
    try:
        result = research_keywords(ANALYSES, TRANSCRIPTS, config, given(client))
    finally:
        release.set()
    return result, client, time.monotonic() - started


def test_hanging_search_is_abandoned_at_its_deadline_and_falls_back(tmp_path: Path) -> None:
    release, calls = threading.Event(), []

    def hang(query: str) -> list[dict[str, str]]:
        release.wait(60)
        return []

    result, client, elapsed = timed_research(tmp_path, hang, calls, release)

    assert calls == result.seeds[: research.MAX_CONSECUTIVE_FAILURES]  # then the service counts as down
    assert elapsed < 2 * research.MAX_CONSECUTIVE_FAILURES * client.deadline_s + SLACK_S, elapsed
    written = recorded(result, tmp_path)
    fallback = written["producer"]["fallback"]
    assert (written["producer"]["backend"], fallback["used"]) == ("transcript", "transcript")
    assert "no answer within 0.4 s" in fallback["reason"]
    assert any("not searched after 2 failures" in w for w in written["producer"]["warnings"])


def test_flaky_search_is_bounded_by_seeds_times_deadline(tmp_path: Path) -> None:
    release, calls = threading.Event(), []

    def every_other_hangs(query: str) -> list[dict[str, str]]:
        if len(calls) % 2 == 0:  # the 2nd, 4th, ... request
            release.wait(60)
        return SAVE_ENERGY_ROWS

    result, client, elapsed = timed_research(tmp_path, every_other_hangs, calls, release)

    hung = len(result.seeds) // 2
    assert calls == result.seeds and hung >= 2  # never two failures in a row: every seed is tried
    assert elapsed < 2 * hung * client.deadline_s + SLACK_S, elapsed
    written = recorded(result, tmp_path)
    assert written["producer"]["backend"] == "ddgs" and written["producer"]["fallback"] is None
    timeouts = [w for w in written["producer"]["warnings"] if "no answer within" in w]
    assert len(timeouts) == hung


GARBAGE_ROWS: list[Any] = [
    "10 Ways to Save Energy",  # a bare string
    None,
    42,
    ["a", "list"],
    {},
    {"title": 5, "href": None, "body": None},  # wrong types only
    {"title": None, "body": ["not", "text"], "href": "https://example.org"},
    {"title": "<script>alert('x')</script>", "body": "<style>p{}</style><!-- nothing -->"},
    {  # markup and entities around a real result: kept, cleaned
        "title": "<b>Heat Pumps</b> &amp; Insulation Explained - YouTube",
        "href": "javascript:alert(1)",
        "body": "<p>Insulation &amp; heat pumps &lt;b&gt;save energy&lt;/b&gt; at home."
        "<script>x()</script></p>",
    },
    {"title": "Save Energy Now " + "spam " * 5000, "href": "https://spam.example", "body": "spam " * 20000},
]


def test_garbage_results_are_dropped_cleaned_and_recorded(tmp_path: Path) -> None:
    calls: list[str] = []
    answers = {
        "save energy": SAVE_ENERGY_ROWS[:4] + GARBAGE_ROWS,
        "LED bulbs": "<html><body>Rate limited</body></html>",  # not a list at all
        "energy bills": {"results": SAVE_ENERGY_ROWS},  # a dict
        "thermostat": None,
    }
    config = search_config(tmp_path, max_results=20)
    client = DdgsClient(timeout_s=config.timeout_s, factory=stand_in(lambda q: answers.get(q, []), calls))
    result = research_keywords(ANALYSES, TRANSCRIPTS, config, given(client))

    written = recorded(result, tmp_path)
    producer = written["producer"]
    assert producer["backend"] == "ddgs" and producer["fallback"] is None  # the good rows carried it
    warnings = producer["warnings"]
    assert any("'save energy': 8 of 14 results were unreadable" in w for w in warnings), warnings
    assert any("'LED bulbs' answered str, not a list" in w for w in warnings), warnings
    assert any("'energy bills' answered dict, not a list" in w for w in warnings), warnings
    assert calls[:3] == ["save energy", "LED bulbs", "energy bills"]

    titles = written["competitor_titles"]
    assert "Heat Pumps & Insulation Explained" in titles
    assert titles[:4] == CLEAN_TITLES[:4]  # the good rows, in order
    text = json.dumps(written)
    for junk in ("<", ">", "&amp;", "&lt;", "alert(", "x()", "javascript:", "p{}"):
        assert junk not in text, junk
    assert max(len(t) for t in titles) <= search.MAX_TITLE_CHARS
    cached = "".join(p.read_text() for p in Path(config.cache_dir).glob("*.json"))
    assert cached and "<script" not in cached and "javascript:" not in cached


def test_search_answering_only_garbage_falls_back_with_the_reason(tmp_path: Path) -> None:
    calls: list[str] = []
    config = search_config(tmp_path, max_queries=3)
    client = DdgsClient(timeout_s=config.timeout_s, factory=stand_in(lambda q: GARBAGE_ROWS[:8], calls))
    result = research_keywords(ANALYSES, TRANSCRIPTS, config, given(client))

    written = recorded(result, tmp_path)
    fallback = written["producer"]["fallback"]
    assert len(calls) == 3 and written["competitor_titles"] == []
    assert fallback["used"] == "transcript"
    assert fallback["reason"] == "3 searches answered with no usable result"
    assert sum("8 of 8 results were unreadable" in w for w in written["producer"]["warnings"]) == 3
