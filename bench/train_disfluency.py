"""Train the aligned disfluency detector's models on the corpus' tuning voices only.

    python -m bench.train_disfluency [--check]

For every talk of the tuning half of ave_core.corpus (generated into bench/out/disfluency/ by
bench/disfluency.py, with the recogniser's output cached there), the words are prepared exactly as the
transcribe stage prepares them (transcript.prepare_words: aligned with their synthetic rendering), the
candidates are measured (disfluency.alignment_candidates), and each is labelled from the corpus' exact
truth. Three L2-regularised logistic regressions are fitted (scipy's L-BFGS on standardised features;
deterministic, no sampling): gap_filler and gap_repeat (stretches no word explains), word_filler (words that
are fillers the recogniser wrote as words). The held-out voices are never read. Writes
ave_core/disfluency_model.py (a module, so that the transcribe rule's code hash covers it) with the
weights, the voices trained on, and leave-one-voice-out figures (each tuning voice predicted by models
fitted on the other four). `--check` refits and fails when the
shipped file differs (the file is reproducible).
"""

from __future__ import annotations

import argparse
import json
import pprint
import subprocess
import sys
from typing import Any

import numpy as np

from ave_core.audio import read_pcm16
from ave_core.config import AsrConfig
from ave_core.corpus import TUNING_VOICES, CorpusItem, build_corpus, load_corpus
from ave_core.disfluency import (
    GAP_FEATURES,
    WORD_FEATURES,
    Candidate,
    alignment_candidates,
    model_probability,
)
from ave_core.transcript import prepare_words
from bench.common import REPO, model_path
from bench.disfluency import FOLDER, audio_of, recognise

MODEL_FILE = REPO / "ave_core" / "disfluency_model.py"
HEADER = (
    '"""The aligned disfluency detector\'s logistic models, written by bench/train_disfluency.py (do not '
    "edit).\n\nTrained on the corpus' tuning voices only; `leave_one_voice_out` holds each model's figures "
    "on each tuning\nvoice when fitted on the other four. A Python module, so that retraining reruns the "
    'transcribe stage\n(ave_core.code_hash hashes the modules a script imports).\n"""\n\n'
)
L2 = 1.0  # the penalty on the standardised weights
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
COMMAND = "python -m bench.train_disfluency"


def overlaps(a: tuple[float, float], b: tuple[float, float], share: float = 0.3) -> bool:
    """Whether two spans overlap by `share` of the shorter one."""
    common = min(a[1], b[1]) - max(a[0], b[0])
    return common > share * max(1e-3, min(a[1] - a[0], b[1] - b[0]))


def labels(item: CorpusItem, candidate: Candidate) -> dict[str, bool]:
    """What the truth says a candidate is: a filler; a repeated word or false start (either copy: the
    recogniser may have kept the first and left the second to a gap)."""
    span = (candidate.start, candidate.end)
    filler = any(w.kind == "filler" and overlaps(span, (w.start, w.end)) for w in item.words)
    repeat = False
    for n, word in enumerate(item.words):
        after_repeat = n > 0 and item.words[n - 1].kind in ("repeat", "false_start") and word.kind == "word"
        if (word.kind in ("repeat", "false_start") or after_repeat) and overlaps(
            span, (word.start, word.end)
        ):
            repeat = True
    return {"filler": filler, "repeat": repeat and not filler}


def item_rows(item: CorpusItem, config: AsrConfig) -> list[tuple[Candidate, dict[str, bool]]]:
    samples, rate = read_pcm16(FOLDER / f"{item.name}.wav")
    speech, _ = recognise(item.name, samples, verbatim=True)
    prepared = prepare_words(speech, audio_of(samples, rate), config, samples)
    if prepared.alignment is None or prepared.frames is None:
        return []
    candidates = alignment_candidates(prepared.alignment, prepared.frames, prepared.words)
    return [(c, labels(item, c)) for c in candidates]


