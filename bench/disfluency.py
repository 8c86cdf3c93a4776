"""Disfluency detection and word-time refinement on the generated corpus and the real recordings.

    python -m bench.disfluency [--half tune|test] [--write-doc]

The corpus (ave_core.corpus: 10 espeak-ng voice settings, exact word truth) is generated into
bench/out/disfluency/. Thresholds are chosen on the tuning half (`--half tune` prints the figures for every
candidate threshold) and the figures reported are those of the held-out half (`--half test`), which shares
no voice setting with it. Per item: faster-whisper tiny.en with ave's verbatim prompt (the recogniser ave
uses) and bare (default options), ave's transcript and rule-based plan, and the plan's audio (the kept
ranges joined, as the render joins them) heard again by the verbatim recogniser. Real recordings: AMI
filler counts per speaker, auto-editor's example, JFK (a control with no filler). Writes
bench/out/disfluency.json; with --write-doc, the section of docs/benchmarks.md between its markers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np

from ave_core.asr import FasterWhisperRecognizer, RecognizedSpeech
from ave_core.audio import detect_speech, read_pcm16, silences_between
from ave_core.config import AsrConfig, DirectorConfig, VadConfig
from ave_core.corpus import CORPUS_RATE, CorpusItem, build_corpus, load_corpus
from ave_core.director import DirectorInput, rule_based_plan
from ave_core.disfluency import (
    DETECTORS,
    FILLER_TOKENS,
    DetectionInput,
    frame_features,
    refine_word_times,
    syllable_nuclei,
)
from ave_core.evaluation import covered
from ave_core.models import Analysis, AudioAnalysis, Plan, Transcript, make_producer
from ave_core.text import squashed
from ave_core.transcript import aligned_word_times, build_transcript, prepare_words
from bench.common import DEV, OUT, REPO, decode_16k, model_path, recognition_cache, replace_section

FOLDER = OUT / "disfluency"
DOC = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- disfluency:begin -->", "<!-- disfluency:end -->"
CLIP_S = 0.02  # a cut removing this much of a truth word clips it
MATCH_S = 0.1  # a detection within this of a truth filler finds it
THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]


def recognise(item: str, samples: np.ndarray, verbatim: bool) -> tuple[RecognizedSpeech, float]:
    """The recogniser's words for an item, cached on disk (bench/out/disfluency/*.asr.pkl)."""
    # bare: no prompt and no check for words invented over silence, as faster-whisper's defaults
    config = AsrConfig(model=model_path())
    if not verbatim:
        config = config.model_copy(update={"verbatim_prompt": False, "hallucination_silence_s": None})
    cache = recognition_cache(FOLDER, item, config)
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    recogniser = FasterWhisperRecognizer(config, 2)
    started = time.perf_counter()
    result = recogniser.recognize(samples), time.perf_counter() - started
    cache.write_bytes(pickle.dumps(result))
    return result


def audio_of(samples: np.ndarray, rate: int) -> AudioAnalysis:
    """audio.json's speech part, from the same VAD the audio stage uses."""
    speech = detect_speech(samples, rate, VadConfig())
    duration = samples.size / rate
    return AudioAnalysis(
        producer=make_producer("audio", "bench"),
        has_audio=True,
        duration_s=duration,
        speech=speech,
        silences=silences_between(speech, duration),
    )


def plan_for(transcript: Transcript, audio: AudioAnalysis, config: DirectorConfig) -> Plan:
    ctx = DirectorInput(
        audio.duration_s, audio, transcript, Analysis(producer=make_producer("analyze", "bench"))
    )
    return rule_based_plan(ctx, config)


def kept_audio(samples: np.ndarray, rate: int, plan: Plan) -> np.ndarray:
    """The plan's kept ranges joined with 5 ms fades, as the render joins them."""
    fade = int(0.005 * rate)
    pieces = []
    for span in plan.keep:
        piece = samples[int(span.start * rate) : int(span.end * rate)].copy()
        if piece.size > 2 * fade:
            piece[:fade] *= np.linspace(0, 1, fade)
            piece[-fade:] *= np.linspace(1, 0, fade)
        pieces.append(piece)
    return np.concatenate(pieces) if pieces else samples[:0]


