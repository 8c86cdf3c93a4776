"""Disfluencies on any voice: generated clips with exact word truth (espeak-ng's own events), the plan's cuts,
refined word times, the lexicon choice for a filler spoken about, and hostile audio."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from ave_core.align import speakable
from ave_core.asr import FasterWhisperRecognizer, RecognizedSpeech
from ave_core.audio import detect_speech, read_pcm16, silences_between
from ave_core.config import AsrConfig, DirectorConfig, VadConfig
from ave_core.corpus import (
    CORPUS_RATE,
    CorpusItem,
    make_item,
    mix_at_snr,
    resample,
    synthesize,
    write_wav,
)
from ave_core.director import DirectorInput, rule_based_plan
from ave_core.disfluency import (
    VOICING_THRESHOLD,
    DetectionInput,
    RepeatsAndFalseStarts,
    expected_syllables,
    frame_features,
    mentioned_fillers,
    merge_detections,
    refine_word_times,
)
from ave_core.espeak import Voice, check_word_times, speak_timed
from ave_core.evaluation import covered
from ave_core.models import (
    Analysis,
    AudioAnalysis,
    Disfluency,
    Evidence,
    Plan,
    Transcript,
    Word,
    make_producer,
)
from ave_core.text import word_family
from ave_core.transcript import aligned_word_times, build_transcript
from tests.conftest import ffmpeg

INLINE = [
    "These are {um} used to calibrate a display.",
    "It is {uh} really quite beautiful.",
    "{Um} the colours come from three small lamps.",
]
VOICES = [Voice("en-us", 160, 50), Voice("en-gb-x-rp+f3", 175, 65)]


def audio_of(wav: Path) -> AudioAnalysis:
    samples, rate = read_pcm16(wav)
    speech = detect_speech(samples, rate, VadConfig())
    duration = samples.size / rate
    return AudioAnalysis(
        producer=make_producer("audio", "test"),
        has_audio=True,
        duration_s=duration,
        speech=speech,
        silences=silences_between(speech, duration),
    )


_HEARD: dict[tuple[str, str], RecognizedSpeech] = {}


def fresh_process(function, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    """`function(*args)` in a process of its own, as the workflow runs each stage: libespeak-ng keeps state
    from one utterance to the next in a process (the same text comes out a few samples longer or shorter
    after other speech), so the alignment's synthetic speech, and what it finds, would depend on which tests
    ran before."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args, **kwargs).result()


def edit(wav: Path, model: str, asr: AsrConfig | None = None) -> tuple[Transcript, Plan, AudioAnalysis]:
    """transcript.json and the rule-based plan of a clip; the recogniser runs once per clip and model (the
    transcribe stage's own path from there: build_transcript with the samples)."""
    audio = audio_of(wav)
    settings = (asr or AsrConfig()).model_copy(update={"model": model})
    samples, _ = read_pcm16(wav)
    key = (str(wav), model)
    if key not in _HEARD:
        _HEARD[key] = FasterWhisperRecognizer(settings, 2).recognize(samples)
    transcript = fresh_process(build_transcript, _HEARD[key], audio, settings, samples)
    ctx = DirectorInput(
        audio.duration_s, audio, transcript, Analysis(producer=make_producer("analyze", "test"))
    )
    return transcript, rule_based_plan(ctx, DirectorConfig()), audio


def clipped(item: CorpusItem, plan: Plan) -> list[str]:
    """Truth words to keep of which a cut removes 20 ms or more."""
    cuts = [(c.start, c.end) for c in plan.cuts]
    return [w.text for w in item.words if w.kind == "word" and covered(w.start, w.end, cuts) >= 0.02]


# --- exact truth ----------------------------------------------------------------------------


