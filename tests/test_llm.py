"""GeminiLLM against a local stand-in of the Gemini REST API.

Parsing, retries, timeouts, the cache, usage and cost, and that the API key never leaks.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from ave_core.config import DirectorConfig
from ave_core.llm import GeminiLLM, LLMError, LLMResponse, LLMUsage, ResponseCache, api_key_from_env
from tests.gemini_stub import (
    GENERATE_PATH,
    Behaviour,
    Delay,
    GeminiStub,
    RawBody,
    Reply,
    Reset,
    Status,
    count_tokens,
)

KEY = "test-key-PLANTED-123"
SYSTEM = "You are the AI Director of a video editor. Answer with JSON only."
PROMPT = "Transcript: 'Today we look at three ways to save energy. um. Heating uses 60 percent...'"
SCHEMA = {
    "type": "object",
    "properties": {
        "cuts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "start_s": {"type": "number"},
                    "end_s": {"type": "number"},
                    "reason": {"type": "string", "enum": ["silence", "filler", "retake"]},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                },
                "required": ["start_s", "end_s", "reason"],
            },
        },
        "title": {"type": "string"},
    },
    "required": ["cuts", "title"],
}
PLAN = {
    "cuts": [
        {"start_s": 3.1, "end_s": 3.7, "reason": "filler", "confidence": 0.95},
        {"start_s": 9.0, "end_s": 10.2, "reason": "silence", "confidence": 0.8},
    ],
    "title": "Three ways to save energy at home",
}
BACKOFF_S = 0.01  # keeps retry tests fast; the policy is the same as with the 1 s default


@pytest.fixture
def stub() -> Iterator[GeminiStub]:
    with GeminiStub() as server:
        yield server


def make_llm(stub: GeminiStub, cache_dir: Path | None, **config: object) -> GeminiLLM:
    settings: dict[str, object] = {"backend": "gemini", "base_url": stub.base_url, "max_retries": 2}
    settings.update(config)
    director = DirectorConfig.model_validate(settings)
    return GeminiLLM(director, KEY, cache_dir, backoff_s=BACKOFF_S, max_backoff_s=0.05)


def ask(llm: GeminiLLM, prompt: str = PROMPT) -> LLMResponse:
    return llm.generate_json(prompt, SCHEMA, system=SYSTEM)


def test_plan_is_parsed_and_tokens_are_the_stubs_counts(stub: GeminiStub, tmp_path: Path) -> None:
    stub.push(Reply(PLAN))
    llm = make_llm(stub, tmp_path / "cache")
    response = ask(llm)
    assert response.data == PLAN
    assert (response.cached, response.attempts) == (False, 1)
    assert response.tokens_in == count_tokens(SYSTEM + PROMPT)
    assert response.tokens_out == count_tokens(json.dumps(PLAN))
    assert response.latency_s > 0
    assert (llm.usage.calls, llm.usage.tokens_in, llm.usage.tokens_out) == (
        1,
        response.tokens_in,
        response.tokens_out,
    )


def test_request_is_structured_json_output(stub: GeminiStub) -> None:
    stub.push(Reply(PLAN))
    ask(make_llm(stub, None, temperature=0.4))
    (request,) = stub.requests
    match = GENERATE_PATH.match(request.path)
    assert match and match["model"] == "gemini-2.5-flash"
    assert request.body is not None
    assert request.body["contents"][0]["parts"][0]["text"] == PROMPT
    assert request.body["systemInstruction"]["parts"][0]["text"] == SYSTEM
    generation = request.body["generationConfig"]
    assert generation == {
        "temperature": 0.4,
        "responseMimeType": "application/json",
        "responseJsonSchema": SCHEMA,
    }


def test_429_then_success_takes_two_attempts(stub: GeminiStub) -> None:
    stub.push(Status(429, "Resource has been exhausted (e.g. check quota)."), Reply(PLAN))
    response = ask(make_llm(stub, None, max_retries=3))
    assert (response.data, response.attempts) == (PLAN, 2)
    assert len(stub.requests) == 2


@pytest.mark.parametrize("transient", [Status(503, "The model is overloaded."), Reset(), Delay(5.0)])
def test_transient_failure_then_success(stub: GeminiStub, transient: Behaviour) -> None:
    stub.push(transient, Reply(PLAN))
    response = ask(make_llm(stub, None, timeout_s=0.3))
    assert (response.data, response.attempts) == (PLAN, 2)


@pytest.mark.parametrize("code", [500, 503])
def test_repeated_5xx_exhausts_retries(stub: GeminiStub, tmp_path: Path, code: int) -> None:
    max_retries = 3
    stub.push(*[Status(code, "Internal error encountered.")] * (max_retries + 1))
    llm = make_llm(stub, tmp_path / "cache", max_retries=max_retries)
    started = time.monotonic()
    with pytest.raises(LLMError, match=rf"HTTP {code} .*after 4 attempts"):
        ask(llm)
    assert time.monotonic() - started < 2.0
    assert len(stub.requests) == max_retries + 1
    assert stub.unscripted == 0
    assert list((tmp_path / "cache").glob("*")) == []  # failures are not cached


def test_delay_beyond_timeout_fails_in_bounded_time(stub: GeminiStub) -> None:
    stub.push(Delay(5.0), Delay(5.0))
    llm = make_llm(stub, None, timeout_s=0.3, max_retries=1)
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"timed out .*after 2 attempts"):
        ask(llm)
    assert time.monotonic() - started < 1.5  # two 0.3 s timeouts and a short backoff
    assert len(stub.requests) == 2


def test_malformed_json_fails_without_retry(stub: GeminiStub, tmp_path: Path) -> None:
    stub.push(Reply(text='{"cuts": [{"start_s": 3.1, "end_s"'))
    with pytest.raises(LLMError, match="returned malformed JSON"):
        ask(make_llm(stub, tmp_path / "cache", max_retries=3))
    assert len(stub.requests) == 1


@pytest.mark.parametrize(
    ("body", "message"), [(b"", "returned no text"), (b"<html>bad gateway</html>", "not JSON at all")]
)
def test_body_that_is_no_gemini_answer_fails(stub: GeminiStub, body: bytes, message: str) -> None:
    stub.push(RawBody(body))
    with pytest.raises(LLMError, match=message):
        ask(make_llm(stub, None))
    assert len(stub.requests) == 1


def test_json_that_is_not_an_object_fails(stub: GeminiStub) -> None:
    stub.push(Reply([1, 2, 3]))
    with pytest.raises(LLMError, match="not an object"):
        ask(make_llm(stub, None))


def test_400_fails_at_once(stub: GeminiStub) -> None:
    stub.push(Status(400, "Invalid JSON payload received."))
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"HTTP 400 INVALID_ARGUMENT Invalid JSON payload.*after 1 attempt\)"):
        ask(make_llm(stub, None, max_retries=4))
    assert time.monotonic() - started < 1.0
    assert len(stub.requests) == 1


def test_cache_answers_identical_request_without_a_call(stub: GeminiStub, tmp_path: Path) -> None:
    stub.push(Reply(PLAN), Reply({"cuts": [], "title": "other"}))
    llm = make_llm(stub, tmp_path / "cache")
    first = ask(llm)
    second = ask(llm)
    assert len(stub.requests) == 1
    assert (second.data, second.cached, second.attempts) == (PLAN, True, 0)
    assert (second.tokens_in, second.tokens_out) == (first.tokens_in, first.tokens_out)
    assert (llm.usage.calls, llm.usage.cached_calls) == (1, 1)
    assert llm.usage.tokens_in == first.tokens_in  # a cache hit costs nothing

    # a fresh instance (a rerun of the rule) reads the same file
    again = make_llm(stub, tmp_path / "cache")
    assert ask(again).cached
    assert ask(again, PROMPT + " (edited)").data == {"cuts": [], "title": "other"}
    assert len(stub.requests) == 2


def test_cache_key_covers_what_shapes_the_answer() -> None:
    base = ("gemini-2.5-flash", 0.2, SYSTEM, PROMPT, SCHEMA)
    key = ResponseCache.key(*base)
    assert key == ResponseCache.key(*base)
    variants = [
        ("gemini-2.5-pro", 0.2, SYSTEM, PROMPT, SCHEMA),
        ("gemini-2.5-flash", 0.3, SYSTEM, PROMPT, SCHEMA),
        ("gemini-2.5-flash", 0.2, None, PROMPT, SCHEMA),
        ("gemini-2.5-flash", 0.2, SYSTEM, PROMPT + ".", SCHEMA),
        ("gemini-2.5-flash", 0.2, SYSTEM, PROMPT, {**SCHEMA, "required": ["cuts"]}),
    ]
    assert len({ResponseCache.key(*v) for v in variants} | {key}) == len(variants) + 1


def test_unreadable_cache_entry_is_a_miss(stub: GeminiStub, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    key = ResponseCache.key("gemini-2.5-flash", 0.2, SYSTEM, PROMPT, SCHEMA)
    (cache_dir / f"{key}.json").write_text("{truncated", encoding="utf-8")
    stub.push(Reply(PLAN))
    assert not ask(make_llm(stub, cache_dir)).cached
    assert json.loads((cache_dir / f"{key}.json").read_text())["data"] == PLAN


def test_planted_key_never_leaks(stub: GeminiStub, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and httpx's included
    cache_dir = tmp_path / "cache"
    stub.push(
        Status(429),
        Reply(PLAN),
        Status(403, f"API key {KEY} not valid. Please pass a valid API key."),  # a server that echoes it
        Reply(text="{not json"),
    )
    llm = make_llm(stub, cache_dir)
    ask(llm)
    ask(llm)  # cache hit
    errors = []
    for prompt in ("second", "third"):
        with pytest.raises(LLMError) as caught:
            ask(llm, prompt)
        errors.append(caught.value)

    assert "HTTP 403" in str(errors[0]) and "***" in str(errors[0])
    for error in errors:
        assert KEY not in "".join(traceback.format_exception(error))
    assert caplog.records and all(KEY not in record.getMessage() for record in caplog.records)
    assert KEY not in caplog.text
    assert all(KEY not in path.read_text() for path in cache_dir.rglob("*"))
    assert len(stub.requests) == 4
    for request in stub.requests:
        assert request.headers["x-goog-api-key"] == KEY
        others = {name: value for name, value in request.headers.items() if name != "x-goog-api-key"}
        assert KEY not in json.dumps(others) + request.path + request.raw.decode()


def test_missing_key_is_refused() -> None:
    with pytest.raises(LLMError, match="GEMINI_API_KEY"):
        GeminiLLM(DirectorConfig(), "  ", None)


def test_api_key_from_env() -> None:
    assert api_key_from_env({"GEMINI_API_KEY": "gem", "GOOGLE_API_KEY": "goo"}) == "gem"
    assert api_key_from_env({"GOOGLE_API_KEY": "goo"}) == "goo"
    assert api_key_from_env({"GEMINI_API_KEY": " ", "GOOGLE_API_KEY": "goo"}) == "goo"
    assert api_key_from_env({}) is None


def test_cost_is_tokens_times_price(stub: GeminiStub) -> None:
    stub.push(Reply(PLAN), Reply({"cuts": [], "title": "x"}))
    llm = make_llm(stub, None, price_in_per_million=0.30, price_out_per_million=2.50)
    first, second = ask(llm), ask(llm, "another prompt")
    tokens_in = first.tokens_in + second.tokens_in
    tokens_out = first.tokens_out + second.tokens_out
    expected = tokens_in * 0.30 / 1e6 + tokens_out * 2.50 / 1e6
    assert llm.usage.estimated_cost_usd == pytest.approx(expected)
    metrics = llm.usage.as_metrics()
    assert metrics["llm_calls"] == 2.0
    assert (metrics["llm_tokens_in"], metrics["llm_tokens_out"]) == (tokens_in, tokens_out)
    assert metrics["llm_cost_usd"] == pytest.approx(expected, abs=1e-6)


def test_usage_counts_cached_calls_apart() -> None:
    usage = LLMUsage(price_in_per_million=1.0, price_out_per_million=2.0)
    usage.record(LLMResponse({}, 1_000_000, 500_000, 2.0, cached=False, attempts=1))
    usage.record(LLMResponse({}, 1_000_000, 500_000, 0.0, cached=True, attempts=0))
    assert (usage.calls, usage.cached_calls) == (1, 1)
    assert usage.estimated_cost_usd == pytest.approx(2.0)