def fragments(item: CorpusItem, kinds: set[str]) -> list[tuple[float, float, str]]:
    """Consecutive truth words of the given kinds joined into one disfluency each."""
    spans: list[tuple[float, float, str]] = []
    previous = None
    for word in item.words:
        if word.kind in kinds:
            if previous is not None and previous.kind == word.kind and spans and word.kind != "filler":
                spans[-1] = (spans[-1][0], word.end, word.kind)
            else:
                spans.append((word.start, word.end, word.kind))
        previous = word
    return spans


def found(spans: list[tuple[float, float]], truth: list[tuple[float, float, str]]) -> tuple[int, int]:
    """(true ones found, detections that are true): one-to-one within MATCH_S."""
    unmatched = list(truth)
    hits = 0
    for start, end in spans:
        match = next((t for t in unmatched if start - MATCH_S <= t[1] and t[0] <= end + MATCH_S), None)
        if match is not None:
            unmatched.remove(match)
            hits += 1
    return hits, hits


def boundary_errors(item: CorpusItem, words: list[Any], raw: bool) -> list[float]:
    """|word edge - truth| in seconds for the recognised words matched to truth words by their text."""
    truth = [w for w in item.words if w.kind != "filler"]
    spoken = [w for w in words if squashed(w.word) not in FILLER_TOKENS]
    a = [t.text.replace(" ", "") for t in truth]
    b = [squashed(w.word).replace("'", "") for w in spoken]
    errors = []
    for block in SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            t, w = truth[block.a + k], spoken[block.b + k]
            start = getattr(w, "start_raw", None) if raw else None
            start = w.start if start is None else start
            end = getattr(w, "end_raw", None) if raw else None
            end = w.end if end is None else end
            errors += [abs(start - t.start), abs(end - t.end)]
    return errors


def clipped_words(item: CorpusItem, cuts: list[tuple[float, float]]) -> list[str]:
    """Truth words that should stay, of which a cut removes at least CLIP_S."""
    keep = [w for w in item.words if w.kind == "word"]
    return [w.text for w in keep if covered(w.start, w.end, cuts) >= CLIP_S]