def test_espeak_word_times_are_where_the_sound_is() -> None:
    samples, words = speak_timed("So these are um used to calibrate a display. The the end.", Voice())
    assert len(words) == 12
    assert check_word_times(samples, words) == 0.0  # every gap silent, every word sounding at both edges
    starts = [w.start_sample for w in words]
    assert starts == sorted(starts)
    # the pause after "display." is digital silence from the sample the next word's time says it ends
    display, the = words[8], words[9]
    assert np.max(np.abs(samples[display.end_sample : the.start_sample])) < 1e-3
    assert the.start_sample - display.end_sample > 0.2 * 22050


def test_corpus_truth_marks_every_disfluency(tmp_path: Path) -> None:
    sentences = ["~we go~ we went to buy [the] the {um:long} screen. |", "^It was red. | It was red and big."]
    item = fresh_process(
        make_item, tmp_path, "one", sentences, Voice("en-us+m2", 185, 35), "test", snr_db=10.0
    )
    kinds = [(w.text, w.kind) for w in item.words]
    assert kinds[:8] == [("we", "false_start"), ("go", "false_start"), ("we", "word"), ("went", "word"),
                         ("to", "word"), ("buy", "word"), ("the", "repeat"), ("the", "word")]  # fmt: skip
    long_um = next(w for w in item.words if w.kind == "filler")
    assert long_um.elongated and long_um.end - long_um.start > 0.35  # "ummm"
    assert [w.text for w in item.words if w.kind == "retake"] == ["it", "was", "red"]
    samples, rate = read_pcm16(tmp_path / "one.wav")
    assert rate == CORPUS_RATE and samples.size / rate == pytest.approx(item.duration_s, abs=0.01)
    noise = samples[: int(0.4 * rate)]  # the lead-in holds only room noise, about 10 dB under the speech
    speech = np.concatenate([samples[int(w.start * rate) : int(w.end * rate)] for w in item.words])
    snr = 20 * np.log10(np.sqrt(np.mean(speech**2)) / np.sqrt(np.mean(noise**2)))
    assert 8 < snr < 13


# --- pieces ---------------------------------------------------------------------------------


def test_repeats_and_false_starts_from_the_words() -> None:
    said = "we go we went to buy the the screen and it had had enough."
    words, cursor = [], 0.0
    for token in said.split():
        words.append(Word(word=token, start=cursor, end=cursor + 0.25, probability=0.9))
        cursor += 0.3
    found = RepeatsAndFalseStarts().detect(DetectionInput(words, None, []))
    assert [(d.kind, d.text) for d in found] == [("false_start", "we go"), ("repeat", "the")]
    assert found[0].start == words[0].start and found[0].end == words[2].start  # up to the restart


def _said(text: str, gap_s: float = 0.05) -> list[Word]:
    words, cursor = [], 0.0
    for token in text.split():
        words.append(Word(word=token, start=cursor, end=cursor + 0.25, probability=0.9))
        cursor += 0.25 + gap_s
    return words


@pytest.mark.parametrize(
    ("said", "repair"),
    [
        ("she was she is the best", '"was" changed to "is"'),
        ("we bought we buy bread", '"bought" changed to "buy"'),
        ("you should you can go", '"should" changed to "can"'),
        ("try to try not to look", "said again with a word added"),
        ("the dough the dough should rest", "said twice"),
    ],
)
def test_a_restart_said_straight_on_is_cut_when_it_repairs_the_fragment(said: str, repair: str) -> None:
    found = RepeatsAndFalseStarts().detect(DetectionInput(_said(said), None, []))
    assert [d.kind for d in found] == ["false_start"]
    assert repair in found[0].evidence[0].detail
    assert found[0].confidence >= DirectorConfig().repeat_min_confidence


@pytest.mark.parametrize(
    "said",
    ["we walked to the park to play", "we know we can win", "he said he would call", "it is what it is. it"],
)
def test_a_phrase_that_goes_on_is_not_a_false_start_to_cut(said: str) -> None:
    found = RepeatsAndFalseStarts().detect(DetectionInput(_said(said), None, []))
    assert all(d.confidence < DirectorConfig().repeat_min_confidence for d in found), found


