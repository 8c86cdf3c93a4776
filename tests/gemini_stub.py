"""A local stand-in for the Gemini REST API, so the real google-genai client can be tested offline.

`GeminiStub` serves `POST /{api_version}/models/{model}:generateContent` on 127.0.0.1 from a background
thread and answers each request with the next scripted behaviour. It records every request (path, headers,
JSON body) so tests can check what the SDK sent. Token counts are measured from the text exchanged.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# what the SDK posts to (google-genai builds `{base_url}/{api_version}/models/{model}:generateContent`)
GENERATE_PATH = re.compile(r"^/(?P<version>v\w+)/models/(?P<model>[^/:]+):generateContent$")

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def count_tokens(text: str) -> int:
    """A token count measured from text length: one token per four characters, at least one."""
    return max(1, (len(text) + 3) // 4)


def prompt_text(body: dict[str, Any]) -> str:
    """All text the request asks the model to read: system instruction and contents."""
    parts: list[dict[str, Any]] = []
    system = body.get("systemInstruction") or body.get("system_instruction")
    if system:
        parts.extend(system.get("parts", []))
    for content in body.get("contents", []):
        parts.extend(content.get("parts", []))
    return "".join(str(part.get("text", "")) for part in parts)


@dataclass(frozen=True)
class Reply:
    """Answer 200 with `data` as the model's JSON text, or with `text` verbatim (e.g. malformed JSON)."""

    data: Any = None
    text: str | None = None
    delay_s: float = 0.0

    def model_text(self) -> str:
        return self.text if self.text is not None else json.dumps(self.data)


@dataclass(frozen=True)
class Status:
    """Answer with an HTTP error status and a Google-style error body."""

    code: int
    message: str = "scripted error"


@dataclass(frozen=True)
class Delay:
    """Send nothing for `seconds` (longer than the client's timeout), then answer with `then`."""

    seconds: float
    then: Reply = field(default_factory=lambda: Reply(data={"late": True}))


@dataclass(frozen=True)
class RawBody:
    """Answer `code` (200 by default) with this body verbatim: not a Gemini response (empty, HTML, junk)."""

    body: bytes = b""
    code: int = 200


@dataclass(frozen=True)
class Reset:
    """Announce a full body, send part of it, then reset the connection.

    `chunked` streams the body with chunked transfer encoding instead of a Content-Length, so that the
    reset comes in the middle of a stream with no announced end.
    """

    data: Any = field(default_factory=lambda: {"cut": "short"})
    chunked: bool = False


@dataclass(frozen=True)
class Drop:
    """Read the request, then reset the connection without sending a single byte of response."""


@dataclass(frozen=True)
class Trickle:
    """Answer 200 with a full answer, `chunk_bytes` at a time every `interval_s`: each read is quick,
    the whole body takes far longer than any timeout meant for one request."""

    reply: Reply = field(default_factory=lambda: Reply(data={"slow": True}))
    chunk_bytes: int = 16
    interval_s: float = 0.05


Behaviour = Reply | Status | Delay | RawBody | Reset | Drop | Trickle


