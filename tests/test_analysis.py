"""ave_core.analysis on hand-built transcripts and audio analyses, and a generated click track."""

from __future__ import annotations

import time
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from ave_core.analysis import CONTENT_PATHS, analyze_content, spoken_numbers
from ave_core.config import AnalysisConfig
from ave_core.errors import ArtifactError
from ave_core.models import AudioAnalysis, AudioPeak, Segment, Transcript, Word, make_producer
from ave_core.transcript import empty_transcript

FILLERS = {"um", "uh", "erm"}
WORD_S = 0.4  # seconds per word when the next sentence leaves room

HEATING = [
    "Welcome to this lesson about heating your home and keeping the heat inside.",
    "Heating is the biggest part of the energy bill in most homes.",
    "A house loses heat through the roof, the walls, the windows and the floor.",
    "Insulation slows down how fast the heat escapes from the house.",
    "Roof insulation is the cheapest insulation you can install yourself.",
    "Wall insulation costs more but the walls lose a lot of heat.",
    "Double glazing on the windows keeps the heat inside and the noise outside.",
    "A modern boiler burns gas more efficiently than an old boiler.",
    "A heat pump moves heat from the outside air into the house.",
    "The heat pump works best in a house with good insulation.",
    "Radiators in a well insulated house can run at a lower temperature.",
    "Turn the thermostat down by one degree to save on heating.",
    "A smart thermostat learns when the house is empty and lowers the heating.",
    "Draught proofing around doors and windows stops cold air coming in.",
    "Check the insulation in the loft before the winter starts.",
    "Good insulation and a heat pump together halve the heating bill.",
]
CARS = [
    "Now let us talk about electric cars and how they work.",
    "An electric car has a battery and an electric motor instead of an engine.",
    "The battery stores the electricity that drives the motor.",
    "The range of an electric car is how far it drives on one charge of the battery.",
    "Most electric cars drive three hundred kilometres on a full battery.",
    "Charging the battery at home overnight is cheap and simple.",
    "A fast charger on the motorway fills the battery in half an hour.",
    "Charging stations are now common in supermarkets and car parks.",
    "Electric motors are quiet and need very little maintenance.",
    "The battery loses some capacity over the years but slowly.",
    "Regenerative braking turns the motor into a generator and charges the battery.",
    "Cold weather reduces the range because the battery works less well.",
    "Electric cars cost more to buy but less to drive.",
    "Many drivers charge their electric car with solar panels.",
    "The charging cable and the charger decide how fast the battery charges.",
    "An electric car is a good choice if most trips are short.",
]
TOPIC_CHANGE_S = 240.0


def build_transcript(sentences: Sequence[tuple[str, float]]) -> Transcript:
    """Words spread evenly over each sentence (until the next one starts), one segment per sentence."""
    words: list[Word] = []
    segments: list[Segment] = []
    for index, (sentence, start) in enumerate(sentences):
        tokens = sentence.split()
        room = sentences[index + 1][1] - start - 0.3 if index + 1 < len(sentences) else len(tokens) * WORD_S
        step = min(WORD_S, room / len(tokens))
        for k, text in enumerate(tokens):
            begin = round(start + k * step, 3)
            bare = text.lower().strip(",.!?")
            words.append(
                Word(
                    word=text,
                    start=begin,
                    end=round(begin + step * 0.9, 3),
                    probability=0.9,
                    is_filler=bare in FILLERS,
                )
            )
        segments.append(Segment(start=start, end=words[-1].end, text=sentence))
    return Transcript(
        producer=make_producer("transcribe", "test"),
        language="en",
        text=" ".join(s for s, _ in sentences),
        segments=segments,
        words=words,
        backend="sidecar",
        model="test.srt",
    )


def build_audio(duration_s: float, peaks: Sequence[tuple[float, float]] = ()) -> AudioAnalysis:
    """An audio.json with (time, prominence dB) peaks."""
    return AudioAnalysis(
        producer=make_producer("audio", "test"),
        has_audio=True,
        duration_s=duration_s,
        peaks=[AudioPeak(time=t, level_db=-20.0, prominence_db=p) for t, p in peaks],
    )