@pytest.mark.parametrize(
    ("written", "said"),
    [("$300", "300 dollars"), ("$1,500.", "1500 dollars"), ("£20,", "20 pounds"), ("60%", "60%")],
)
def test_money_is_synthesised_in_the_order_it_is_said(written: str, said: str) -> None:
    assert speakable(written) == said


def test_forms_of_one_word_share_a_family() -> None:
    assert word_family("went") == word_family("go") == word_family("goes")
    assert word_family("Was,") == word_family("is")
    assert word_family("walked") == word_family("walks") == "walk"
    assert word_family("should") == word_family("can")
    assert word_family("know") != word_family("can")


def test_a_low_voice_is_voiced_and_a_rumble_is_not() -> None:
    rate = 16000
    t = np.arange(rate * 2) / rate
    # an 80 Hz voice: a glottal-like pulse train through a formant, and brown noise of the same level
    voice = sum(np.sin(2 * np.pi * 80 * k * t) / k for k in range(1, 30)).astype(np.float32)
    rumble = np.cumsum(np.random.default_rng(1).standard_normal(t.size)).astype(np.float32)
    rumble -= np.convolve(rumble, np.ones(400) / 400, mode="same").astype(np.float32)
    for samples, voiced in ((voice, True), (rumble, False)):
        frames = frame_features(0.3 * samples / np.abs(samples).max(), rate)
        share = float(np.mean(frames.voicing[5:-5] > VOICING_THRESHOLD))
        assert (share > 0.9) if voiced else (share < 0.3), share
    assert np.median(frame_features(voice / np.abs(voice).max(), rate).f0_hz[5:-5]) == pytest.approx(
        80, rel=0.03
    )


def test_noise_lowers_what_was_heard_not_what_was_written() -> None:
    written = Disfluency(kind="repeat", start=1.0, end=1.2, text="the", confidence=0.85, word_indices=[3],
                         evidence=[Evidence(detector="repeats", score=0.85, detail="")])  # fmt: skip
    heard = Disfluency(kind="filler", start=2.0, end=2.2, text="", confidence=0.8, word_indices=[],
                       evidence=[Evidence(detector="aligned", score=0.8, detail="")])  # fmt: skip
    merged = merge_detections([written, heard], scale=0.5, words_only_scale=0.9)
    assert [d.confidence for d in merged] == [pytest.approx(0.765), pytest.approx(0.4)]


def test_a_filler_spoken_about_is_a_word_when_the_lexicon_says_so() -> None:
    words = [Word(word=t, start=i * 0.3, end=i * 0.3 + 0.25, probability=0.9)
             for i, t in enumerate("the word um is a filler".split())]  # fmt: skip
    assert mentioned_fillers(words, AsrConfig().filler_mentions) == {2}
    assert mentioned_fillers(words, []) == set()


def test_the_lexicon_choice_decides_the_plan_for_a_mentioned_filler() -> None:
    from ave_core.asr import RecognizedSegment, RecognizedSpeech, RecognizedWord
    from ave_core.models import Span
    from ave_core.transcript import build_transcript

    said = [("The", 1.0, 1.2), ("word", 1.2, 1.5), ("um", 1.5, 1.8), ("is", 1.8, 1.95), ("a", 1.95, 2.0),
            ("filler.", 2.0, 2.5)]  # fmt: skip
    speech = RecognizedSpeech(
        "en",
        [RecognizedSegment(1.0, 2.5, "The word um is a filler.", [RecognizedWord(*w, 0.9) for w in said])],
        "faster-whisper", "tiny.en",
    )  # fmt: skip
    audio = AudioAnalysis(
        producer=make_producer("audio", "test"), has_audio=True, duration_s=3.5,
        speech=[Span(start=0.98, end=2.52)], silences=[Span(start=0.0, end=0.98), Span(start=2.52, end=3.5)],
    )  # fmt: skip

    def cut_um(asr: AsrConfig) -> bool:
        transcript = build_transcript(speech, audio, asr)
        ctx = DirectorInput(3.5, audio, transcript, Analysis(producer=make_producer("analyze", "test")))
        plan = rule_based_plan(ctx, DirectorConfig())
        return covered(1.5, 1.8, [(c.start, c.end) for c in plan.cuts]) > 0.2

    assert not cut_um(AsrConfig())  # default: "the word um" is a mention, kept
    assert cut_um(AsrConfig(filler_mentions=[]))  # configured without mentions: every "um" is a filler


