"""Repeats and false starts on sentences the detector was not designed on, and their look-alikes.

    python -m bench.repairs

ave_core.corpus.REPAIR_SENTENCES (ten repairs said straight on: a word or phrase said twice, a phrase
restarted with a word changed or added, and two restarts the words alone cannot tell) and REPAIR_CONTROLS
(eight sentences whose words come back legitimately: "that that", "had had", "to the park to play", "we
know we can") were written before the repeats detector learnt its repair cues and chose nothing. Each of
the corpus' ten voice settings says them all, clean and under room noise at 10 dB SNR; tiny.en (verbatim
prompt) hears them and the transcribe stage's detectors run as in the workflow. Figures per half of the
voices (tuning / held-out, as in bench/disfluency.py): repairs found (a repeat or false start detected
over it, at the default confidence), false alarms (detected where no repair was said, and how many inside
the controls), repairs the plan cuts (>= 80 %), and content words a cut removes >= 20 ms of. Prints JSON
and writes bench/out/repairs.json.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

from ave_core.asr import FasterWhisperRecognizer, RecognizedSpeech
from ave_core.audio import read_pcm16
from ave_core.config import AsrConfig, DirectorConfig
from ave_core.corpus import (
    HELD_OUT_VOICES,
    REPAIR_CONTROLS,
    REPAIR_SENTENCES,
    TUNING_VOICES,
    CorpusItem,
    make_item,
)
from ave_core.evaluation import covered
from ave_core.transcript import build_transcript
from bench.common import OUT, model_path, recognition_cache
from bench.disfluency import audio_of, clipped_words, fragments, plan_for

FOLDER = OUT / "repairs"
KINDS = {"repeat", "false_start"}


def items() -> list[CorpusItem]:
    """Every voice says the repairs and the controls, interleaved, clean and at 10 dB; made once."""
    script = [s for pair in zip(REPAIR_SENTENCES, REPAIR_CONTROLS + [""] * 2, strict=True) for s in pair if s]
    made = []
    for index, (half, voice) in enumerate(
        [("tune", v) for v in TUNING_VOICES] + [("test", v) for v in HELD_OUT_VOICES]
    ):
        for snr in (None, 10.0):
            slug = voice.name.lower().replace("+", "-")
            name = f"{half}-{slug}-" + ("clean" if snr is None else f"snr{snr:g}")
            truth = FOLDER / f"{name}.truth.json"
            if truth.is_file():
                made.append(CorpusItem.from_json(truth.read_text()))
            else:
                made.append(make_item(FOLDER, name, script, voice, half, snr, seed=100 + index))
    return made


def recognise(item: CorpusItem, samples: Any) -> RecognizedSpeech:
    config = AsrConfig(model=model_path())
    cache = recognition_cache(FOLDER, item.name, config)
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    speech = FasterWhisperRecognizer(config, 2).recognize(samples)
    cache.write_bytes(pickle.dumps(speech))
    return speech


def control_spans(item: CorpusItem) -> list[tuple[float, float]]:
    """Where each control sentence was said: from its first word to its last (matched by text in order)."""
    spans, words, at = [], item.words, 0
    for sentence in REPAIR_CONTROLS:
        said = [w.strip(".,").lower() for w in sentence.split()]
        for start in range(at, len(words)):
            texts = " ".join(w.text for w in words[start:]).split()
            if texts[: len(said)] == said:
                joined, end = 0, start
                while joined < len(said):
                    joined += len(words[end].text.split())
                    end += 1
                spans.append((words[start].start, words[end - 1].end))
                at = end
                break
    return spans


def evaluate(item: CorpusItem, config: AsrConfig, director: DirectorConfig) -> dict[str, Any]:
    samples, rate = read_pcm16(FOLDER / f"{item.name}.wav")
    audio = audio_of(samples, rate)
    transcript = build_transcript(recognise(item, samples), audio, config, samples)
    repairs = fragments(item, KINDS)
    threshold = director.repeat_min_confidence
    detected = [d for d in transcript.disfluencies if d.kind in KINDS and d.confidence >= threshold]
    hit = [any(d.start - 0.1 <= b and a <= d.end + 0.1 for d in detected) for a, b, _ in repairs]
    false = [d for d in detected if not any(d.start - 0.1 <= b and a <= d.end + 0.1 for a, b, _ in repairs)]
    controls = control_spans(item)
    plan = plan_for(transcript, audio, director)
    cuts = [(c.start, c.end) for c in plan.cuts]
    return {
        "voice": item.voice,
        "half": item.half,
        "snr_db": item.snr_db,
        "repairs": len(repairs),
        "found": sum(hit),
        "missed": [
            " ".join(w.text for w in item.words if a <= w.start and w.end <= b)
            for (a, b, _), h in zip(repairs, hit, strict=True)
            if not h
        ],
        "false_alarms": [f"{d.text} ({d.kind} {d.confidence})" for d in false],
        "false_in_controls": sum(any(d.start < b and a < d.end for a, b in controls) for d in false),
        "controls": len(controls),
        "cut": sum(covered(a, b, cuts) >= 0.8 * (b - a) for a, b, _ in repairs),
        "clipped": clipped_words(item, cuts),
    }


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    config, director = AsrConfig(model=model_path()), DirectorConfig()
    rows = [evaluate(item, config, director) for item in items()]
    summary = {}
    for half in ("tune", "test"):
        part = [r for r in rows if r["half"] == half]
        repairs, found = sum(r["repairs"] for r in part), sum(r["found"] for r in part)
        false = sum(len(r["false_alarms"]) for r in part)
        summary[half] = {
            "repairs": repairs,
            "found": found,
            "recall": round(found / max(1, repairs), 3),
            "precision": round(found / max(1, found + false), 3),
            "false_alarms": false,
            "false_in_controls": sum(r["false_in_controls"] for r in part),
            "controls": sum(r["controls"] for r in part),
            "cut": sum(r["cut"] for r in part),
            "clipped": sum(len(r["clipped"]) for r in part),
        }
    result = {"command": "python -m bench.repairs", "summary": summary, "items": rows}
    (OUT / "repairs.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
