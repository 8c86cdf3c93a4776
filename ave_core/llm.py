"""Language models behind one small interface: ask for JSON that follows a schema, get it parsed back.

`GeminiLLM` is the real implementation (google-genai), registered in LLMS under the config value of
director.backend that picks it; `make_llm` chooses (`rules` asks for none: the stages' own offline path).
Answers are cached on disk by a hash of everything
that shapes them, retried with exponential backoff on 429, 5xx, timeouts and dropped connections, and
metered (tokens, latency, estimated cost). The API key comes from the environment only and never
reaches a log line, an exception message or the cache.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel

from .backends import Backend, Backends, Choice, Unavailable
from .config import DirectorConfig
from .deadline import Late, call_within
from .errors import AveError
from .models import Model, write_artifact
from .text import one_line

if TYPE_CHECKING:
    from google import genai
    from google.genai import types

log = logging.getLogger("ave.llm")

API_KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
CACHE_FORMAT = 1
MAX_REASON_CHARS = 200
# far above what a model writes in one answer (Gemini 2.5 stops at 65,536 output tokens, about 260 k
# characters): a bigger body is no plan, and is refused before it is parsed, validated or cached
MAX_ANSWER_CHARS = 2_000_000


M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


class LLMError(AveError):
    """A language model call failed; the message is one line and never holds the API key."""


class AnswerDeadline(TimeoutError):
    """One request got no complete answer within its timeout (a server trickling its body, say)."""


@dataclass
class LLMResponse:
    """A parsed JSON answer and what it cost; a cache hit reports the original call's tokens."""

    data: dict[str, Any]
    tokens_in: int
    tokens_out: int
    latency_s: float
    cached: bool
    attempts: int


@dataclass
class LLMUsage:
    """Running totals over calls; `calls` counts requests answered by the API, `cached_calls` the cache."""

    price_in_per_million: float = 0.0
    price_out_per_million: float = 0.0
    calls: int = 0
    cached_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    estimated_cost_usd: float = 0.0

    def record(self, response: LLMResponse) -> None:
        """Add one response; cache hits cost nothing."""
        if response.cached:
            self.cached_calls += 1
            return
        self.calls += 1
        self.tokens_in += response.tokens_in
        self.tokens_out += response.tokens_out
        self.latency_s += response.latency_s
        self.estimated_cost_usd += (
            response.tokens_in * self.price_in_per_million + response.tokens_out * self.price_out_per_million
        ) / 1e6

    def as_metrics(self) -> dict[str, float]:
        """The totals as flat plan/context metrics."""
        return {
            "llm_calls": float(self.calls),
            "llm_cached_calls": float(self.cached_calls),
            "llm_tokens_in": float(self.tokens_in),
            "llm_tokens_out": float(self.tokens_out),
            "llm_latency_s": round(self.latency_s, 3),
            "llm_cost_usd": round(self.estimated_cost_usd, 6),
        }


class LLM(Protocol):
    """A model that answers a prompt with a JSON object following `schema` (a JSON Schema dict)."""

    name: str
    usage: LLMUsage

    def generate_json(self, prompt: str, schema: dict[str, Any], *, system: str | None = None) -> LLMResponse:
        """Ask once (retries and cache included) and return the parsed object."""
        ...


def api_key_from_env(environ: Mapping[str, str] = os.environ) -> str | None:
    """The Gemini API key: GEMINI_API_KEY, else GOOGLE_API_KEY, else None (blank counts as unset)."""
    for name in API_KEY_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


class CachedAnswer(Model):
    """One cached LLM answer (cache/llm/HASH.json) and what it cost."""

    format: int = CACHE_FORMAT
    model: str
    tokens_in: int
    tokens_out: int
    data: dict[str, Any]