def test_syllables_of_written_words() -> None:
    assert [expected_syllables(w) for w in ["the", "display.", "calibrate", "used", "beautiful", "um"]] == [
        1, 2, 3, 1, 3, 1,
    ]  # fmt: skip


# --- the whole path on generated speech -----------------------------------------------------


@pytest.fixture(scope="session")
def inline_clips(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, CorpusItem]]:
    """The same sentences with fillers said inside them, in two voices (each said in a fresh process: see
    fresh_process)."""
    folder = tmp_path_factory.mktemp("inline")
    return [
        (folder / f"inline-{k}.wav", fresh_process(make_item, folder, f"inline-{k}", INLINE, voice, "test"))
        for k, voice in enumerate(VOICES)
    ]


@pytest.fixture(scope="session")
def inline_edits(whisper_model: str, inline_clips) -> list[tuple[CorpusItem, Transcript, Plan]]:
    """Each inline clip transcribed and planned once."""
    return [(item, *edit(wav, whisper_model)[:2]) for wav, item in inline_clips]


NOT_MET = (
    "issue 11's goal, not met: tiny.en writes no word for most fillers said inside a sentence or writes "
    "another word over them; the detectors find about two in five of them on the held-out voices, and a "
    "cut never reaches past a kept word's recogniser times (docs/benchmarks.md)"
)


@pytest.mark.xfail(strict=True, reason=NOT_MET)
@pytest.mark.parametrize("k", [0, 1])
def test_inline_fillers_are_cut(inline_edits, k: int) -> None:
    item, transcript, plan = inline_edits[k]
    cuts = [(c.start, c.end) for c in plan.cuts]
    fillers = [w for w in item.words if w.kind == "filler"]
    uncut = [(f.text, f.start) for f in fillers if covered(f.start, f.end, cuts) < 0.8 * (f.end - f.start)]
    assert not uncut, (uncut, [d.model_dump() for d in transcript.disfluencies])


CLIPS_WORDS = (
    "issue 11, not met: in the second voice's inline clip the plan cuts 'these are' with a filler "
    "(the held-out voices lose 6 content words in 15 talks, docs/benchmarks.md)"
)


@pytest.mark.parametrize("k", [0, pytest.param(1, marks=pytest.mark.xfail(strict=True, reason=CLIPS_WORDS))])
def test_inline_clips_lose_no_word_and_cuts_say_why(inline_edits, k: int) -> None:
    item, transcript, plan = inline_edits[k]
    assert clipped(item, plan) == []
    for cut in plan.cuts:
        assert cut.rationale and 0 < cut.confidence <= 1
    assert all(w.start_raw is not None and w.end_raw is not None for w in transcript.words)


def _edge_errors(item: CorpusItem, transcript: Transcript) -> tuple[list[float], list[float]]:
    from bench.disfluency import boundary_errors

    return boundary_errors(item, transcript.words, raw=False), boundary_errors(
        item, transcript.words, raw=True
    )


@pytest.mark.parametrize("k", [0, 1])
def test_refined_word_edges_are_within_40_ms(inline_edits, k: int) -> None:
    item, transcript, _ = inline_edits[k]
    refined, _ = _edge_errors(item, transcript)
    assert len(refined) >= 0.7 * 2 * sum(w.kind == "word" for w in item.words)
    assert np.median(refined) <= 0.04, sorted(refined)


