"""A real browser for the tests: headless Chromium from Debian's packages, driven over the DevTools protocol
through a pipe (--remote-debugging-pipe: JSON messages ended by NUL on file descriptors 3 and 4), so no
WebSocket client or browser-automation package is needed."""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--mute-audio",
    "--remote-debugging-pipe",
]
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}

# every <video>/<audio> of the page once it has its metadata or an error (or after `timeout_ms`)
MEDIA_STATES = """
new Promise(done => {
  const media = [...document.querySelectorAll('video,audio')];
  const settle = m => new Promise(ok => {
    if (m.readyState >= 1 || m.error) return ok();
    m.addEventListener('loadedmetadata', ok, {once: true});
    m.addEventListener('error', ok, {once: true});
    m.load();
  });
  const report = () => done(media.map(m => ({
    ready: m.readyState, duration: m.duration, error: m.error ? m.error.code : null,
    width: m.videoWidth || 0, entry: m.closest('li') ? m.closest('li').id : null,
    scheme: (m.currentSrc || m.src).split(':')[0]})));
  Promise.race([Promise.all(media.map(settle)), new Promise(ok => setTimeout(ok, %d))]).then(report);
})
"""


def chromium_binary() -> str:
    """Debian's chromium; the tests fail (not skip) without it: `make test` installs it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium not found: run `make test`, which installs it (apt-get install chromium)")
    return found


class Browser:
    """One headless Chromium with one page, over the DevTools pipe."""

    def __init__(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="ave-chromium-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        log = Path(self._profile.name) / "chromium.log"
        args = [chromium_binary(), *FLAGS, f"--user-data-dir={self._profile.name}/profile", "about:blank"]
        self._pid = os.posix_spawn(
            args[0],
            args,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, to_browser_read, 3),
                (os.POSIX_SPAWN_DUP2, from_browser_write, 4),
                (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)

    def _send(self, method: str, params: dict[str, Any] | None, session: bool) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: bool = False, timeout_s: float = 60
    ) -> dict[str, Any]:
        """Send a DevTools command and return its result (events meanwhile are dropped)."""
        sent = self._send(method, params, session)
        deadline = time.monotonic() + timeout_s
        while True:
            message = self._receive(deadline)
            if message.get("id") == sent:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def open(self, path: Path, device: dict[str, Any] | None = None, timeout_s: float = 60) -> None:
        """Load a local page (at a phone's size by default) and wait for its load event."""
        self.call("Emulation.setDeviceMetricsOverride", device or PHONE, session=True)
        self._send("Page.navigate", {"url": path.resolve().as_uri()}, True)
        deadline = time.monotonic() + timeout_s
        while self._receive(deadline).get("method") != "Page.loadEventFired":
            continue  # other events before the load: read on (_receive raises at the deadline)

    def evaluate(self, expression: str, timeout_s: float = 60) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=True,
            timeout_s=timeout_s,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"].get("text", "script error"))
        return result["result"].get("value")

    def media_states(self, timeout_ms: int = 20000) -> list[dict[str, Any]]:
        """readyState, duration and error of every player once it loaded its metadata."""
        return self.evaluate(MEDIA_STATES % timeout_ms, timeout_s=timeout_ms / 1000 + 30)

    def screenshot(self, out: Path, full_page: bool = True) -> Path:
        """A PNG of the page (all of it by default)."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 6000), "scale": 1}
        data = self.call("Page.captureScreenshot", params, session=True)["data"]
        out.write_bytes(base64.b64decode(data))
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout_s=10)
        except (TimeoutError, EOFError, RuntimeError, OSError):
            os.kill(self._pid, 9)
        os.waitpid(self._pid, 0)
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
