"""bench/ is a package run as `python -m bench.NAME`, and reads what it needs from the workflow itself."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bench.common import workflow_rules
from tests.test_envs import rule_blocks

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (REPO / "bench").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", MODULES)
def test_each_benchmark_imports_as_a_module_of_the_package(name: str) -> None:
    source = (REPO / "bench" / f"{name}.py").read_text(encoding="utf-8")
    assert "sys.path" not in source, f"bench/{name}.py edits sys.path: run it as python -m bench.{name}"
    importlib.import_module(f"bench.{name}")


def test_the_stage_order_is_the_workflows_own() -> None:
    order = workflow_rules()
    assert sorted(order) == sorted(rule for rule, _, _ in rule_blocks() if rule != "all")
    assert order.index("probe") < order.index("transcribe") < order.index("direct") < order.index("render")


def test_a_benchmark_replaces_its_own_section_and_nothing_else(tmp_path) -> None:
    from bench.common import replace_section

    markers = ("<!-- bench/x.py: begin -->", "<!-- bench/x.py: end -->")
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nintro\n")
    replace_section(doc, markers, f"{markers[0]}\nfirst\n{markers[1]}\n")
    assert doc.read_text() == f"# Benchmarks\n\nintro\n\n{markers[0]}\nfirst\n{markers[1]}\n"
    doc.write_text(doc.read_text() + "\n## after\n")
    replace_section(doc, markers, f"{markers[0]}\nsecond\n{markers[1]}")
    assert doc.read_text() == f"# Benchmarks\n\nintro\n\n{markers[0]}\nsecond\n{markers[1]}\n\n## after\n"