def lecture() -> list[tuple[str, float]]:
    """Four minutes on heating, then four on electric cars, a sentence every 15 s."""
    return [(s, 15.0 * i) for i, s in enumerate(HEATING + CARS)]


# --- concepts and chapters -------------------------------------------------------------------


@pytest.fixture(scope="module")
def lecture_analysis():
    transcript = build_transcript(lecture())
    return analyze_content(transcript, build_audio(480.0), AnalysisConfig(), duration_s=480.0)


def test_concepts_are_the_key_terms(lecture_analysis) -> None:
    terms = [c.term for c in lecture_analysis.concepts]
    assert len(terms) <= AnalysisConfig().max_concepts
    joined = " | ".join(terms)
    for expected in ("insulation", "heat pump", "battery", "electric car"):
        assert expected in joined, terms
    assert all(0 < c.score <= 1 for c in lecture_analysis.concepts)
    assert lecture_analysis.concepts[0].score == 1.0
    assert len(set(terms)) == len(terms)


def test_concept_times_are_where_the_phrase_is_said(lecture_analysis) -> None:
    transcript = build_transcript(lecture())
    starts = {w.start: w for w in transcript.words}
    for concept in lecture_analysis.concepts:
        first = concept.term.split()[0].lower()
        assert concept.times, concept
        for t in concept.times:
            assert starts[t].word.lower().strip(",.").startswith(first), (concept, t)


def test_chapters_follow_the_topic_change(lecture_analysis) -> None:
    chapters = lecture_analysis.chapters
    assert chapters[0].start == 0.0
    assert len(chapters) >= 2
    assert any(abs(c.start - TOPIC_CHANGE_S) <= 30 for c in chapters[1:]), chapters
    for before, after in zip(chapters, chapters[1:], strict=False):
        assert before.end == after.start
        assert after.start - before.start >= AnalysisConfig().min_chapter_s
    assert chapters[-1].end == 480.0
    titles = [c.title for c in chapters]
    assert len(set(t.lower() for t in titles)) == len(titles)
    assert all(len(t.split()) <= 6 and t[0].isupper() for t in titles)
    heating = " ".join(t for c, t in zip(chapters, titles, strict=True) if c.start < TOPIC_CHANGE_S - 30)
    cars = " ".join(t for c, t in zip(chapters, titles, strict=True) if c.start >= TOPIC_CHANGE_S - 30)
    assert any(w in heating.lower() for w in ("heat", "insulation", "house", "boiler", "thermostat")), titles
    assert any(w in cars.lower() for w in ("electric", "battery", "car", "charg", "motor")), titles


def test_chapters_respect_limits() -> None:
    transcript = build_transcript(lecture())
    settings = AnalysisConfig(min_chapter_s=200.0, max_chapters=2)
    chapters = analyze_content(transcript, build_audio(480.0), settings, duration_s=480.0).chapters
    assert 1 <= len(chapters) <= 2
    assert all((c.end or 0) - c.start >= 200.0 for c in chapters)
    one = analyze_content(transcript, build_audio(480.0), AnalysisConfig(max_chapters=1)).chapters
    assert len(one) == 1 and one[0].start == 0.0
    assert one[0].end == transcript.words[-1].end


def test_themes_are_short_recurring_topics(lecture_analysis) -> None:
    assert 1 <= len(lecture_analysis.themes) <= 5
    assert all(1 <= len(t.split()) <= 2 for t in lecture_analysis.themes)
    text = " ".join(lecture_analysis.themes)
    assert any(w in text for w in ("heat", "battery", "electric", "insulation", "car")), (
        lecture_analysis.themes
    )