def evaluate_item(
    item: CorpusItem, config: AsrConfig, director: DirectorConfig, quick: bool = False
) -> dict[str, Any]:
    """Every figure of one corpus item, with the bare recogniser's beside them."""
    samples, rate = read_pcm16(FOLDER / f"{item.name}.wav")
    audio = audio_of(samples, rate)
    speech, asr_s = recognise(item.name, samples, verbatim=True)
    bare, _ = (speech, 0.0) if quick else recognise(item.name, samples, verbatim=False)
    costs: dict[str, float] = {"recogniser": asr_s}
    started = time.perf_counter()
    frames = frame_features(samples)
    costs["frames"] = time.perf_counter() - started
    transcript = build_transcript(speech, audio, config, samples)
    started = time.perf_counter()
    refine_word_times(transcript.words, frames)
    costs["refine (energy)"] = time.perf_counter() - started
    prepared = prepare_words(speech, audio, config.model_copy(update={"refine_word_times": False}), samples)
    started = time.perf_counter()
    _, alignment, _ = aligned_word_times(prepared.words, samples)
    costs["align (espeak + DTW)"] = time.perf_counter() - started
    evidence = DetectionInput(transcript.words, frames, audio.speech, syllable_nuclei(frames, audio.speech),
                              alignment=alignment)  # fmt: skip
    for name in () if quick else ("lexicon", "acoustic", "repeats", "aligned"):
        started = time.perf_counter()
        DETECTORS[name]().detect(evidence)
        costs[name] = time.perf_counter() - started
    plan = plan_for(transcript, audio, director)
    cuts = [(c.start, c.end) for c in plan.cuts]
    fillers = fragments(item, {"filler"})
    repeats = fragments(item, {"repeat", "false_start"})
    bare_words = [w for s in bare.segments for w in s.words]
    figures: dict[str, Any] = {
        "voice": item.voice,
        "half": item.half,
        "snr_db": item.snr_db,
        "audio_s": item.duration_s,
        "true_fillers": len(fillers),
        "true_repeats": len(repeats),
        "detections": [
            d.model_dump(mode="json", include={"kind", "start", "end", "confidence"})
            for d in transcript.disfluencies
        ],
        "bare_fillers": len([w for w in bare_words if squashed(w.word) in FILLER_TOKENS]),
        "bare_filler_hits": found(
            [(w.start, w.end) for w in bare_words if squashed(w.word) in FILLER_TOKENS], fillers
        )[0],
        "fillers_cut": sum(covered(a, b, cuts) >= 0.8 * (b - a) for a, b, _ in fillers),
        "repeats_cut": sum(covered(a, b, cuts) >= 0.8 * (b - a) for a, b, _ in repeats),
        "clipped": clipped_words(item, cuts),
        "boundary_raw": boundary_errors(item, transcript.words, raw=True),
        "boundary_refined": boundary_errors(item, transcript.words, raw=False),
        "boundary_bare": boundary_errors(item, bare_words, raw=True),
        "costs": costs,
        "warnings": transcript.producer.warnings,
        "retakes_found": len(transcript.retakes),
        "true_retakes": len(fragments(item, {"retake"})),
    }
    figures["truth_fillers"] = [(a, b) for a, b, _ in fillers]
    figures["truth_repeats"] = [(a, b) for a, b, _ in repeats]
    # the edited audio is heard again once per plan: the cache is keyed by the plan's cuts
    plan_key = hashlib.sha1(json.dumps(cuts).encode()).hexdigest()[:12]
    final = recognition_cache(FOLDER, f"{item.name}.final-{plan_key}", AsrConfig(model=model_path()))
    if quick:
        figures["fillers_heard_in_final"] = []
        return figures
    if final.is_file():
        heard = pickle.loads(final.read_bytes())
    else:
        recogniser = FasterWhisperRecognizer(AsrConfig(model=model_path()), 2)
        heard = recogniser.recognize(kept_audio(samples, rate, plan))
        final.write_bytes(pickle.dumps(heard))
    figures["fillers_heard_in_final"] = sorted(
        squashed(w.word) for s in heard.segments for w in s.words if squashed(w.word) in FILLER_TOKENS
    )
    return figures


