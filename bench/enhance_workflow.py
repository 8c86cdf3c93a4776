"""Studio sound in the whole workflow: WER, filler recall and cut quality when the listening stages read the
source's noisy sound (enhance.for_analysis: false, the default) or the enhanced one (true).

    python -m bench.enhance_workflow

The held-out generated talk (talk B of bench/enhance.py: the second half of ave_core.synth's DEMO_SCRIPT,
with its fillers and pauses) is rendered as a video, then given a noisy room: pink noise about 15 dB under
the speech, and 50 Hz mains hum with two harmonics. Two projects, one per value of enhance.for_analysis,
hold the clean and the noisy video; the whole workflow runs on each (`snakemake -s Snakefile -d PROJECT
--cores 2`, research offline). WER against the script, filler recall against the fillers spoken, and the cut
scores of ave_core.evaluation come from each run's transcript.json and plan.json.
Writes bench/out/enhance_workflow.json.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ave_core.evaluation import edit_scores, match_events, word_error_rate
from ave_core.synth import DEMO_SCRIPT, make_recording
from bench.common import OUT, snakemake

PROJECT = OUT / "enhance-workflow"
# pink noise and mains hum (50 Hz and two harmonics) under the talk
NOISE = (
    "anoisesrc=color=pink:amplitude=0.12:seed=11[pink];"
    "sine=frequency=50:sample_rate=48000,volume=0.03[h1];sine=frequency=100:sample_rate=48000,volume=0.015[h2];"
    "sine=frequency=150:sample_rate=48000,volume=0.02[h3];"
    "[0:a][pink][h1][h2][h3]amix=inputs=5:duration=first:normalize=0[a]"
)


def make_inputs(folder: Path) -> dict[str, Path]:
    clean = folder / "clean.mp4"
    make_recording(clean, DEMO_SCRIPT[len(DEMO_SCRIPT) // 2 :], width=640, height=360, shots=3)
    noisy = folder / "noisy.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clean), "-filter_complex", NOISE,
         "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", str(noisy)],
        check=True,
    )  # fmt: skip
    shutil.copyfile(clean.with_suffix(".truth.json"), noisy.with_suffix(".truth.json"))
    return {"clean": clean, "noisy": noisy}


def scores(results: Path, truth: dict) -> dict[str, float]:
    transcript = json.loads((results / "transcript.json").read_text())
    plan = json.loads((results / "plan.json").read_text())
    spoken = " ".join(u["text"] for u in truth["utterances"] if not u["is_filler"])
    said = " ".join(w["word"] for w in transcript["words"] if not w["is_filler"])
    fillers_found = [(w["start"], w["end"]) for w in transcript["words"] if w["is_filler"]]
    fillers_found += [(s["start"], s["end"]) for s in transcript.get("unlabelled_speech", [])]
    _, recall = match_events(fillers_found, [(u["start"], u["end"]) for u in truth["fillers"]])
    cut = edit_scores([(c["start"], c["end"]) for c in plan["cuts"]], truth)
    return {
        "wer": round(word_error_rate(spoken, said), 3),
        "filler_recall": round(recall, 3),
        "fillers_cut": round(cut["fillers_cut"], 3),
        "dead_air_removed": round(cut["dead_air_removed"], 3),
        "utterances_clipped": cut["utterances_clipped"],
    }


def main() -> int:
    shutil.rmtree(PROJECT, ignore_errors=True)
    media = PROJECT / "media"
    media.mkdir(parents=True)
    inputs = make_inputs(media)
    truth = json.loads(inputs["clean"].with_suffix(".truth.json").read_text())
    rows = []
    for for_analysis in (False, True):
        project = PROJECT / f"for_analysis-{str(for_analysis).lower()}"
        (project / "input").mkdir(parents=True)
        for name in ("clean", "noisy"):
            shutil.copyfile(inputs[name], project / "input" / f"{name}.mp4")
        (project / "config.yaml").write_text(
            f"research: {{backend: offline}}\ndirector: {{backend: rules}}\n"
            f"enhance: {{for_analysis: {str(for_analysis).lower()}}}\n"
        )
        start = time.perf_counter()
        proc = subprocess.run(snakemake(project), capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            return 1
        for name in ("clean", "noisy"):
            row = {"input": name, "for_analysis": for_analysis, "workflow_s": round(seconds, 1)}
            row |= scores(project / "results" / name, truth)
            enhancement = json.loads((project / "results" / name / "enhance.json").read_text())
            row["hum_hz"] = enhancement["hum"]["mains_hz"]
            row["reduction_db"] = enhancement["reduction_db"]
            row["snr_db"] = round(enhancement["speech_level_db"] - enhancement["noise_floor_db"], 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
    (OUT / "enhance_workflow.json").write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
