"""The workflow end to end on generated media: a batch, reruns on change, config errors from --config."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
import yaml

from ave_core.evaluation import edit_scores
from ave_core.media import probe
from ave_core.synth import Truth
from tests.workflow.conftest import planned_jobs, run_workflow

pytestmark = pytest.mark.workflow

# a dry run cannot see render_chunk, nor short_render: they follow the `direct` and `shorts_select`
# checkpoints
OUTPUTS = {
    "broll",
    "render_audio",
    "render",
    "export_audio",
    "captions",
    "timeline",
    "thumbnails",
    "metadata",
    "report_pages",
    "review",
    "shorts_select",
    "shorts",
}
STAGES = {
    "probe",
    "extract_audio",
    "enhance",
    "audio",
    "transcribe",
    "scenes",
    "analyze",
    "research",
    "direct",
    "context",
}
STAGES |= OUTPUTS
AFTER_TRANSCRIPT = {"transcribe", "analyze", "research", "direct", "context"} | OUTPUTS
AFTER_AUDIO = {"audio"} | AFTER_TRANSCRIPT


def test_good_videos_finish_with_every_artifact(batch) -> None:
    project, proc = batch
    results = project / "results" / "lecon-1-draft"
    for name in (
        "media.json",
        "audio.json",
        "transcript.json",
        "scenes.json",
        "analysis.json",
        "context.json",
    ):
        assert (results / name).is_file(), proc.stdout + proc.stderr
    media = json.loads((results / "media.json").read_text())
    assert media["source"]["original_name"] == "Leçon 1 (draft).MP4"
    assert media["source"]["path"] == "input/Leçon 1 (draft).MP4"
    context = json.loads((results / "context.json").read_text())
    assert set(context["artifacts"]) == {
        "media", "audio", "transcript", "scenes", "analysis", "research", "plan", "broll", "render",
        "thumbnails", "metadata", "shorts",
    }  # fmt: skip
    assert set(context["files"]) == {"video", "captions", "timeline", "report"}
    # final.m4a is made from final.mp4, and the review page reads it, after the context: neither is among
    # the context's figures
    assert {s["rule"] for s in context["stages"]} == STAGES - {"context", "export_audio", "review"}
    assert (results / "final.m4a").is_file()
    render = context["content"]["render"]
    assert render["duration_s"] == render["expected_duration_s"] and render["max_offset_s"] <= 1 / 25
    assert len(list((results / "thumbnails").glob("thumb-*.png"))) == 3
    assert (results / "captions.srt").read_text().strip() and (results / "report" / "timeline.png").is_file()
    assert (results / "edit.md").is_file() and (results / "report" / "review.html").is_file()
    assert context["content"]["audio"]["speech"], "no speech found in a clip full of speech"
    transcript = context["content"]["transcript"]
    assert transcript["backend"] == "faster-whisper" and "thermostat" in transcript["text"].lower()
    assert [w["word"] for w in transcript["words"] if w["is_filler"]], "no filler kept"
    shots = context["content"]["scenes"]["shots"]
    assert len(shots) == 3 and all((results / s["keyframe"]).is_file() for s in shots)
    assert context["content"]["analysis"]["concepts"]


def test_a_short_is_cut_rendered_and_checked_through_the_workflow(batch) -> None:
    project, proc = batch
    results = project / "results" / "lecon-1-draft"
    shorts = json.loads((results / "shorts" / "shorts.json").read_text())
    assert shorts["skip_reason"] is None and len(shorts["shorts"]) == 1, proc.stdout + proc.stderr
    (short,) = shorts["shorts"]
    assert (short["path"], shorts["width"], shorts["height"]) == ("shorts/short-1.mp4", 1080, 1920)
    clip = probe(results / short["path"], slug="short")
    assert (clip.video.display_width, clip.video.display_height) == (1080, 1920) and clip.has_audio
    render = short["render"]
    assert render["duration_s"] == render["expected_duration_s"]
    assert abs(render["duration_s"] - (short["end"] - short["start"])) < 1e-3
    assert abs(render["loudness_lufs"] - (-14)) <= 1 and render["max_offset_s"] <= 1 / 25
    assert 5 <= short["end"] - short["start"] <= 60 and short["hook_kinds"] and short["words"]
    # testsrc pictures have no face: the configured fallback, said in shorts.json
    assert short["crop"]["mode"] == "letterbox" and "a face in 0% of the frames" in short["crop"]["reason"]
    assert "GEMINI_API_KEY" in shorts["producer"]["fallback"]["reason"]
    assert (project / "logs" / "lecon-1-draft" / "short_render-1.log").is_file()


def test_a_video_shorter_than_min_s_gets_no_short_but_the_reason(finished_talk: Path) -> None:
    shorts = json.loads((finished_talk / "results" / "talk" / "shorts" / "shorts.json").read_text())
    assert shorts["shorts"] == [] and "shorter than shorts.min_s (20 s)" in shorts["skip_reason"]
    assert not list((finished_talk / "results" / "talk" / "shorts").glob("*.mp4"))


def test_the_plan_cuts_known_dead_air_and_fillers_but_no_speech(batch, talk: tuple[Path, Truth]) -> None:
    project, _ = batch
    plan = json.loads((project / "results" / "lecon-1-draft" / "plan.json").read_text())
    assert plan["backend"] == "rules"
    assert "GEMINI_API_KEY" in plan["producer"]["fallback"]["reason"]  # offline: says which fallback
    scores = edit_scores([(c["start"], c["end"]) for c in plan["cuts"]], json.loads(talk[1].to_json()))
    assert scores["utterances_clipped"] == 0 and scores["speech_clipped_ms"] == 0
    assert scores["dead_air_removed"] >= 0.9 and scores["fillers_cut"] >= 0.5
    for rule in STAGES:
        name = "export_audio-m4a" if rule == "export_audio" else rule  # one export per format
        assert (project / "logs" / "lecon-1-draft" / f"{name}.log").is_file()
        assert (project / "benchmarks" / "lecon-1-draft" / f"{name}.tsv").is_file()


def test_video_without_audio_is_skipped_with_reason(batch) -> None:
    project, _ = batch
    context = json.loads((project / "results" / "no-audio" / "context.json").read_text())
    assert context["content"]["audio"]["has_audio"] is False
    assert context["content"]["transcript"]["words"] == []
    assert context["content"]["scenes"]["shots"], "scenes must not depend on sound"
    skips = {e["stage"]: e["message"] for e in context["history"] if e["kind"] == "skip"}
    assert {"audio", "transcribe", "analyze"} <= set(skips)
    assert all("no audio track" in message for message in skips.values())


def test_research_falls_back_offline_and_says_so(finished_talk: Path) -> None:
    research = json.loads((finished_talk / "results" / "talk" / "research.json").read_text())
    assert research["keywords"] and research["producer"]["fallback"]["used"] == "transcript"


def test_no_change_plans_nothing(finished_talk: Path) -> None:
    assert planned_jobs(finished_talk) == set()


def test_vad_change_plans_audio_and_after_but_not_probe(finished_talk: Path) -> None:
    planned = planned_jobs(finished_talk, "--config", "vad={threshold: 0.6}")
    assert planned == {(rule, "talk") for rule in AFTER_AUDIO}


def test_asr_change_plans_transcript_and_after_only(finished_talk: Path) -> None:
    planned = planned_jobs(finished_talk, "--config", "asr={beam_size: 2}")
    assert planned == {(rule, "talk") for rule in AFTER_TRANSCRIPT}


def test_scenes_change_plans_only_scenes_and_what_reads_them(finished_talk: Path) -> None:
    planned = planned_jobs(finished_talk, "--config", "scenes={face_sample_hz: 1}")
    assert planned == {(rule, "talk") for rule in {"scenes", "direct", "context"} | OUTPUTS}


def test_director_change_plans_only_the_plan(finished_talk: Path) -> None:
    planned = planned_jobs(finished_talk, "--config", "director={margin_s: 0.2}")
    assert planned == {(rule, "talk") for rule in {"direct", "context"} | OUTPUTS}


@pytest.mark.parametrize(
    "override", ["character={primary_color: '#aa3355', size: 0.5}", "broll={character: movis}"]
)
def test_character_change_plans_broll_and_render_only(finished_talk: Path, override: str) -> None:
    """The presenter's look or renderer: broll and the render (its chunks, now that the plan is known, and
    the join), and the two that read broll.json: the report's contact sheet shows the character clips, the
    context embeds broll.json; and the two that read the new final.mp4 (final.m4a, the review page). Nothing
    upstream (the plan stays), nor the edit's sound (render_audio), captions, timeline or metadata."""
    planned = planned_jobs(finished_talk, "--config", override)
    assert {rule for rule, _ in planned} == {
        "broll", "render_chunk", "render", "report_pages", "context", "export_audio", "review",
    }  # fmt: skip