class ResponseCache:
    """JSON answers on disk, one file per request hash, written atomically."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @staticmethod
    def key(model: str, temperature: float, system: str | None, prompt: str, schema: dict[str, Any]) -> str:
        """sha256 of everything that shapes the answer (never the API key)."""
        request = {
            "model": model,
            "temperature": temperature,
            "system": system,
            "prompt": prompt,
            "schema": schema,
        }
        text = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        """The file that holds the answer for `key`."""
        return self.folder / f"{key}.json"

    def get(self, key: str) -> CachedAnswer | None:
        """The answer stored for `key`, or None; an unreadable entry is a miss, and is overwritten later."""
        path = self.path(key)
        try:
            return CachedAnswer.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            log.warning(
                "%s: unreadable LLM cache entry (%s), asking the model again", path, type(exc).__name__
            )
            return None

    def put(self, key: str, model: str, data: dict[str, Any], tokens_in: int, tokens_out: int) -> None:
        """Store an answer and what it cost; the request itself is not stored, only its hash."""
        entry = CachedAnswer(model=model, tokens_in=tokens_in, tokens_out=tokens_out, data=data)
        # shared: two jobs asking the same question at once both write this entry
        write_artifact(self.path(key), entry, shared=True)


@functools.cache
def transient_errors() -> tuple[type[BaseException], ...]:
    """Transport errors worth a retry: timeouts, refused or reset connections, bodies cut short."""
    found: list[type[BaseException]] = [TimeoutError, ConnectionError]
    for module_name in ("httpx2", "httpx"):  # google-genai 3.x uses httpx2; older releases httpx
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found += [module.TimeoutException, module.NetworkError, module.RemoteProtocolError]
    return tuple(found)


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx and transport failures are worth another attempt; other 4xx and bad answers are not."""
    code = getattr(exc, "code", None)
    if isinstance(code, int) and _is_api_error(exc):
        return code == 429 or 500 <= code < 600
    return isinstance(exc, transient_errors())


def _is_api_error(exc: BaseException) -> bool:
    try:
        from google.genai import errors
    except ImportError:
        return False
    return isinstance(exc, errors.APIError)


def scrub(text: str, secret: str) -> str:
    """One short line of `text` with `secret` blanked out."""
    if secret:
        text = text.replace(secret, "***")
    return one_line(text, MAX_REASON_CHARS, ellipsis="...")


def describe_failure(exc: BaseException, secret: str) -> str:
    """A short reason for a failed request: status code and message, or the transport error's kind."""
    if _is_api_error(exc):
        status = getattr(exc, "status", None) or ""
        message = getattr(exc, "message", None) or ""
        return scrub(f"HTTP {getattr(exc, 'code', '?')} {status} {message}", secret)
    if isinstance(exc, AnswerDeadline):
        return scrub(str(exc), secret)
    if isinstance(exc, transient_errors()):
        kind = "timed out" if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__ else "failed"
        return scrub(f"connection {kind} ({type(exc).__name__})", secret)
    if isinstance(exc, json.JSONDecodeError):
        return scrub(f"the answer is not JSON at all ({exc.msg})", secret)
    return scrub(f"{type(exc).__name__}: {exc}", secret)


class DeadlineClient:
    """A google-genai client whose requests are each abandoned after `deadline_s` seconds in all.

    The SDK's timeout bounds each network read, not the request: a server sending a few bytes at a time
    would hold the call for as long as it likes. Each request runs in a daemon thread instead; when it is
    late, its client is closed (which ends the read) and a fresh one from `make_client` serves the next.
    """

    def __init__(
        self,
        make_client: Callable[[], Any],
        deadline_s: float,
        *,
        client: Any = None,
        name: str = "ave-genai",
    ) -> None:
        self.make_client = make_client
        self.deadline_s = deadline_s
        self.client = client if client is not None else make_client()
        self.name = name  # of the request threads

    def call(self, request: Callable[[Any], R]) -> R:
        """`request(client)`'s answer or exception; AnswerDeadline when it has none within the deadline."""
        client = self.client
        try:
            return call_within(lambda: request(client), self.deadline_s, self.name)
        except Late:
            self.client = self.make_client()
            try:
                client.close()
            except Exception as exc:  # the late request is abandoned either way
                log.debug("closing the late client failed: %s", type(exc).__name__)
            raise AnswerDeadline(
                f"connection timed out (no complete answer within {self.deadline_s:g} s)"
            ) from None