def test_refinement_moves_edges_into_the_pause() -> None:
    samples, words = speak_timed("Welcome home. Heating matters.", Voice())
    x = resample(samples, 22050, 16000)
    truth = [(w.start_sample / 22050, w.end_sample / 22050) for w in words]
    # the recogniser's guess: 120 ms late everywhere, edges running into the pause
    tokens = ["Welcome", "home.", "Heating", "matters."]
    guessed = [
        Word(word=t, start=a + 0.12, end=b + 0.12, probability=0.9)
        for t, (a, b) in zip(tokens, truth, strict=True)
    ]
    refined = refine_word_times(guessed, frame_features(x))
    assert abs(refined[1].end - truth[1][1]) <= 0.02  # "home." ends where the pause starts
    assert abs(refined[2].start - truth[2][0]) <= 0.02  # "Heating" starts where it ends
    assert refined[1].end_raw == guessed[1].end


def _recognised_like(item: CorpusItem, drop: set[str], shift_s: float) -> list[Word]:
    """The truth words as a recogniser might give them: fillers of `drop` kinds left out, every time
    `shift_s` late and the word before a dropped filler stretched over it (as Whisper does)."""
    words: list[Word] = []
    for truth in item.words:
        if truth.kind in drop:
            if words:
                words[-1] = words[-1].model_copy(update={"end": truth.end + shift_s})
            continue
        for n, text in enumerate(truth.text.split()):  # espeak's "in the" is one truth word
            share = (truth.end - truth.start) / len(truth.text.split())
            start = truth.start + n * share + shift_s
            words.append(Word(word=text, start=round(start, 3), end=round(start + share, 3), probability=0.9))
    return words


@pytest.fixture(scope="session")
def held_out_talk(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, CorpusItem]:
    """Inline fillers said by a voice the alignment's parameters were not chosen on, under 20 dB noise."""
    folder = tmp_path_factory.mktemp("aligned")
    item = fresh_process(
        make_item, folder, "talk", INLINE, Voice("en-gb-scotland", 175, 55), "test", snr_db=20.0
    )
    return read_pcm16(folder / "talk.wav")[0], item


def test_alignment_puts_word_edges_within_40_ms_and_finds_the_dropped_fillers(held_out_talk) -> None:
    samples, item = held_out_talk
    words = _recognised_like(item, {"filler"}, shift_s=0.12)
    aligned, alignment, why = aligned_word_times(words, samples)
    assert alignment is not None, why
    spoken = [t for t in item.words if t.kind != "filler"]
    errors = [abs(w.start - t.start) for w, t in zip(aligned, spoken, strict=False) if " " not in t.text]
    errors += [abs(w.end - t.end) for w, t in zip(aligned, spoken, strict=False) if " " not in t.text]
    assert np.median(errors) <= 0.04, sorted(errors)
    assert aligned[0].start_raw == words[0].start  # the recogniser's times are kept
    # every filler the words left out is audio a gap absorbed, not stretched onto the word before
    for filler in (t for t in item.words if t.kind == "filler"):
        assert any(a <= filler.start + 0.05 and filler.end - 0.05 <= b for _, a, b in alignment.gaps), filler


def test_a_long_recording_is_aligned_window_by_window_as_well_as_at_once(held_out_talk) -> None:
    """Hours are aligned one listening window at a time (memory); the joined result must place the words
    and the dropped fillers as the alignment of the whole does."""
    from ave_core.align import align_in_windows, align_words
    from ave_core.audio import quiet_window_bounds

    samples, item = held_out_talk
    words = _recognised_like(item, {"filler"}, shift_s=0.12)
    bounds = quiet_window_bounds(samples, 16000, window_s=samples.size / 16000 / 3.5)
    assert len(bounds) >= 4  # three windows or more
    whole, joined = align_words(words, samples), align_in_windows(words, samples, bounds)
    assert whole is not None and joined is not None
    assert len(joined.spans_s) == len(words) and joined.audio_features.shape == whole.audio_features.shape
    moved = [abs(a - b) for (a, _), (b, _) in zip(joined.spans_s, whole.spans_s, strict=True)]
    moved += [abs(a - b) for (_, a), (_, b) in zip(joined.spans_s, whole.spans_s, strict=True)]
    assert np.median(moved) <= 0.01 and np.percentile(moved, 90) <= 0.03, sorted(moved)[-5:]
    for filler in (t for t in item.words if t.kind == "filler"):
        assert any(a <= filler.start + 0.05 and filler.end - 0.05 <= b for _, a, b in joined.gaps), filler