def test_research_change_plans_only_research(finished_talk: Path) -> None:
    planned = planned_jobs(finished_talk, "--config", "research={max_queries: 2}")
    assert planned == {
        ("research", "talk"),
        ("metadata", "talk"),
        ("context", "talk"),
        ("report_pages", "talk"),
    }


def test_captions_added_later_rerun_the_transcript(finished_talk: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(finished_talk, project)
    (project / "input" / "talk.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nToday we look.\n")
    assert planned_jobs(project) == {(rule, "talk") for rule in AFTER_TRANSCRIPT}


def test_same_values_written_differently_plan_nothing(finished_talk: Path) -> None:
    assert planned_jobs(finished_talk, "--config", "audio={envelope_hz: 10}") == set()


def test_shorts_change_plans_only_the_shorts_rules(finished_talk: Path) -> None:
    planned = planned_jobs(finished_talk, "--config", "shorts={min_s: 10}")
    assert planned == {("shorts_select", "talk"), ("shorts", "talk"), ("context", "talk")}
    # how a short looks is the renders' business: the talk has no short to render again
    assert planned_jobs(finished_talk, "--config", "shorts={caption_style: phrases, crf: 30}") == set()


def test_shorts_count_zero_turns_the_stage_off_and_touches_nothing_else(finished_talk: Path) -> None:
    # only the context changes: it no longer lists shorts.json
    assert planned_jobs(finished_talk, "--config", "shorts={count: 0}") == {("context", "talk")}


def test_downstream_section_change_plans_nothing_upstream(finished_talk: Path) -> None:
    assert planned_jobs(finished_talk, "--config", "context={embed_artifacts: false}") == {
        ("context", "talk")
    }


def test_project_config_deep_merges_over_defaults(finished_talk: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(finished_talk, project)
    (project / "config.yaml").write_text(yaml.safe_dump({"probe": {"vfr_tolerance": 0.2}}))
    assert planned_jobs(project) == {(rule, "talk") for rule in STAGES}
    (project / "config.yaml").write_text(yaml.safe_dump({"vad": {"min_silence_ms": 400}}))
    assert planned_jobs(project) == {(rule, "talk") for rule in AFTER_AUDIO}


def test_new_video_plans_only_its_own_jobs(finished_talk: Path, tmp_path: Path, silent_video: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(finished_talk, project)
    shutil.copyfile(silent_video, project / "input" / "second take.webm")
    assert planned_jobs(project) == {(rule, "second-take") for rule in STAGES}


def secret_forms(secret: str) -> list[bytes]:
    """`secret` as bytes and as it reads inside base64 at each of the three alignments (standard and URL-safe
    alphabets), which is how a report embeds files and Snakemake names its metadata."""
    raw = secret.encode()
    forms = [raw]
    for offset in range(3):
        data = b"\0" * offset + raw
        start, end = (offset + 2) // 3 * 4, len(data) // 3 * 4  # only the groups made of the secret alone
        forms += [base64.b64encode(data)[start:end], base64.urlsafe_b64encode(data)[start:end]]
    return forms


def files_holding(folder: Path, secret: str) -> list[str]:
    forms = secret_forms(secret)
    return [
        str(path.relative_to(folder))
        for path in sorted(folder.rglob("*"))
        if path.is_file() and any(form in path.read_bytes() for form in forms)
    ]


def test_planted_keys_are_used_but_never_written(finished_talk: Path, tmp_path: Path, monkeypatch) -> None:
    from tests.gemini_stub import GeminiStub, Reply, Status
    from tests.test_director import proposal

    key, other_key = "AIza-PLANTED-workflow-key-0042", "AIza-PLANTED-google-key-0043"
    project = tmp_path / "project"
    shutil.copytree(finished_talk, project)
    monkeypatch.setenv("GEMINI_API_KEY", key)
    monkeypatch.setenv("GOOGLE_API_KEY", other_key)  # the second name: read only when the first is unset
    echo = f"API key {key} not valid"  # a server that repeats the key back
    # the director: a 429, then a plan (answered, and cached); metadata: refused. Thumbnails: refused.
    director_script = [Status(429, f"Quota exceeded for {key}"), Reply(data=proposal([])), Status(403, echo)]
    with GeminiStub(director_script) as director, GeminiStub([Status(403, echo)] * 6) as images:
        override = [
            "--config",
            f"director={{base_url: '{director.base_url}', max_retries: 1}}",
            f"thumbnails={{backend: image-model, base_url: '{images.base_url}', timeout_s: 5}}",
        ]
        run = run_workflow(project, *override)
        report = run_workflow(project, *override, "--report", "report.html")
        sent = [r.headers.get("x-goog-api-key") for r in director.requests + images.requests]
        asked = (len(director.requests), director.unscripted, len(images.requests))
    assert run.returncode == 0, run.stdout + run.stderr
    assert report.returncode == 0 and (project / "report.html").stat().st_size > 0, report.stderr
    # the real code path was taken: the key reached the API from every client, the plan was answered
    assert asked[:2] == (3, 0) and asked[2] >= 1, asked
    assert set(sent) == {key}
    results = project / "results" / "talk"
    plan = json.loads((results / "plan.json").read_text())
    assert plan["backend"] == "gemini" and plan["metrics"]["llm_calls"] == 1
    assert list((project / "cache" / "llm").glob("*.json")), "the answered request is cached"
    metadata = json.loads((results / "metadata.json").read_text())
    assert "403" in metadata["producer"]["fallback"]["reason"]
    assert "***" in metadata["producer"]["fallback"]["reason"]  # the echoed key is blanked
    thumbnails = json.loads((results / "thumbnails" / "thumbnails.json").read_text())
    assert "403" in thumbnails["producer"]["fallback"]["reason"]

    # ...and was written nowhere: results, logs, benchmarks, caches, .snakemake, the report, the output
    assert {".snakemake", "logs", "benchmarks", "cache", "report.html"} <= {p.name for p in project.iterdir()}
    for secret in (key, other_key):
        assert files_holding(project, secret) == [], secret
        for proc in (run, report):
            output = (proc.stdout + proc.stderr).encode()
            assert not any(form in output for form in secret_forms(secret)), secret


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("vad={threshold: loud}", "config key 'vad.threshold': 'loud' is not of type 'number'"),
        ("vad={treshold: 0.4}", "config key 'vad.treshold' is unknown"),
        ("audio={peak_min_distance_s: -1}", "config key 'audio.peak_min_distance_s'"),
    ],
)
def test_bad_config_stops_with_the_key_named(finished_talk: Path, override: str, message: str) -> None:
    proc = run_workflow(finished_talk, "--dry-run", "--config", override)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    matching = [line for line in output.splitlines() if line.startswith(message)]
    assert len(matching) == 1, output


def test_empty_project_says_where_to_put_videos(tmp_path: Path) -> None:
    (tmp_path / "p" / "input").mkdir(parents=True)
    proc = run_workflow(tmp_path / "p", "--dry-run")
    assert proc.returncode == 0
    output = proc.stdout + proc.stderr
    assert "ave: no videos in" in output and "put your recordings there" in output