class GeminiLLM:
    """Gemini through google-genai, with structured JSON output, our own retry policy and a disk cache.

    `backoff_s` is the first retry's wait in seconds (doubling after each attempt, plus up to as much
    jitter, at most `max_backoff_s`); `cache_dir` None disables the cache. Each request is abandoned after
    `config.timeout_s` whatever the server does, so one call takes at most (max_retries + 1) x timeout_s
    plus max_retries x max_backoff_s.
    """

    name = "gemini"

    def __init__(
        self,
        config: DirectorConfig,
        api_key: str,
        cache_dir: Path | None,
        *,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        if not api_key or not api_key.strip():
            raise LLMError("Gemini: no API key — set GEMINI_API_KEY or GOOGLE_API_KEY in the environment")
        self.config = config
        self.model = config.model
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.cache = ResponseCache(cache_dir) if cache_dir is not None else None
        self.usage = LLMUsage(config.price_in_per_million, config.price_out_per_million)
        self._api_key = api_key.strip()
        self._requests = DeadlineClient(self._make_client, config.timeout_s, name="ave-gemini")

    def _make_client(self) -> genai.Client:
        try:
            from google import genai
            from google.genai import types
        except ImportError as exc:
            raise LLMError(
                "Gemini: google-genai is not installed — pip install google-genai, "
                "or set director.backend: rules"
            ) from exc
        http_options = types.HttpOptions(
            base_url=self.config.base_url or None,
            timeout=max(1, round(self.config.timeout_s * 1000)),  # the SDK wants milliseconds
            # one attempt per SDK call, so that our retry policy is the only one (and its count is exact)
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        try:
            # vertexai=False (accepted by 1.x and 3.x; 3.x also calls it `enterprise`): environment
            # variables such as GOOGLE_GENAI_USE_VERTEXAI must not switch us to Vertex AI behind our back
            return genai.Client(api_key=self._api_key, vertexai=False, http_options=http_options)
        except Exception as exc:
            raise LLMError(f"Gemini: cannot create the client: {scrub(str(exc), self._api_key)}") from None

    def generate_json(self, prompt: str, schema: dict[str, Any], *, system: str | None = None) -> LLMResponse:
        """Ask for a JSON object following `schema`; from the cache when the same request was answered."""
        key = ResponseCache.key(self.model, self.config.temperature, system, prompt, schema)
        response = self._from_cache(key) or self._from_api(key, prompt, schema, system)
        self.usage.record(response)
        return response

    def _from_cache(self, key: str) -> LLMResponse | None:
        started = time.monotonic()
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is None:
            return None
        log.info(
            "%s: cache hit %s (%d tokens in, %d out, no request)",
            self.model,
            key[:12],
            hit.tokens_in,
            hit.tokens_out,
        )
        elapsed_s = time.monotonic() - started
        return LLMResponse(hit.data, hit.tokens_in, hit.tokens_out, elapsed_s, cached=True, attempts=0)

    def _from_api(self, key: str, prompt: str, schema: dict[str, Any], system: str | None) -> LLMResponse:
        started = time.monotonic()
        answer, attempts = self._call_with_retries(self._request_config(schema, system), prompt)
        latency_s = time.monotonic() - started
        data = self._parse(answer)
        tokens_in, tokens_out = token_counts(answer)
        log.info(
            "%s: %d tokens in, %d out, %.2f s, attempt %d",
            self.model,
            tokens_in,
            tokens_out,
            latency_s,
            attempts,
        )
        if self.cache is not None:
            self.cache.put(key, self.model, data, tokens_in, tokens_out)
        return LLMResponse(data, tokens_in, tokens_out, latency_s, cached=False, attempts=attempts)

    def _request_config(self, schema: dict[str, Any], system: str | None) -> types.GenerateContentConfig:
        from google.genai import types

        return types.GenerateContentConfig(
            system_instruction=system,
            temperature=self.config.temperature,
            response_mime_type="application/json",
            # a plain JSON Schema dict is sent verbatim as responseJsonSchema (response_schema would
            # convert it to the SDK's own Schema type and drop what that type lacks)
            response_json_schema=schema,
            # no tools are given; disabling AFC keeps it to exactly one HTTP request per attempt
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )

    def _call_with_retries(
        self, request_config: types.GenerateContentConfig, prompt: str
    ) -> tuple[types.GenerateContentResponse, int]:
        import tenacity

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.config.max_retries + 1),
            wait=tenacity.wait_exponential_jitter(
                initial=self.backoff_s, max=self.max_backoff_s, jitter=self.backoff_s
            ),
            retry=tenacity.retry_if_exception(is_retryable),
            before_sleep=self._log_retry,
            reraise=True,
        )
        answer: types.GenerateContentResponse | None = None
        attempt_number = 0
        try:
            for attempt in retrying:
                attempt_number = attempt.retry_state.attempt_number
                with attempt:
                    answer = self._requests.call(
                        lambda client: client.models.generate_content(
                            model=self.model, contents=prompt, config=request_config
                        )
                    )
        except Exception as exc:
            tries = f"after {attempt_number} attempt{'s' if attempt_number != 1 else ''}"
            # from None: the SDK's exception text may quote request details; ours is enough
            raise LLMError(f"Gemini {self.model}: {describe_failure(exc, self._api_key)} ({tries})") from None
        assert answer is not None  # the loop either returned an answer or raised
        return answer, attempt_number

    def _log_retry(self, state: Any) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait_s = state.next_action.sleep if state.next_action is not None else 0.0
        reason = describe_failure(exc, self._api_key) if exc is not None else "no answer"
        log.warning(
            "%s: attempt %d failed (%s), retrying in %.2f s", self.model, state.attempt_number, reason, wait_s
        )

    def _parse(self, answer: types.GenerateContentResponse) -> dict[str, Any]:
        text = answer.text
        finish = _finish_reason(answer)
        if not text:
            raise LLMError(f"Gemini {self.model}: returned no text (finish reason {finish})")
        if len(text) > MAX_ANSWER_CHARS:
            raise LLMError(
                f"Gemini {self.model}: returned {len(text) / 1e6:.1f} M characters, more than any answer "
                f"to this request can need ({MAX_ANSWER_CHARS / 1e6:g} M) — refused"
            )
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LLMError(
                f"Gemini {self.model}: returned malformed JSON ({exc.msg} at character {exc.pos}, "
                f"finish reason {finish})"
            ) from None
        if not isinstance(data, dict):
            raise LLMError(f"Gemini {self.model}: returned JSON {type(data).__name__}, not an object")
        return data


