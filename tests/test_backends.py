"""One registry shape for every choice between implementations, and no backend chosen anywhere else."""

from __future__ import annotations

import ast
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

from ave_core.analysis import CONTENT_PATHS
from ave_core.asr import RECOGNIZERS
from ave_core.backends import Backend, Backends, Choice, Registry, Unavailable, given
from ave_core.backgrounds import BACKGROUNDS
from ave_core.config import (
    AnalysisConfig,
    AsrConfig,
    DirectorConfig,
    ResearchConfig,
    ScenesConfig,
    ThumbnailsConfig,
)
from ave_core.director import PRESETS
from ave_core.errors import ConfigError
from ave_core.llm import LLMS
from ave_core.search import SEARCH_BACKENDS
from ave_core.vision import DETECTORS

REPO = Path(__file__).resolve().parents[1]

# every registry and the config field whose values it serves
REGISTRIES = [
    (LLMS, DirectorConfig, "backend"),
    (SEARCH_BACKENDS, ResearchConfig, "backend"),
    (BACKGROUNDS, ThumbnailsConfig, "backend"),
    (RECOGNIZERS, AsrConfig, "backend"),
    (DETECTORS, ScenesConfig, "detector"),
    (CONTENT_PATHS, AnalysisConfig, "content_type"),
    (PRESETS, AnalysisConfig, "content_type"),
]


def config_values(model: type, field: str) -> set[str]:
    return set(typing.get_args(model.model_fields[field].annotation))


@pytest.mark.parametrize(("registry", "model", "field"), REGISTRIES, ids=lambda v: getattr(v, "setting", ""))
def test_each_registry_serves_exactly_its_config_values(registry: Registry, model: type, field: str) -> None:
    values = config_values(model, field)
    if isinstance(registry, Backends):
        offline = {registry.offline} if registry.offline else set()
        assert values == {"auto", *registry.names, *offline}
        for backend in registry:
            assert backend.needs and backend.missing().startswith("no ")
    else:
        assert values == set(registry.names)
    with pytest.raises(ConfigError, match=f"unknown value 'nope' — use one of {registry.names[0]}"):
        registry["nope"]


@dataclass
class Thing:
    name: str


def missing_key(request: dict) -> Thing:
    raise Unavailable("the key was refused")


REMOTE = Backend(
    "remote", needs="a key", make=missing_key, available=lambda request: request.get("key", False)
)
LOCAL = Backend("local", needs="a local model", make=lambda request: Thing("local"), packages=("pkg",))
REGISTRY: Backends[dict, Thing] = Backends("thing.backend", [REMOTE, LOCAL], offline="none")


def test_auto_takes_the_first_that_runs_and_keeps_why_the_others_did_not() -> None:
    chosen = REGISTRY.choose("auto", {})
    assert chosen.backend == Thing("local") and chosen.wanted == "local" and chosen.fallback("x") is None
    assert REGISTRY.pick("auto", {}) is LOCAL and REGISTRY.pick("auto", {"key": True}) is REMOTE
    assert REGISTRY.choose("auto", {"key": True}).backend == Thing("local")  # made, refused, the next one


def test_a_wanted_backend_that_cannot_run_is_a_fallback_in_config_values() -> None:
    chosen = REGISTRY.choose("remote", {})
    assert chosen == Choice(None, "remote", "no a key")
    fallback = chosen.fallback(used="offline path")
    assert fallback is not None and (fallback.wanted, fallback.used, fallback.reason) == (
        "remote",
        "offline path",
        "no a key",
    )
    assert REGISTRY.choose("remote", {"key": True}).reason == "the key was refused"
    with pytest.raises(Unavailable, match="thing.backend is 'remote', but no a key"):
        REGISTRY.require("remote", {})


def test_the_offline_value_wants_nothing() -> None:
    chosen = REGISTRY.choose("none", {})
    assert chosen == Choice(None) and chosen.fallback(used="offline path") is None
    assert REGISTRY.wanted("none") is None and REGISTRY.wanted("auto") == "remote"
    assert REGISTRY.packages("local") == ("pkg",) and REGISTRY.packages("offline path") == ()
    assert given(Thing("x")) == Choice(Thing("x"), "x")


def backend_comparisons(path: Path) -> list[str]:
    """`x.backend == "..."`-style comparisons of a backend with a literal name in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        names = [s.attr if isinstance(s, ast.Attribute) else getattr(s, "id", "") for s in sides]
        literal = any(
            isinstance(n, ast.Constant) and isinstance(n.value, str) for s in sides for n in ast.walk(s)
        )
        if literal and any(name == "backend" or name.endswith("_backend") for name in names):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_backend_is_chosen_outside_a_registry() -> None:
    modules = [p for p in sorted((REPO / "ave_core").glob("*.py")) if p.name != "backends.py"]
    found = [hit for path in modules for hit in backend_comparisons(path)]
    found += [hit for path in sorted((REPO / "scripts").glob("*.py")) for hit in backend_comparisons(path)]
    assert found == [], "choose backends through ave_core.backends registries, not by comparing names"
