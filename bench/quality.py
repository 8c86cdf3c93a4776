"""Quality and speed of the analysis stages, each against a reference measured in the same run.

    .venv/bin/python -m bench.quality

- ASR: WER of ave's default faster-whisper backend on ../shared/media/dev (jfk, GRID) against the same
  model called bare; real-time factor of both.
- Fillers: recall and precision on the generated demo talk (known filler times) and on the AMI clip
  (human verbatim transcripts, no times: compared by count per filler word); the bare model's for contrast.
- Shots: F1 at 0.2 s on ../shared/media/dev/cuts/testvideo.mp4 (PySceneDetect's own AdaptiveDetector golden)
  and on generated clips with known cuts; scenes stage frames/s against `ffmpeg -f null` decode of the file
  and against PySceneDetect's `detect()` alone.
Writes bench/out/quality.json and prints Markdown tables.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ave_core.asr import FasterWhisperRecognizer
from ave_core.audio import analyze_audio, read_pcm16
from ave_core.config import AsrConfig, AudioConfig, ScenesConfig, VadConfig
from ave_core.evaluation import match_events, normalise_text, word_error_rate
from ave_core.media import probe
from ave_core.synth import DEMO_SCRIPT, make_recording
from ave_core.text import squashed
from ave_core.timebase import decode_source_audio
from ave_core.transcript import build_transcript
from bench.common import DEV, OUT, count_match, decode_16k, filler_tokens, model_path, timed


def asr_figures(scratch: Path) -> dict[str, object]:
    from faster_whisper import WhisperModel

    path = model_path()
    ours = FasterWhisperRecognizer(AsrConfig(model=path), cpu_threads=2)
    bare = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=2)
    cases = [(DEV / "speech/jfk/jfk.flac", (DEV / "speech/jfk/jfk.transcript.txt").read_text())]
    for line in (DEV / "grid/transcripts.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            name, text = line.split("\t")
            cases.append((DEV / "grid" / name, text))
    rows, seconds = [], {"ours": 0.0, "bare": 0.0, "audio": 0.0}
    for source, reference in cases:
        samples, rate = read_pcm16(decode_16k(source, scratch))
        speech, t_ours = timed(ours.recognize, samples)
        segments, t_bare = timed(lambda s=samples: list(bare.transcribe(s)[0]))
        ours_text = " ".join(s.text for s in speech.segments)
        bare_text = " ".join(s.text for s in segments)
        rows.append(
            {
                "clip": source.name,
                "wer_ave": round(word_error_rate(reference, ours_text), 3),
                "wer_bare": round(word_error_rate(reference, bare_text), 3),
            }
        )
        seconds["ours"] += t_ours
        seconds["bare"] += t_bare
        seconds["audio"] += samples.size / rate
    words = sum(len(normalise_text(r).split()) for _, r in cases)
    pooled = {
        key: round(
            sum(
                row[key] * len(normalise_text(ref).split()) for row, (_, ref) in zip(rows, cases, strict=True)
            )
            / words,
            3,
        )
        for key in ("wer_ave", "wer_bare")
    }
    return {
        "model": "whisper tiny.en (CTranslate2, int8, 2 threads)",
        "clips": rows,
        "pooled_wer": pooled,
        "rtf_ave": round(seconds["ours"] / seconds["audio"], 3),
        "rtf_bare": round(seconds["bare"] / seconds["audio"], 3),
    }


def filler_figures(scratch: Path) -> dict[str, object]:
    from faster_whisper import WhisperModel

    config = AsrConfig(model=model_path())
    lexicon = {squashed(w) for w in config.filler_words}
    talk = OUT / "demo-talk.mp4"
    truth = make_recording(talk, DEMO_SCRIPT) if not talk.exists() else None
    truth_data = (
        json.loads(talk.with_suffix(".truth.json").read_text())
        if truth is None
        else json.loads(truth.to_json())
    )
    true_fillers = [(f["start"], f["end"]) for f in truth_data["fillers"]]
    media = probe(talk, slug="talk")
    full, wav = scratch / "talk-48k.wav", scratch / "talk.wav"
    decode_source_audio(talk, media, full, wav)
    audio = analyze_audio(full, wav, media, VadConfig(), AudioConfig())
    samples, _ = read_pcm16(wav)
    transcript = build_transcript(FasterWhisperRecognizer(config, 2).recognize(samples), audio, config)
    found = [(w.start, w.end) for w in transcript.words if w.is_filler]
    precision, recall = match_events(found, true_fillers, tolerance_s=0.2)
    with_evidence = found + [(s.start, s.end) for s in transcript.unlabelled_speech]
    _, recall_with_evidence = match_events(with_evidence, true_fillers, tolerance_s=0.2)
    bare = WhisperModel(model_path(), device="cpu", compute_type="int8", cpu_threads=2)
    bare_words = [w for s in bare.transcribe(samples, word_timestamps=True)[0] for w in s.words]
    bare_found = [(w.start, w.end) for w in bare_words if squashed(w.word) in lexicon]
    bare_precision, bare_recall = match_events(bare_found, true_fillers, tolerance_s=0.2)
    true_retakes = [(r["start"], r["end"]) for r in truth_data["retakes"]]
    retake_precision, retake_recall = match_events(
        [(r.start, r.end) for r in transcript.retakes], true_retakes, 0.3
    )

    ami = DEV / "speech/ami_ES2004a_60s"
    reference = " ".join(p.read_text() for p in sorted(ami.glob("mixture.*.words_joined.txt")))
    ami_samples, _ = read_pcm16(decode_16k(ami / "mixture.wav", scratch))
    ami_ours = FasterWhisperRecognizer(config, 2).recognize(ami_samples)
    ami_bare = " ".join(s.text for s in bare.transcribe(ami_samples)[0])
    truth_counts = filler_tokens(reference, lexicon)
    ours_counts = filler_tokens(" ".join(s.text for s in ami_ours.segments), lexicon)
    return {
        "demo_talk": {
            "true_fillers": len(true_fillers),
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "recall_with_unlabelled_speech": round(recall_with_evidence, 3),
            "bare_model_precision": round(bare_precision, 3),
            "bare_model_recall": round(bare_recall, 3),
            "retake_precision": round(retake_precision, 3),
            "retake_recall": round(retake_recall, 3),
        },
        "ami_by_count": {
            "true_fillers": dict(truth_counts),
            "found": dict(ours_counts),
            "precision_recall": [round(v, 3) for v in count_match(ours_counts, truth_counts)],
            "bare_found": dict(filler_tokens(ami_bare, lexicon)),
            "bare_precision_recall": [
                round(v, 3) for v in count_match(filler_tokens(ami_bare, lexicon), truth_counts)
            ],
        },
    }


def scene_figures(scratch: Path) -> dict[str, object]:
    from scenedetect import AdaptiveDetector, detect

    from ave_core.evaluation import shot_boundary_f1
    from ave_core.vision import analyze_scenes, cut_times

    settings = ScenesConfig()
    testvideo = DEV / "cuts/testvideo.mp4"
    golden_frames = json.loads(
        (DEV / "cuts/goldens/testvideo.mp4.AdaptiveDetector.default.json").read_text()
    )["cuts"]
    media = probe(testvideo, slug="testvideo")
    fps = media.video.fps if media.video else 29.97
    golden = [f / fps for f in golden_frames]
    scenes, t_ours = timed(analyze_scenes, testvideo, media, settings, scratch / "frames-testvideo")
    plain, t_plain = timed(detect, str(testvideo), AdaptiveDetector())
    plain_cuts = [start.seconds for start, _ in plain[1:]]
    decode = timed(
        subprocess.run,
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(testvideo), "-f", "null", "-"],
        check=True,
    )[1]
    generated = []
    for shots in (3, 6):
        clip = OUT / f"cuts-{shots}.mp4"
        truth = make_recording(clip, DEMO_SCRIPT[:8], width=1280, height=720, shots=shots)
        clip_media = probe(clip, slug=clip.stem)
        result = analyze_scenes(clip, clip_media, settings, scratch / f"frames-{shots}")
        generated.append(
            {"clip": clip.name, "f1": round(shot_boundary_f1(cut_times(result), truth.shot_cuts)[2], 3)}
        )
    frames = scenes.frame_count
    return {
        "testvideo_f1_vs_golden": round(shot_boundary_f1(cut_times(scenes), golden)[2], 3),
        "pyscenedetect_detect_f1_vs_golden": round(shot_boundary_f1(plain_cuts, golden)[2], 3),
        "generated": generated,
        "scenes_fps": round(frames / t_ours, 1),
        "pyscenedetect_detect_fps": round(frames / t_plain, 1),
        "ffmpeg_decode_fps": round(frames / decode, 1),
        "scenes_time_over_ffmpeg_decode": round(t_ours / decode, 2),
    }


def main() -> None:
    if not DEV.is_dir():
        sys.exit(f"bench.quality needs the real recordings at {DEV}")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        result = {
            "asr": asr_figures(scratch),
            "fillers": filler_figures(scratch),
            "scenes": scene_figures(scratch),
        }
    (OUT / "quality.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