def score(items: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """Recall and precision of fillers and repeats at a confidence threshold, pooled over items."""
    totals = Counter()
    for figures in items:
        detections = [d for d in figures["detections"] if d["confidence"] >= threshold]
        filler_spans = [(d["start"], d["end"]) for d in detections if d["kind"] == "filler"]
        repeat_spans = [(d["start"], d["end"]) for d in detections if d["kind"] != "filler"]
        truth_f = [(a, b, "filler") for a, b in figures["truth_fillers"]]
        truth_r = [(a, b, "repeat") for a, b in figures["truth_repeats"]]
        totals["filler_true"] += len(truth_f)
        totals["filler_found"] += len(filler_spans)
        totals["filler_hits"] += found(filler_spans, truth_f)[0]
        totals["repeat_true"] += len(truth_r)
        totals["repeat_found"] += len(repeat_spans)
        totals["repeat_hits"] += found(repeat_spans, truth_r)[0]
    return {
        "threshold": threshold,
        "filler_recall": round(totals["filler_hits"] / max(1, totals["filler_true"]), 3),
        "filler_precision": round(totals["filler_hits"] / max(1, totals["filler_found"]), 3),
        "repeat_recall": round(totals["repeat_hits"] / max(1, totals["repeat_true"]), 3),
        "repeat_precision": round(totals["repeat_hits"] / max(1, totals["repeat_found"]), 3),
    }


def percentile(values: list[float], q: float) -> float | None:
    return round(1000 * float(np.percentile(values, q)), 1) if values else None


def summary(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The half's figures: detection at the chosen threshold, the plan's cuts, boundaries, costs."""
    audio_min = sum(f["audio_s"] for f in items) / 60
    costs = Counter()
    for figures in items:
        costs.update(figures["costs"])
    per_voice = {}
    for figures in items:
        voice = per_voice.setdefault(figures["voice"], {"clipped": 0, "fillers_left_in_final": 0, "items": 0})
        voice["clipped"] += len(figures["clipped"])
        voice["fillers_left_in_final"] += len(figures["fillers_heard_in_final"])
        voice["items"] += 1
    raw = [e for f in items for e in f["boundary_raw"]]
    refined = [e for f in items for e in f["boundary_refined"]]
    bare = [e for f in items for e in f["boundary_bare"]]
    true_fillers = sum(f["true_fillers"] for f in items)
    return {
        "items": len(items),
        "audio_min": round(audio_min, 2),
        "true_fillers": true_fillers,
        "true_repeats_and_false_starts": sum(f["true_repeats"] for f in items),
        "fillers_cut_by_plan": sum(f["fillers_cut"] for f in items),
        "repeats_cut_by_plan": sum(f["repeats_cut"] for f in items),
        "bare_filler_recall": round(sum(f["bare_filler_hits"] for f in items) / max(1, true_fillers), 3),
        "bare_filler_precision": round(
            sum(f["bare_filler_hits"] for f in items) / max(1, sum(f["bare_fillers"] for f in items)), 3
        ),
        "per_voice": per_voice,
        "boundary_ms": {
            "refined_median": percentile(refined, 50),
            "refined_p95": percentile(refined, 95),
            "raw_median": percentile(raw, 50),
            "raw_p95": percentile(raw, 95),
            "bare_median": percentile(bare, 50),
            "bare_p95": percentile(bare, 95),
            "edges": len(refined),
        },
        "seconds_per_audio_minute": {k: round(v / audio_min, 3) for k, v in costs.items()},
        "retakes": [sum(f["retakes_found"] for f in items), sum(f["true_retakes"] for f in items)],
    }


def real_recordings(config: AsrConfig, threshold: float) -> dict[str, Any]:
    """AMI (filler counts by speaker, no times), auto-editor's example and JFK (no filler: a control)."""
    import tempfile

    from bench.common import filler_tokens

    lexicon = {squashed(w) for w in config.filler_words}
    result: dict[str, Any] = {}
    ami = DEV / "speech/ami_ES2004a_60s"
    with tempfile.TemporaryDirectory() as tmp:
        for name, source in (
            ("ami", ami / "mixture.wav"),
            ("auto-editor", DEV / "speech/auto_editor_example/example.mp4"),
            ("jfk", DEV / "speech/jfk/jfk.flac"),
        ):
            samples, rate = read_pcm16(decode_16k(source, Path(tmp)))
            audio = audio_of(samples, rate)
            speech, _ = recognise(f"real-{name}", samples, verbatim=True)
            bare, _ = recognise(f"real-{name}", samples, verbatim=False)
            transcript = build_transcript(speech, audio, config, samples)
            detected = [d for d in transcript.disfluencies if d.confidence >= threshold]
            figures: dict[str, Any] = {
                "fillers_detected": sum(d.kind == "filler" for d in detected),
                "repeats_detected": sum(d.kind != "filler" for d in detected),
                "bare_fillers": sum(filler_tokens(" ".join(s.text for s in bare.segments), lexicon).values()),
                "warnings": transcript.producer.warnings,
                "alignment": next(
                    (
                        w.split(": ", 1)[-1] if "energy envelope only" in w else w
                        for w in transcript.producer.warnings
                        if "energy envelope only" in w or "keep the recogniser's times" in w
                    ),
                    "aligned, every word",
                ),
            }
            if name == "ami":
                truth = {
                    p.name.split(".")[1]: sum(filler_tokens(p.read_text(), lexicon).values())
                    for p in sorted(ami.glob("mixture.*.words_joined.txt"))
                }
                total = sum(truth.values())
                found = figures["fillers_detected"]
                figures["true_fillers_by_speaker"] = truth
                # no times in AMI's truth: recall and precision by count (as bench/quality.py does)
                figures["recall_by_count"] = round(min(found, total) / max(1, total), 3)
                figures["precision_by_count"] = round(min(found, total) / max(1, found), 3) if found else 1.0
                figures["bare_recall_by_count"] = round(
                    min(figures["bare_fillers"], total) / max(1, total), 3
                )
            result[name] = figures
    return result


def recogniser_reference(item: CorpusItem) -> dict[str, float]:
    """The recogniser and the alignment timed on one talk in this run, A B A B (the recogniser's cost in
    the per-item figures comes from a cache that may be older): seconds per minute of audio of each."""
    samples, _ = read_pcm16(FOLDER / f"{item.name}.wav")
    config = AsrConfig(model=model_path())
    recogniser = FasterWhisperRecognizer(config, 2)
    speech = recogniser.recognize(samples)
    prepared = prepare_words(
        speech,
        audio_of(samples, CORPUS_RATE),
        config.model_copy(update={"refine_word_times": False}),
        samples,
    )
    times: dict[str, list[float]] = {"recogniser": [], "align (espeak + DTW)": []}
    for _ in range(2):
        started = time.perf_counter()
        recogniser.recognize(samples)
        times["recogniser"].append(time.perf_counter() - started)
        started = time.perf_counter()
        aligned_word_times(prepared.words, samples)
        times["align (espeak + DTW)"].append(time.perf_counter() - started)
    minutes = samples.size / CORPUS_RATE / 60
    return {name: round(min(values) / minutes, 3) for name, values in times.items()}


def _plain(value: Any) -> Any:
    """A numpy number as the Python number JSON can write."""
    return value.item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=["tune", "test", "all"], default="all")
    parser.add_argument("--real", action="store_true", help="also the real recordings of ../shared/media/dev")
    parser.add_argument("--write-doc", action="store_true", help="only write docs/benchmarks.md's section")
    parser.add_argument(
        "--real-only", action="store_true", help="only the real recordings, into the test JSON"
    )
    parser.add_argument("--acoustic", action="store_true", help="add the opt-in acoustic detector")
    parser.add_argument("--quick", action="store_true", help="tuning: no bare or final recognition")
    parser.add_argument("--threshold", type=float, default=DirectorConfig().filler_min_confidence)
    args = parser.parse_args()
    if args.write_doc:
        write_doc()
        return
    if args.real_only:  # the real recordings again, into the held-out half's JSON
        path = OUT / "disfluency-test.json"
        result = json.loads(path.read_text())
        result["real"] = real_recordings(AsrConfig(model=model_path()), args.threshold)
        path.write_text(json.dumps(result, indent=1) + "\n")
        return
    FOLDER.mkdir(parents=True, exist_ok=True)
    items = load_corpus(FOLDER) or build_corpus(FOLDER)
    halves = ("tune", "test") if args.half == "all" else (args.half,)
    config, director = AsrConfig(model=model_path()), DirectorConfig()
    if args.acoustic:
        config = config.model_copy(update={"detectors": [*config.detectors, "acoustic"]})
    result: dict[str, Any] = {}
    reference = recogniser_reference([i for i in items if i.half in halves][0])
    for half in halves:
        chosen = [i for i in items if i.half == half]
        figures = []
        for item in chosen:
            print(f"{item.name} ...", file=sys.stderr)
            figures.append(evaluate_item(item, config, director, args.quick))
        result[half] = {
            "same_run_reference": reference,
            "by_threshold": [score(figures, t) for t in THRESHOLDS],
            "at_threshold": score(figures, args.threshold),
            **summary(figures),
            "items_detail": figures,
        }
        print(
            json.dumps(
                {k: v for k, v in result[half].items() if k != "items_detail"}, indent=1, default=_plain
            )
        )
    if args.real and DEV.is_dir():
        result["real"] = real_recordings(config, args.threshold)
        print(json.dumps(result["real"], indent=1))
    (OUT / f"disfluency-{args.half}{'-acoustic' if args.acoustic else ''}.json").write_text(
        json.dumps(result, indent=1, default=_plain) + "\n"
    )


def doc_section(
    test: dict[str, Any],
    tune_acoustic: dict[str, Any] | None,
    real: dict[str, Any] | None,
    training: dict[str, Any] | None = None,
    tune_default: dict[str, Any] | None = None,
) -> str:
    """The Markdown of docs/benchmarks.md's disfluency section, from this benchmark's JSON."""
    at = test["at_threshold"]
    b = test["boundary_ms"]
    cost = test["seconds_per_audio_minute"]
    lines = [
        BEGIN,
        "## Disfluencies and word times (bench/disfluency.py)",
        "",
        "Generated by `python -m bench.disfluency --half test --real` (and `--half tune --quick "
        "--acoustic`, `bench/train_disfluency.py`); the machine was shared with other work, so the costs "
        "are noisy. Corpus: `ave_core.corpus`, 10 espeak-ng voice settings (no mbrola voice: Debian's main "
        "archive has none), 3 talks each (clean, room noise at 20 dB and at 10 dB SNR) with fillers inside "
        "sentences without a pause, at sentence starts and between pauses, elongated fillers, repeated "
        "words, false starts and sentence retakes; word truth from espeak-ng's own phoneme events "
        "(sample-exact). Thresholds, the alignment's parameters and the aligned detector's models were "
        "chosen or trained on the tuning voices only (en-us, en-gb-x-rp+m3, en-us+f3, en-029, "
        "en-gb-x-gbcwmd+m5); the figures below are the **held-out voices** (en-gb-scotland, en-us+m2, "
        "en-us+klatt, en-gb-x-gbclan+f4, en-us-nyc+f2), "
        f"{test['items']} talks, {test['audio_min']} min, {test['true_fillers']} fillers, "
        f"{test['true_repeats_and_false_starts']} repeats and false starts. Recogniser: whisper tiny.en, "
        "int8, ave's verbatim prompt; 'bare' is faster-whisper with its default options. The synthetic "
        "voice the transcript is aligned with (en-us, 160 wpm) is itself a tuning voice: these figures are "
        "espeak speech aligned with espeak speech, the real recordings below are the check beyond it.",
        "",
        "| figure | goal | ave (default: lexicon + repeats + aligned, confidence ≥ 0.5) | bare recogniser |",
        "|---|---|---|---|",
        f"| filler recall / precision (transcript) | ≥ 0.9 / ≥ 0.9 | {at['filler_recall']:.2f} / "
        f"{at['filler_precision']:.2f} | {test['bare_filler_recall']:.2f} / "
        f"{test['bare_filler_precision']:.2f} |",
        f"| fillers cut by the plan (≥ 80 % of the filler) | all | {test['fillers_cut_by_plan']} of "
        f"{test['true_fillers']} | – |",
        f"| repeats and false starts recall / precision | ≥ 0.8 | {at['repeat_recall']:.2f} / "
        f"{at['repeat_precision']:.2f} | – |",
        f"| repeats and false starts cut by the plan | – | {test['repeats_cut_by_plan']} of "
        f"{test['true_repeats_and_false_starts']} | – |",
        "| content words clipped (a cut removes ≥ 20 ms), per voice | 0 | "
        + ", ".join(f"{v} {p['clipped']}" for v, p in test["per_voice"].items())
        + " | – |",
        "| fillers heard again in the edited audio (the plan's kept ranges joined as the render joins them, "
        "re-transcribed by the verbatim recogniser), per voice | 0 | "
        + ", ".join(f"{v} {p['fillers_left_in_final']}" for v, p in test["per_voice"].items())
        + " | – |",
        f"| word edge − truth, median / 95th percentile | ≤ 30 ms | refined {b['refined_median']} / "
        f"{b['refined_p95']} ms; the recogniser's own {b['raw_median']} / {b['raw_p95']} ms | "
        f"{b['bare_median']} / {b['bare_p95']} ms |",
        f"| sentence retakes found | – | {test['retakes'][0]} of {test['retakes'][1]} | – |",
        "",
        "By threshold (held-out voices): "
        + "; ".join(
            f"≥ {r['threshold']}: fillers R {r['filler_recall']:.2f} P {r['filler_precision']:.2f}, "
            f"repeats R {r['repeat_recall']:.2f} P {r['repeat_precision']:.2f}"
            for r in test["by_threshold"]
        )
        + ".",
        "",
        "Cost, seconds per minute of audio (the alignment includes espeak-ng and the DTW; each detector "
        "timed alone on the prepared words; the recogniser's figure comes from the cached first run): "
        + ", ".join(f"{k} {v}" for k, v in cost.items())
        + ". The same run's reference, recogniser and alignment timed A B A B on one talk (best of two): "
        + ", ".join(f"{k} {v}" for k, v in test.get("same_run_reference", {}).items())
        + ". The machine was shared with other work: only the ratios mean something.",
        "",
    ]
    if training is not None:
        lines += [
            "The aligned detector's models (`bench/train_disfluency.py`, logistic regressions on the tuning "
            "voices, weights in `ave_core/disfluency_model.py`), each tuning voice predicted by models "
            "fitted on the other four: "
            + "; ".join(
                f"{name} ({f['positives']} of {f['candidates']} candidates true): "
                + ", ".join(
                    f"≥ {r['threshold']} R {r['recall']:.2f} P {r['precision']:.2f}"
                    for r in f["by_threshold"]
                    if r["threshold"] in (0.3, 0.5, 0.7)
                )
                for name, f in training["leave_one_voice_out"].items()
            )
            + ". gap_repeat is not used by the detector (too weak to cut on).",
            "",
        ]
    if tune_acoustic is not None:
        t = tune_acoustic["at_threshold"]
        without = (
            f" (the default detectors alone: recall {tune_default['at_threshold']['filler_recall']:.2f} at "
            f"precision {tune_default['at_threshold']['filler_precision']:.2f})"
            if tune_default is not None
            else ""
        )
        lines += [
            "The acoustic detector (syllables no word accounts for, scored by length, voicing, pitch spread, "
            "spectral flux and a nasal close) stays opt-in (`asr.detectors`): on the **tuning** voices "
            f"(`--half tune --quick` with and without `--acoustic`), with it, fillers reached recall "
            f"{t['filler_recall']:.2f} at precision {t['filler_precision']:.2f}{without}.",
            "",
        ]
    if real:
        ami = real.get("ami", {})
        lines += [
            "Real recordings: AMI ES2004a (60 s, 4 speakers; true fillers by speaker "
            f"{ami.get('true_fillers_by_speaker')}): {ami.get('fillers_detected')} fillers detected, "
            f"recall by count {ami.get('recall_by_count')} at precision {ami.get('precision_by_count')} "
            "(the earlier figure 0.22; the bare recogniser "
            f"{ami.get('bare_recall_by_count')}); auto-editor's example: "
            f"{real.get('auto-editor', {}).get('fillers_detected')} fillers, "
            f"{real.get('auto-editor', {}).get('repeats_detected')} repeats detected (no truth); JFK (no "
            f"filler): {real.get('jfk', {}).get('fillers_detected')} fillers, "
            f"{real.get('jfk', {}).get('repeats_detected')} repeats detected. Alignment: "
            + "; ".join(
                f"{name} {figures.get('alignment', '?')}"
                for name, figures in real.items()
                if isinstance(figures, dict)
            )
            + ".",
            "",
        ]
    repairs_path = OUT / "repairs.json"
    if repairs_path.is_file():
        r = json.loads(repairs_path.read_text())["summary"]
        lines += [
            "Repairs the words can show (`python -m bench.repairs`): when the recogniser writes both the "
            "fragment and the restart, the words detector tells a repair from a phrase that goes on by the "
            'words alone: the fragment said twice ("the dough the dough"), said again with one word added '
            '("try to try not to"), or with one word changed for another form of it or another modal '
            '("we go we went", "you should you can"); "we know we can" and "to the shop to buy" '
            "go on. Ten repairs said straight on and eight sentences whose words come back legitimately "
            "(`ave_core.corpus.REPAIR_SENTENCES`, `REPAIR_CONTROLS`), written before the rule and new to it, "
            "said by all ten voices, clean and at 10 dB: "
            + "; ".join(
                f"{'held-out' if half == 'test' else 'tuning'} voices: {f['found']} of {f['repairs']} "
                f"repairs found (recall {f['recall']:.2f}, precision {f['precision']:.2f}), "
                f"{f['false_in_controls']} false alarms in {f['controls']} legitimate sentences, "
                f"{f['cut']} cut by the plan, {f['clipped']} content words clipped"
                for half, f in (("test", r["test"]), ("tune", r["tune"]))
            )
            + ". The code before (c3b823e, with the recognition of that day, before "
            "asr.hallucination_silence_s) found 11 of 100 on the held-out voices, cut 6 and clipped 10 "
            "content words (tuning voices: 16, 15 and 3): more repairs cut means more words clipped. Of "
            "the 18 held-out words clipped in the run before this one, 8 were the plan's cuts of other "
            "kinds in one clean talk (there before), and the rest mostly the recogniser's punctuation: it "
            "writes "
            '"if you try. Try and try" as "try, try and try", a repeated word, and the cut takes the first. '
            "The sentences and the rule were written before the first run; the two fixes below were found "
            "in this set's transcripts, so it is no clean hold-out for them: the corpus figures above are.",
            "",
        ]
    lines += [
        "**Confidence and the audio's conditions.** Noise, a narrow band, unvoiced speech and music "
        "lower the confidence of what was heard in the sound; a finding read from the words alone (a "
        "filler or a repeat the recogniser wrote) is lowered only by the recogniser's own uncertainty. "
        "Voicing is the autocorrelation peak divided by the window's own (Boersma 1993), and only a peak "
        "counts: before, a low voice (85-110 Hz) read as 17-54 % voiced, en-us+m2 and en-gb-x-gbcwmd+m5 "
        "(under 35 %) were taken for whispering, which lowered every confidence by 0.4, and a rumble read "
        "as voiced. The music check looks 0.3 s away from the speech, not at its edges. With the models "
        "retrained on the corrected voicing, JFK has one filler detected at 0.51 (a 90 ms sound no word "
        "explains; not cut, a strict xfail test).",
        "",
        "**Where the goals are not met, and why.** Word edges: aligning the audio with the transcript "
        "spoken by espeak-ng puts them a few ms from the truth where the recogniser wrote the right "
        "words; the 95th percentile is set by the words it misheard under 10 dB noise. Fillers: tiny.en "
        "writes no word for most fillers said inside a sentence, or writes another word over them "
        "('hills, sir, where', 'planet some.'); the aligned detector finds the sounds no word explains "
        "and the one-syllable words that sound like a filler, but a filler's syllable and a short word's "
        "are hard to tell apart with cepstral distances to synthetic templates, so recall and precision "
        "stay far from 0.9. The plan cuts fewer than it detects: a cut never reaches past a kept word's "
        "recogniser times (the word before an inline filler was usually stretched over it), because "
        "cutting by the aligned times alone clipped more than twice as many words on the tuning voices. "
        'Repeats: Whisper often writes a repeated word once ("the the", "in the in the"), and then '
        "only the audio can tell; the gap model that would find the second copy found 20-60 % at 40-60 % "
        "precision on the tuning voices, too weak to cut on. On real speech the synthetic voice is too "
        "unlike the speaker for the alignment to hold everywhere: it falls back to the energy "
        "refinement (AMI, auto-editor), and where it holds (JFK) its filler models were trained on "
        "espeak voices only. Tried and "
        "dropped: PocketSphinx forced alignment ('Final result does not match the grammar' on many "
        "sentences), Whisper's probability of ' um' in each gap (≈ 0 at true fillers), DTW on Whisper's "
        "encoder states instead of cepstra (no better separation of fillers from words), and re-"
        "transcribing each candidate stretch alone with the verbatim prompt (tiny.en writes 'uh' for "
        "short words too).",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_doc() -> None:
    """Put the section into docs/benchmarks.md, replacing an earlier one between the markers."""
    test = json.loads((OUT / "disfluency-test.json").read_text())
    tune_path = OUT / "disfluency-tune-acoustic.json"
    tune = json.loads(tune_path.read_text())["tune"] if tune_path.is_file() else None
    default_path = OUT / "disfluency-tune.json"
    tune_default = json.loads(default_path.read_text())["tune"] if default_path.is_file() else None
    from ave_core.disfluency_model import TRAINED as training

    section = doc_section(test["test"], tune, test.get("real"), training, tune_default)
    replace_section(DOC, (BEGIN, END), section)


if __name__ == "__main__":
    main()