def fit(features: np.ndarray, targets: np.ndarray, names: tuple[str, ...]) -> dict[str, Any]:
    """An L2-regularised logistic regression on standardised features."""
    from scipy.optimize import minimize

    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (features - mean) / scale

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = params[:-1], params[-1]
        logits = z @ weights + bias
        probability = 1 / (1 + np.exp(-logits))
        value = np.sum(np.logaddexp(0, logits) - targets * logits) + 0.5 * L2 * weights @ weights
        gradient = np.append(z.T @ (probability - targets) + L2 * weights, np.sum(probability - targets))
        return float(value), gradient

    result = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B")
    return {
        "features": list(names),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "weights": [round(float(v), 6) for v in result.x[:-1]],
        "bias": round(float(result.x[-1]), 6),
    }


def matrix(rows: list[tuple[Candidate, dict[str, bool]]], names: tuple[str, ...]) -> np.ndarray:
    values = np.array([[c.features[n] for n in names] for c, _ in rows], float)
    return np.nan_to_num(values, nan=0.0, posinf=9.0, neginf=-9.0)


MODELS = {  # name: (candidate kind, features, label)
    "gap_filler": ("gap", GAP_FEATURES, "filler"),
    # trained and reported, not used by the detector: 20-30% recall at 50% precision (leave-one-voice-out)
    "gap_repeat": ("gap", GAP_FEATURES, "repeat"),
    "word_filler": ("word", WORD_FEATURES, "filler"),
}


def train(by_voice: dict[str, list[tuple[Candidate, dict[str, bool]]]]) -> dict[str, Any]:
    """The three models fitted on every tuning voice, and their leave-one-voice-out figures."""
    models: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    for name, (kind, names, label) in MODELS.items():
        rows = [(c, t) for voice in by_voice.values() for c, t in voice if c.kind == kind]
        targets = np.array([t[label] for _, t in rows], float)
        models[name] = fit(matrix(rows, names), targets, names)
        predicted, truth = [], []
        for held in by_voice:
            train_rows = [(c, t) for v, r in by_voice.items() if v != held for c, t in r if c.kind == kind]
            test_rows = [(c, t) for c, t in by_voice[held] if c.kind == kind]
            model = fit(matrix(train_rows, names), np.array([t[label] for _, t in train_rows], float), names)
            predicted += [model_probability(model, c.features) for c, _ in test_rows]
            truth += [t[label] for _, t in test_rows]
        p, y = np.array(predicted), np.array(truth, bool)
        figures[name] = {
            "candidates": int(y.size),
            "positives": int(y.sum()),
            "by_threshold": [
                {
                    "threshold": t,
                    "recall": round(float(np.mean(p[y] >= t)) if y.any() else 0.0, 3),
                    "precision": round(float(np.sum((p >= t) & y) / max(1, np.sum(p >= t))), 3),
                }
                for t in THRESHOLDS
            ],
        }
    return {
        "trained_on": [v.name for v in TUNING_VOICES],
        "command": COMMAND,
        "l2": L2,
        "models": models,
        "leave_one_voice_out": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the shipped model differs")
    args = parser.parse_args()
    FOLDER.mkdir(parents=True, exist_ok=True)
    items = [i for i in (load_corpus(FOLDER) or build_corpus(FOLDER)) if i.half == "tune"]
    config = AsrConfig(model=model_path())
    by_voice: dict[str, list[tuple[Candidate, dict[str, bool]]]] = {}
    for item in items:
        print(f"{item.name} ...", file=sys.stderr)
        by_voice.setdefault(item.voice, []).extend(item_rows(item, config))
    result = train(by_voice)
    print(json.dumps(result["leave_one_voice_out"], indent=1))
    if args.check:
        from ave_core.disfluency_model import TRAINED

        if TRAINED["models"] != result["models"]:
            sys.exit(f"{MODEL_FILE} differs from a refit: run {COMMAND}")
        return
    MODEL_FILE.write_text(HEADER + "TRAINED = " + pprint.pformat(result, width=108, sort_dicts=False) + "\n")
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(MODEL_FILE)], check=False)
    print(f"wrote {MODEL_FILE.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