@dataclass
class RecordedRequest:
    """One request as the stub received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    raw: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived, in time.monotonic() seconds


class GeminiStub:
    """A Gemini-compatible HTTP server on 127.0.0.1 with a finite script of behaviours, one per request.

    Requests beyond the script get a 400 naming the stub, so an unexpected request fails a test at once.
    Use as a context manager; `close()` stops the server and wakes any delayed handler.
    """

    def __init__(self, script: Iterable[Behaviour] = ()) -> None:
        self._script: deque[Behaviour] = deque(script)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.requests: list[RecordedRequest] = []
        self.unscripted = 0
        self.trickle_s: list[float] = []  # how long each Trickle kept sending
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def push(self, *behaviours: Behaviour) -> None:
        """Append behaviours to the script."""
        with self._lock:
            self._script.extend(behaviours)

    @property
    def pending(self) -> int:
        """Scripted behaviours not used yet."""
        with self._lock:
            return len(self._script)

    def close(self) -> None:
        """Stop serving, wake delayed handlers and release the port."""
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> GeminiStub:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _next(self, request: RecordedRequest) -> Behaviour | None:
        """Record a request and take its behaviour; None when the script is used up."""
        with self._lock:
            self.requests.append(request)
            if not self._script:
                self.unscripted += 1
                return None
            return self._script.popleft()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one small answer per request: no 40 ms delayed-ACK stalls

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean; requests are recorded instead

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = None
                request = RecordedRequest("POST", self.path, dict(self.headers.items()), body, raw)
                if not GENERATE_PATH.match(self.path.split("?", 1)[0]):
                    with stub._lock:
                        stub.requests.append(request)
                    self._error(404, f"stub serves only models/*:generateContent, not {self.path}")
                    return
                behaviour = stub._next(request)
                if behaviour is None:
                    self._error(400, "gemini stub: no scripted reply left")
                else:
                    self._perform(behaviour, body or {})

            def _perform(self, behaviour: Behaviour, body: dict[str, Any]) -> None:
                if isinstance(behaviour, Delay):
                    if stub._closing.wait(behaviour.seconds):
                        return
                    behaviour = behaviour.then
                if isinstance(behaviour, Reply):
                    if behaviour.delay_s and stub._closing.wait(behaviour.delay_s):
                        return
                    self._send(200, self._generate_body(behaviour.model_text(), body))
                elif isinstance(behaviour, Status):
                    self._error(behaviour.code, behaviour.message)
                elif isinstance(behaviour, RawBody):
                    self._send(behaviour.code, behaviour.body)
                elif isinstance(behaviour, Reset):
                    payload = self._generate_body(json.dumps(behaviour.data), body)
                    if behaviour.chunked:
                        self._reset_chunked(payload)
                    else:
                        self._reset(payload)
                elif isinstance(behaviour, Drop):
                    self._abort()
                elif isinstance(behaviour, Trickle):
                    self._trickle(self._generate_body(behaviour.reply.model_text(), body), behaviour)

            def _generate_body(self, text: str, request_body: dict[str, Any]) -> bytes:
                tokens_in = count_tokens(prompt_text(request_body))
                tokens_out = count_tokens(text)
                answer = {
                    "candidates": [
                        {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP"}
                    ],
                    "usageMetadata": {
                        "promptTokenCount": tokens_in,
                        "candidatesTokenCount": tokens_out,
                        "totalTokenCount": tokens_in + tokens_out,
                    },
                    "modelVersion": "gemini-stub",
                }
                return json.dumps(answer).encode()

            def _error(self, code: int, message: str) -> None:
                status = STATUS_NAMES.get(code, "UNKNOWN")
                error = {"error": {"code": code, "message": message, "status": status}}
                self._send(code, json.dumps(error).encode())

            def _send(self, code: int, payload: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _reset(self, payload: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self._abort()

            def _reset_chunked(self, payload: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                half = payload[: len(payload) // 2]
                for start in range(0, len(half), 64):
                    piece = half[start : start + 64]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()
                self._abort()

            def _abort(self) -> None:
                # SO_LINGER 0 makes close() send RST instead of FIN: a reset, wherever the answer was
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True

            def _trickle(self, payload: bytes, behaviour: Trickle) -> None:
                self.close_connection = True  # however it ends, this connection serves nothing more
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                # said, as a server that closes says it: else the client may send its next request on this
                # connection as it closes, and count a connection failure (seen under load in CI)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.flush()
                started = time.monotonic()
                try:
                    for start in range(0, len(payload), behaviour.chunk_bytes):
                        if stub._closing.wait(behaviour.interval_s):
                            return
                        self.wfile.write(payload[start : start + behaviour.chunk_bytes])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should
                finally:
                    with stub._lock:
                        stub.trickle_s.append(time.monotonic() - started)

        return Handler
