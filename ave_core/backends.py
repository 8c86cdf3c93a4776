"""One registry shape for every choice the config makes between implementations.

A `Registry` holds entries that name themselves (the config value that picks them), in order; asking for
an unknown value is a ConfigError naming the setting and the choices. External capabilities (speech
recognition, LLM, web search, image backgrounds) register `Backend`s, each saying what it needs to run
and which packages its artifacts record, and are chosen with `Backends.choose`: `auto` takes the first
that can run here, the `offline` value takes none (the stage's own offline path), and when the wanted
backend cannot run, the reason is kept for the artifact's fallback record, named by config values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from .errors import AveError, ConfigError
from .models import Fallback

AUTO = "auto"


class Named(Protocol):
    """A registry entry: `name` is the config value that picks it."""

    @property
    def name(self) -> str: ...


E = TypeVar("E", bound=Named)
R = TypeVar("R")  # what a backend is made from: the stage's settings
T = TypeVar("T")  # what it makes


class Unavailable(AveError):
    """A backend cannot run here (a package, a key or a file is missing); the message says what."""


class Registry(Generic[E]):
    """The entries `setting` chooses between, in order (the order `auto` tries them in)."""

    def __init__(self, setting: str, entries: Iterable[E]) -> None:
        self.setting = setting
        self.entries = tuple(entries)
        names = [entry.name for entry in self.entries]
        assert len(set(names)) == len(names), f"{setting}: two entries share a name: {names}"

    @property
    def names(self) -> list[str]:
        """The config values, in order."""
        return [entry.name for entry in self.entries]

    def __getitem__(self, name: str) -> E:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise ConfigError(f"{self.setting}: unknown value {name!r} — use one of {', '.join(self.names)}")

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[E]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _always(request: object) -> bool:
    return True


@dataclass(frozen=True)
class Backend(Generic[R, T]):
    """One implementation of an external capability.

    `name` is the config value and what artifacts record as the backend; `needs` says in a user's words
    what it needs to run ("GEMINI_API_KEY or GOOGLE_API_KEY in the environment"); `available` checks that
    cheaply, without building anything (no model loaded, no client made); `make` builds it from the
    stage's settings and may raise Unavailable; `packages` are the distributions artifacts record.
    """

    name: str
    needs: str
    make: Callable[[R], T]
    packages: tuple[str, ...] = ()
    available: Callable[[R], bool] = field(default=_always)

    def missing(self) -> str:
        """Why it cannot run, as an artifact's fallback reason says it ("no GEMINI_API_KEY or ...")."""
        return f"no {self.needs}"


@dataclass(frozen=True)
class Choice(Generic[T]):
    """A backend as the config chose it: the backend made, or None (the stage's offline path) with the
    reason when one was wanted. `wanted` is the backend's name, a config value."""

    backend: T | None
    wanted: str | None = None
    reason: str | None = None

    def fallback(self, used: str) -> Fallback | None:
        """The fallback record when a backend was wanted and not made, and `used` stood in for it."""
        if self.backend is not None or self.reason is None or self.wanted is None:
            return None
        return Fallback(wanted=self.wanted, used=used, reason=self.reason)


def given(backend: T) -> Choice[T]:
    """A choice already made: `backend` itself (tests and benchmarks hand a stage a particular backend)."""
    return Choice(backend, getattr(backend, "name", None))


class Backends(Registry[Backend[R, T]]):
    """A registry of external-capability backends; `offline` is the config value that asks for none."""

    def __init__(self, setting: str, entries: Iterable[Backend[R, T]], *, offline: str | None = None) -> None:
        super().__init__(setting, entries)
        self.offline = offline

    def candidates(self, value: str) -> list[Backend[R, T]]:
        """The backends a config value asks for, in the order they are tried (none for `offline`)."""
        if value == self.offline:
            return []
        return list(self.entries) if value == AUTO else [self[value]]

    def wanted(self, value: str) -> str | None:
        """The backend a config value asks for first: the name a fallback record gives as wanted."""
        tried = self.candidates(value)
        return tried[0].name if tried else None

    def pick(self, value: str, request: R) -> Backend[R, T] | None:
        """The backend `value` names, or under `auto` the first that can run, found without making it
        (None: none can run, or the offline value)."""
        tried = self.candidates(value)
        if value != AUTO:
            return tried[0] if tried else None
        return next((backend for backend in tried if backend.available(request)), None)

    def choose(self, value: str, request: R) -> Choice[T]:
        """Make the backend `value` asks for: `auto` the first that can run, `offline` none. When none is
        made although one was wanted, the choice keeps why (each backend's reason, in turn)."""
        reasons: list[str] = []
        tried = self.candidates(value)
        for backend in tried:
            if not backend.available(request):
                reasons.append(backend.missing())
                continue
            try:
                return Choice(backend.make(request), backend.name)
            except Unavailable as exc:
                reasons.append(str(exc))
        return Choice(None, tried[0].name if tried else None, "; ".join(reasons) or None)

    def require(self, value: str, request: R) -> T:
        """The backend `value` asks for; Unavailable saying why when none can run (no offline path)."""
        choice = self.choose(value, request)
        if choice.backend is None:
            raise Unavailable(f"{self.setting} is {value!r}, but {choice.reason}")
        return choice.backend

    def packages(self, name: str) -> tuple[str, ...]:
        """The packages the backend called `name` records; none for a name not registered here."""
        return self[name].packages if name in self else ()