def test_fillers_never_become_concepts() -> None:
    said = [
        ("Solar panels, um, turn sunlight um into electricity um on the roof.", 0.0),
        ("Um, solar panels um work best um facing south, uh, um.", 8.0),
        ("The inverter, um, turns um the current into um household current.", 16.0),
        ("Um um, solar panels um pay for um themselves um in ten years.", 24.0),
    ]
    transcript = build_transcript(said)
    fillers = [w for w in transcript.words if w.is_filler]
    assert len(fillers) >= 12  # the helper flagged them, so this test tests the analysis
    analysis = analyze_content(transcript, build_audio(32.0), AnalysisConfig())
    assert analysis.concepts
    filler_times = {w.start for w in fillers}
    for concept in analysis.concepts:
        assert not set(concept.term.lower().replace(",", "").split()) & FILLERS, concept
        assert not set(concept.times) & filler_times, concept
    assert "solar panels" in [c.term for c in analysis.concepts]
    assert not any(t in FILLERS for t in analysis.themes)


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "text", "value", "kind", "word_index"),
    [
        ("Heating uses about 60 percent of the energy.", "60 percent", 60.0, "percent", 3),
        ("The new boiler costs $300 in total.", "$300", 300.0, "money", 4),
        ("A service costs 300 dollars a year.", "300 dollars", 300.0, "money", 3),
        ("And in 1969 we landed on the moon.", "1969", 1969.0, "year", 2),
        ("Last year three hundred students joined.", "three hundred students", 300.0, "count", 2),
        ("Prices rose by 2.5% last year.", "2.5%", 2.5, "percent", 3),
        ("It holds 1,200 litres of water.", "1,200 litres", 1200.0, "count", 2),
        ("That is sixty per cent of it.", "sixty per cent", 60.0, "percent", 2),
        ("It was built in two thousand and five.", "two thousand and five", 2005.0, "year", 4),
        ("Back in nineteen sixty-nine, it flew.", "nineteen sixty-nine", 1969.0, "year", 2),
        ("A ticket is twenty euros.", "twenty euros", 20.0, "money", 3),
        ("The rating was 3.5 overall.", "3.5", 3.5, "other", 3),
        ("We have 2 million users.", "2 million users", 2e6, "count", 2),
    ],
)
def test_numbers_are_read_with_kind_value_and_time(sentence, text, value, kind, word_index) -> None:
    transcript = build_transcript([(sentence, 10.0)])
    found = spoken_numbers(transcript.words)
    assert len(found) == 1, found
    assert (found[0].text, found[0].value, found[0].kind) == (text, value, kind)
    assert found[0].time == transcript.words[word_index].start
    assert found[0].context == sentence


def test_numbers_in_a_transcript_keep_their_sentence() -> None:
    said = [
        ("Heating uses about 60 percent of the energy.", 0.0),
        ("Um, a new boiler costs $300.", 5.0),
        ("One of them is broken.", 9.0),
        ("In 1969 we landed on the moon.", 12.0),
    ]
    transcript = build_transcript(said)
    analysis = analyze_content(transcript, build_audio(20.0), AnalysisConfig())
    found = [(n.text, n.kind, n.context) for n in analysis.numbers]
    assert found == [
        ("60 percent", "percent", said[0][0]),
        ("$300", "money", "a new boiler costs $300."),
        ("1969", "year", said[3][0]),
    ]
    assert [n.time for n in analysis.numbers] == pytest.approx([3 * 0.4, 5.0 + 5 * 0.4, 12.0 + 0.4])


def test_a_year_followed_by_a_noun_is_a_count() -> None:
    found = spoken_numbers(build_transcript([("We sold 2000 bikes.", 0.0)]).words)
    assert [(n.kind, n.value) for n in found] == [("count", 2000.0)]


# --- emotional peaks -------------------------------------------------------------------------


def test_exclamation_with_an_audio_peak_is_an_emotional_peak() -> None:
    said = [
        ("The table has four legs and a flat top.", 0.0),
        ("The chairs are made of wood and metal.", 10.0),
        ("This result is absolutely amazing, I love it!", 20.0),
        ("The room is on the second floor of the building.", 30.0),
    ]
    audio = build_audio(40.0, peaks=[(21.5, 15.0), (3.0, 3.0)])
    analysis = analyze_content(build_transcript(said), audio, AnalysisConfig())
    peaks = analysis.emotional_peaks
    assert [p.time for p in peaks] == [21.5], peaks
    assert peaks[0].score > AnalysisConfig().emotion_threshold
    assert "exclamation" in peaks[0].cues
    assert any(c.startswith("audio peak +15") for c in peaks[0].cues)
    assert any(c.startswith("sentiment +") for c in peaks[0].cues)
    assert 0 <= peaks[0].score <= 1