def token_counts(answer: types.GenerateContentResponse) -> tuple[int, int]:
    """(input, output) tokens as the API reports them; thinking tokens are billed as output."""
    usage = answer.usage_metadata
    if usage is None:
        return 0, 0
    tokens_out = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
    return usage.prompt_token_count or 0, tokens_out


def _finish_reason(answer: types.GenerateContentResponse) -> str:
    candidates = answer.candidates or []
    reason = candidates[0].finish_reason if candidates else None
    return getattr(reason, "value", None) or str(reason or "none")


def generate_model(llm: LLM, prompt: str, model: type[M], schema: dict[str, Any], system: str) -> M:
    """The LLM's answer validated as `model`; a failed call or an answer off the schema is an LLMError."""
    from pydantic import ValidationError

    response = llm.generate_json(prompt, schema, system=system)
    try:
        return model.model_validate(response.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LLMError(f"the LLM's answer does not match the schema ({where}: {first['msg']})") from None


# --- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LLMRequest:
    """What an LLM backend is made from: the director section and the answers' cache folder."""

    config: DirectorConfig
    cache_dir: Path | None


def _has_key(request: LLMRequest) -> bool:
    return api_key_from_env() is not None


def _gemini(request: LLMRequest) -> GeminiLLM:
    key = api_key_from_env()
    if key is None:
        raise Unavailable(LLMS["gemini"].missing())
    try:
        return GeminiLLM(request.config, key, request.cache_dir)
    except LLMError as exc:
        raise Unavailable(str(exc)) from None


LLMS: Backends[LLMRequest, LLM] = Backends(
    "director.backend",
    [
        Backend(
            "gemini",
            needs="GEMINI_API_KEY or GOOGLE_API_KEY in the environment",
            make=_gemini,
            packages=("google-genai", "tenacity"),
            available=_has_key,
        )
    ],
    offline="rules",
)


def make_llm(config: DirectorConfig, project_dir: Path) -> Choice[LLM]:
    """The LLM director.backend asks for (its answers cached under the project), or none with the reason."""
    return LLMS.choose(config.backend, LLMRequest(config, project_dir / config.cache_dir))