def test_the_short_dtw_finds_the_same_path_as_the_traced_one() -> None:
    from ave_core.align import _reference_distance, sequence_distance

    rng = np.random.default_rng(0)
    for _ in range(50):
        a = rng.standard_normal((int(rng.integers(1, 40)), 25))
        b = rng.standard_normal((int(rng.integers(1, 40)), 25))
        assert sequence_distance(a, b, 1.7) == pytest.approx(_reference_distance(a, b, 1.7), rel=1e-6)
    same = rng.standard_normal((30, 25))
    assert sequence_distance(same, same) == 0.0
    assert sequence_distance(same[:0], same) == float("inf")


def test_alignment_is_dropped_when_the_words_are_not_what_was_said(held_out_talk) -> None:
    samples, item = held_out_talk
    wrong = "Please read the second chapter before the next lesson and bring your notes with you".split()
    duration = item.words[-1].end - item.words[0].start
    step, first = duration / len(wrong), item.words[0].start
    words = [
        Word(
            word=w,
            start=round(first + i * step, 3),
            end=round(first + i * step + 0.8 * step, 3),
            probability=1,
        )
        for i, w in enumerate(wrong)
    ]
    kept, alignment, why = aligned_word_times(words, samples)
    assert alignment is None and "failed" in why
    assert [(w.start, w.end) for w in kept] == [(w.start, w.end) for w in words]


@pytest.fixture(scope="module")
def clean_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CorpusItem]:
    folder = tmp_path_factory.mktemp("clean")
    sentences = [
        "The museum opens at nine and closes at five in the evening.",
        "Please read the second chapter.",
    ]
    return folder / "clean.wav", fresh_process(
        make_item, folder, "clean", sentences, Voice("en-gb-scotland", 170, 50), "test"
    )


def test_a_clean_sentence_gets_no_filler_cut(whisper_model: str, clean_clip) -> None:
    wav, item = clean_clip
    _, plan, _ = edit(wav, whisper_model)
    assert [c for c in plan.cuts if "filler" in c.reason] == []
    assert clipped(item, plan) == []


@pytest.fixture(scope="module")
def jfk_edit(whisper_model: str, shared_dev: Path, tmp_path_factory: pytest.TempPathFactory):
    wav = tmp_path_factory.mktemp("jfk") / "jfk.wav"
    ffmpeg("-i", str(shared_dev / "speech/jfk/jfk.flac"), "-ac", "1", "-ar", "16000", str(wav))
    return edit(wav, whisper_model)


def test_jfk_gets_no_filler_cut(jfk_edit) -> None:
    _, plan, _ = jfk_edit
    assert [c for c in plan.cuts if c.reason != "silence"] == [], plan.cuts


@pytest.mark.xfail(
    strict=True,
    reason="issue 11, not met: the aligned detector hears a 90 ms filler (confidence 0.51) in JFK's speech; "
    "it came with the models retrained on the corrected voicing measure",
)
def test_jfk_gets_no_filler_detected(jfk_edit) -> None:
    transcript, _, _ = jfk_edit
    assert not [d for d in transcript.disfluencies if d.confidence >= DirectorConfig().filler_min_confidence]