def test_audio_makes_the_difference_for_a_mild_sentence() -> None:
    said = [("This part is really important.", 0.0), ("The chairs are made of wood.", 10.0)]
    transcript = build_transcript(said)
    flat = analyze_content(transcript, build_audio(20.0), AnalysisConfig())
    loud = analyze_content(transcript, build_audio(20.0, peaks=[(1.0, 14.0)]), AnalysisConfig())
    assert flat.emotional_peaks == []
    assert [p.time for p in loud.emotional_peaks] == [1.0]


def test_peaks_are_at_least_five_seconds_apart() -> None:
    said = [("Wow, this is amazing!", 0.0), ("I love it, incredible!", 2.0), ("Great, wonderful!", 30.0)]
    audio = build_audio(40.0, peaks=[(0.5, 12.0), (2.5, 14.0)])
    peaks = analyze_content(build_transcript(said), audio, AnalysisConfig()).emotional_peaks
    assert [p.time for p in peaks][:1] == [2.5]
    assert all(b.time - a.time >= 5.0 for a, b in zip(peaks, peaks[1:], strict=False))


# --- music ------------------------------------------------------------------------------------


def clicks(bpm: float, seconds: float, pitch_hz: float = 1000.0, rate: int = 16000) -> np.ndarray:
    """Short decaying clicks on every beat."""
    samples = np.zeros(int(seconds * rate), dtype=np.float32)
    t = np.arange(int(0.01 * rate)) / rate
    click = np.sin(2 * np.pi * pitch_hz * t) * np.exp(-t / 0.0025)
    for start in np.arange(0.0, seconds, 60.0 / bpm):
        i = int(start * rate)
        samples[i : i + click.size] += click[: samples.size - i] * 0.8
    return samples


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    """16 kHz mono 16-bit PCM, as the extract_audio rule writes it."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_music_beats_and_tempo(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "clicks.wav", clicks(120.0, 20.0))
    settings = AnalysisConfig(content_type="music", min_chapter_s=8.0)
    analysis = analyze_content(empty_transcript(None), build_audio(20.0), settings, wav_path=wav)
    assert analysis.content_type == "music"
    assert analysis.tempo_bpm is not None
    # librosa may lock onto half or double time; the beat grid must still be the clicks' grid
    assert any(abs(analysis.tempo_bpm - bpm) <= 0.02 * bpm for bpm in (60, 120, 240)), analysis.tempo_bpm
    spacing = np.diff(analysis.beats)
    assert len(analysis.beats) >= 15
    period = float(np.median(spacing))
    assert abs(period / 0.5 - round(period / 0.5)) < 0.1 or abs(0.5 / period - round(0.5 / period)) < 0.1
    assert np.all(np.abs(spacing - period) < 0.05)
    phase = np.array(analysis.beats) % 0.5
    assert np.all(np.minimum(phase, 0.5 - phase) < 0.05), analysis.beats
    assert analysis.numbers == [] and analysis.concepts == []
    # an even click track has no sections
    assert [(c.start, c.end) for c in analysis.chapters] == [(0.0, 20.0)]
    assert analysis.producer.backend == "offline-music"
    assert "librosa" in analysis.producer.versions


def test_music_sections_follow_a_change_of_sound(tmp_path: Path) -> None:
    rate, half_s = 16000, 24.0
    first = clicks(120.0, half_s, 1000.0) + 0.2 * np.sin(
        2 * np.pi * 220 * np.arange(int(half_s * rate)) / rate
    )
    second = clicks(120.0, half_s, 3000.0) + np.random.default_rng(0).normal(0, 0.05, int(half_s * rate))
    wav = write_wav(tmp_path / "two parts.wav", np.concatenate([first, second]))
    settings = AnalysisConfig(content_type="music", min_chapter_s=10.0)
    analysis = analyze_content(empty_transcript(None), build_audio(48.0), settings, wav_path=wav)
    assert [c.title for c in analysis.chapters] == ["Part 1", "Part 2"], analysis.chapters
    assert abs(analysis.chapters[1].start - half_s) <= 1.0
    assert analysis.chapters[1].end == 48.0


def test_music_with_speech_still_reads_no_numbers(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "clicks.wav", clicks(120.0, 12.0))
    transcript = build_transcript([("Sixty percent of my heart is yours, 300 dollars!", 1.0)])
    audio = build_audio(12.0, peaks=[(2.0, 15.0), (8.0, 4.0)])
    analysis = analyze_content(transcript, audio, AnalysisConfig(content_type="music"), wav_path=wav)
    assert analysis.numbers == []
    assert analysis.skip_reason is None
    assert [p.time for p in analysis.emotional_peaks] == [2.0]
    assert analysis.concepts


def test_music_without_audio_says_why(tmp_path: Path) -> None:
    settings = AnalysisConfig(content_type="music")
    analysis = analyze_content(empty_transcript(None), build_audio(20.0), settings, wav_path=None)
    assert analysis.beats == [] and analysis.tempo_bpm is None
    assert "no WAV" in (analysis.skip_reason or "")
    silent = AudioAnalysis(
        producer=make_producer("audio", "none"), has_audio=False, skip_reason="no audio track"
    )
    empty_wav = write_wav(tmp_path / "empty.wav", np.zeros(0))
    analysis = analyze_content(empty_transcript("no audio track"), silent, settings, wav_path=empty_wav)
    assert analysis.skip_reason == "no audio track"
    assert analysis.beats == [] and analysis.chapters == [] and analysis.emotional_peaks == []


def test_music_with_a_missing_wav_is_an_error(tmp_path: Path) -> None:
    settings = AnalysisConfig(content_type="music")
    with pytest.raises(ArtifactError, match="extract_audio"):
        analyze_content(empty_transcript(None), build_audio(20.0), settings, wav_path=tmp_path / "gone.wav")


def test_every_content_type_has_a_path() -> None:
    content_types = get_args(AnalysisConfig.model_fields["content_type"].annotation)
    assert set(CONTENT_PATHS.names) == set(content_types)


# --- nothing said ------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["educational", "general"])
def test_empty_transcript_is_skipped_with_its_reason(content_type) -> None:
    reason = "input/clip.mp4: no audio track — speech stages are skipped"
    audio = AudioAnalysis(producer=make_producer("audio", "none"), has_audio=False, skip_reason=reason)
    analysis = analyze_content(empty_transcript(reason), audio, AnalysisConfig(content_type=content_type))
    assert analysis.skip_reason is not None and reason in analysis.skip_reason
    assert analysis.content_type == content_type
    assert analysis.producer.backend == f"offline-{content_type}"
    for field in ("concepts", "themes", "numbers", "emotional_peaks", "chapters", "beats"):
        assert getattr(analysis, field) == [], field
    assert analysis.tempo_bpm is None


def test_transcript_without_words_but_no_reason_still_says_why() -> None:
    analysis = analyze_content(empty_transcript(None), build_audio(10.0, [(2.0, 20.0)]), AnalysisConfig())
    assert analysis.skip_reason
    assert analysis.emotional_peaks == [] and analysis.chapters == []


def test_a_long_lecture_is_analysed_quickly() -> None:
    sentences = (HEATING + CARS) * 5
    said = [(s, 5.6 * i) for i, s in enumerate(sentences)]  # ~1800 words over 15 minutes, topics of 90 s
    transcript = build_transcript(said)
    assert len(transcript.words) > 1800
    began = time.perf_counter()
    analysis = analyze_content(transcript, build_audio(900.0), AnalysisConfig(), duration_s=900.0)
    assert time.perf_counter() - began < 5.0
    changes = [16 * 5.6 * k for k in range(1, 10)]
    found = [c.start for c in analysis.chapters[1:]]
    assert len(found) >= 5
    assert all(min(abs(t - c) for c in changes) <= 15 for t in found), found
