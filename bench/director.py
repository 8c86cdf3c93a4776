"""The Director on the demo talk: edit quality against its ground truth, and the Gemini path's cost.

    .venv/bin/python -m bench.director   (after `make demo`)

- Rule-based plan: share of known dead air removed, fillers and retakes cut, speech clipped, words kept.
- Gemini path against the local stand-in (tests/gemini_stub.py), which counts tokens from the real request
  and response text: calls, tokens and estimated cost per video, and the same again from the cache.
Writes bench/out/director.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from ave_core.backends import given
from ave_core.config import DirectorConfig
from ave_core.director import Context, direct, rule_based_plan
from ave_core.evaluation import covered, edit_scores
from ave_core.llm import GeminiLLM
from ave_core.models import Analysis, AudioAnalysis, MediaInfo, Scenes, Transcript, read_artifact
from ave_core.timemap import FrameGrid
from bench.common import OUT, REPO
from tests.gemini_stub import GeminiStub, Reply

DEMO = REPO / "examples" / "demo"


def load_context(results: Path) -> Context:
    media = read_artifact(results / "media.json", MediaInfo)
    return Context(
        duration=media.duration_s,
        audio=read_artifact(results / "audio.json", AudioAnalysis),
        transcript=read_artifact(results / "transcript.json", Transcript),
        analysis=read_artifact(results / "analysis.json", Analysis),
        scenes=read_artifact(results / "scenes.json", Scenes),
        grid=FrameGrid.of(media),
    )


def words_kept(ctx: Context, cuts: list[tuple[float, float]]) -> float:
    """Share of the recognised content words (not fillers, not in a retake) that no cut touches."""
    retakes = [(r.start, r.end) for r in ctx.transcript.retakes]
    content = [
        w
        for w in ctx.transcript.words
        if not w.is_filler and covered(w.start, w.end, retakes) < 0.5 * (w.end - w.start)
    ]
    return sum(covered(w.start, w.end, cuts) == 0 for w in content) / len(content)


def main() -> None:
    results = DEMO / "results" / "talk"
    if not (results / "scenes.json").exists():
        sys.exit("run `make demo` first: bench.director reads examples/demo/results/talk/")
    ctx = load_context(results)
    truth = json.loads((DEMO / "input" / "talk.truth.json").read_text())
    config = DirectorConfig()
    template = (REPO / "config" / "prompts" / "director.md").read_text()
    started = time.perf_counter()
    plan = rule_based_plan(ctx, config)
    rules_s = time.perf_counter() - started
    cuts = [(c.start, c.end) for c in plan.cuts]
    quality = {
        **edit_scores(cuts, truth),
        "words_kept": round(words_kept(ctx, cuts), 3),
        "plan_s": round(rules_s, 3),
    }

    answer = plan.model_dump(
        mode="json",
        include={"cuts", "emphasis", "broll", "transitions", "metadata_strategy", "thumbnail_concepts"},
    )
    with tempfile.TemporaryDirectory() as tmp, GeminiStub([Reply(data=answer)]) as stub:
        gemini_config = DirectorConfig(backend="gemini", base_url=stub.base_url)
        first = direct(ctx, gemini_config, template, given(GeminiLLM(gemini_config, "bench-key", Path(tmp))))
        again = direct(ctx, gemini_config, template, given(GeminiLLM(gemini_config, "bench-key", Path(tmp))))
        requests = len(stub.requests)
    gemini = {
        "backend": first.backend,
        "requests_to_server": requests,
        "first_run": {k: v for k, v in first.metrics.items() if k.startswith("llm_")},
        "cached_run": {k: v for k, v in again.metrics.items() if k.startswith("llm_")},
        "prompt_chars": len(template),
    }
    result = {"rules_on_demo_talk": quality, "gemini_per_video": gemini}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "director.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