def test_um_spoken_about_is_kept_only_when_the_lexicon_says_so(whisper_model: str, tmp_path: Path) -> None:
    # set off by commas and said by this voice, the 'um' is one tiny.en writes, after "The word"
    item = fresh_process(
        make_item, tmp_path, "mention", ["The word, {um}, is a filler."], Voice("en-us+f3", 140, 50), "test"
    )
    wav = tmp_path / "mention.wav"
    transcript, plan, _ = edit(wav, whisper_model)
    written = [w.word.strip(".,").lower() for w in transcript.words]
    assert written[:3] == ["the", "word", "um"], written
    um = next(w for w in item.words if w.kind == "filler")
    cuts = [(c.start, c.end) for c in plan.cuts]
    assert covered(um.start, um.end, cuts) < 0.02  # a mention: kept by the default filler_mentions
    _, plan_all, _ = edit(wav, whisper_model, AsrConfig(filler_mentions=[]))
    cuts_all = [(c.start, c.end) for c in plan_all.cuts]
    assert covered(um.start, um.end, cuts_all) > 0.5 * (um.end - um.start)  # no mentions: cut as a filler


# --- hostile audio --------------------------------------------------------------------------


def _hostile(folder: Path, kind: str) -> tuple[Path, CorpusItem]:
    sentences = ["These are {um} used to calibrate a display.", "It is really quite beautiful."]
    voice = Voice("en-us", 160, 50)
    if kind == "german":
        sentences = ["Das ist ein schöner Tag und wir gehen heute in den Park.", "Morgen regnet es wieder."]
        voice = Voice("de", 150, 50)
    if kind == "whisper":
        voice = Voice("en-us+whisper", 150, 50)
    item = fresh_process(make_item, folder, kind, sentences, voice, "test")  # see fresh_process
    wav = folder / f"{kind}.wav"
    samples, rate = read_pcm16(wav)
    if kind == "music":
        t = np.arange(samples.size) / rate
        chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6, 440.0))
        melody = np.sin(2 * np.pi * 523.3 * t * (1 + 0.02 * np.sin(2 * np.pi * 0.5 * t)))
        samples = mix_at_snr(samples, (chord + melody).astype(np.float32) / 3, 6.0, item.words)
        write_wav(wav, samples)
    if kind == "telephone":
        phone = folder / "phone.wav"
        ffmpeg("-i", str(wav), "-af", "highpass=f=300,lowpass=f=3400", "-ar", "8000", "-c:a", "pcm_mulaw",
               str(folder / "phone.wav"))  # fmt: skip
        ffmpeg("-i", str(phone), "-ar", "16000", "-c:a", "pcm_s16le", str(wav))
    return wav, item


@pytest.mark.parametrize("kind", ["german", "music", "whisper", "telephone"])
def test_hostile_audio_runs_through_with_a_warning(whisper_model: str, tmp_path: Path, kind: str) -> None:
    wav, item = _hostile(tmp_path, kind)
    transcript, plan, _ = edit(wav, whisper_model)
    assert transcript.conditions, f"{kind}: no condition recorded"
    assert any(c.message in transcript.producer.warnings for c in transcript.conditions)
    assert all(c.factor < 1 for c in transcript.conditions)
    if kind != "german":  # German words are no content words of an English transcript's truth
        assert clipped(item, plan) == [], [c.model_dump() for c in plan.cuts]
    else:
        words = [(w.start, w.end) for w in item.words]
        for cut in plan.cuts:
            inside = [w for w in words if covered(w[0], w[1], [(cut.start, cut.end)]) >= 0.02]
            assert not inside or cut.reason == "silence", cut


def test_synthesis_and_resampling_keep_the_length() -> None:
    samples, words, check = synthesize(["Good {um} morning."], Voice())
    assert check == 0.0 and samples.dtype == np.float32
    end = int(words[-1].end * CORPUS_RATE)
    assert end < samples.size and np.max(np.abs(samples[end + 160 :])) < 0.01  # espeak's final pause
    assert np.sqrt(np.mean(samples[end - 320 : end] ** 2)) > 0.01  # the last word sounds to its end
