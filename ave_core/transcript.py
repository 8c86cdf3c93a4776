"""From recognised speech to transcript.json: fillers, voiced stretches without words, and retakes."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np

from .align import Alignment, align_in_windows
from .asr import RECOGNIZERS, RecognizedSpeech, make_recognizer, recognize_in_windows, uses_captions
from .audio import open_pcm16, quiet_window_bounds
from .config import AsrConfig
from .disfluency import (
    DETECTORS,
    Frames,
    assess_conditions,
    detect_disfluencies,
    frame_features,
    mentioned_fillers,
    refine_word_times,
)
from .errors import ToolError
from .models import AudioAnalysis, Retake, Segment, Span, Transcript, Word, make_producer
from .text import squashed

# "like" after these words is a verb or a comparison, not a filler
_LIKE_IS_MEANT = {
    "i", "you", "we", "they", "would", "do", "don't", "did", "didn't", "to", "feel", "feels", "look",
    "looks", "sound", "sounds", "seem", "seems", "just", "really", "also", "more", "much", "something",
    "anything", "nothing", "things", "people", "he", "she", "it",
}  # fmt: skip
# "you know" after these words is a question or a clause, not a filler
_YOU_KNOW_IS_MEANT = {"do", "did", "if", "what", "as", "don't", "didn't", "now"}
NO_SPEECH = "no speech in the audio (voice activity detection found none): nothing to transcribe"
FILLER_PAUSE_S = 0.25  # a pause this long around "like" / "you know" marks it as a filler
PHRASE_PAUSE_S = 0.5  # a pause this long ends a phrase for retake detection
SNAP_DISTANCE_S = 1.5  # how far a filler may move onto a voiced stretch between its neighbours


def mark_fillers(words: list[Word], lexicon: Sequence[str]) -> None:
    """Set is_filler from the lexicon, plus context rules for "like", "you know" and "I mean"."""
    always = {squashed(w) for w in lexicon}
    for i, word in enumerate(words):
        token = squashed(word.word)
        before = words[i - 1] if i > 0 else None
        after = words[i + 1] if i + 1 < len(words) else None
        if token in always:
            word.is_filler = True
        elif token == "like" and _set_off(before, word, after):
            word.is_filler = (
                before is None or before.word.endswith(",") or squashed(before.word) not in _LIKE_IS_MEANT
            )
        elif token == "know" and before is not None and squashed(before.word) == "you":
            earlier = words[i - 2] if i > 1 else None
            meant = earlier is not None and squashed(earlier.word) in _YOU_KNOW_IS_MEANT
            if _set_off(earlier, before, after, last=word) and not meant:
                before.is_filler = word.is_filler = True
        elif token == "mean" and before is not None and squashed(before.word) == "i":
            if word.word.endswith(","):
                before.is_filler = word.is_filler = True


def _set_off(before: Word | None, first: Word, after: Word | None, last: Word | None = None) -> bool:
    """Whether a word (or two-word phrase) stands apart: commas or pauses on both sides."""
    last = last or first
    left = before is None or before.word.endswith(",") or first.start - before.end >= FILLER_PAUSE_S
    right = (
        after is None
        or last.word.endswith(",")
        or after.start - last.end >= FILLER_PAUSE_S
        or bool(re.search(r"[,.!?]$", last.word))
    )
    return left and right


def distrust_long_fillers(words: Sequence[Word], max_filler_s: float) -> list[str]:
    """Unmark the fillers longer than `max_filler_s` and say so, one warning each.

    Real "um"s and "uh"s last 0.2-0.7 s. A longer one is the verbatim prompt at work: the model wrote "uh"
    over words it did not make out (a 1.85 s "uh" on a meeting), and cutting it as a filler cuts speech.
    """
    warnings = []
    for word in words:
        length = word.end - word.start
        if word.is_filler and length > max_filler_s:
            word.is_filler = False
            warnings.append(
                f'"{word.word.strip()}" at {word.start:.2f} s lasts {length:.2f} s, longer than a filler '
                f"(asr.max_filler_s {max_filler_s:g} s): kept as speech, not cut — the recogniser probably "
                "wrote it over words"
            )
    return warnings


def clip_to_speech(words: Sequence[Word], speech: Sequence[Span]) -> list[Word]:
    """Copies of the words with their edges pulled onto the VAD speech segment they overlap most.

    Whisper stretches words into the pauses beside them (a word can even swallow a dropped "uh");
    the VAD hears where the sound starts and stops, so cuts planned on these times do not clip words.
    """
    ends = [s.end for s in speech]  # the VAD's segments are in order and do not overlap
    refined = []
    for word in words:
        best: tuple[float, Span | None] = (0.0, None)
        # the segments that can overlap the word: from the first that ends after it starts
        for span in speech[bisect.bisect_right(ends, word.start) :]:
            if span.start >= word.end:
                break
            overlap = min(word.end, span.end) - max(word.start, span.start)
            if overlap > best[0]:
                best = (overlap, span)
        if best[1] is None:
            refined.append(word)
            continue
        start, end = max(word.start, best[1].start), min(word.end, best[1].end)
        refined.append(word.model_copy(update={"start": round(start, 3), "end": round(max(start, end), 3)}))
    return refined


def voiced_without_words(speech: Sequence[Span], words: Sequence[Word], min_s: float) -> list[Span]:
    """Parts of the VAD speech spans that no word covers, at least `min_s` long."""
    stretches: list[Span] = []
    ordered = sorted(words, key=lambda w: w.start)
    starts = [w.start for w in ordered]
    longest = max((w.end - w.start for w in ordered), default=0.0)
    for span in speech:
        cursor = span.start
        # words starting before span.start - longest end before the span: they cannot cover any of it
        first = bisect.bisect_left(starts, span.start - longest)
        for word in ordered[first : bisect.bisect_left(starts, span.end)]:
            if word.end <= cursor:
                continue
            if word.start - cursor >= min_s:
                stretches.append(Span(start=round(cursor, 3), end=round(word.start, 3)))
            cursor = max(cursor, word.end)
        if span.end - cursor >= min_s:
            stretches.append(Span(start=round(cursor, 3), end=round(span.end, 3)))
    return stretches


def snap_fillers(words: list[Word], stretches: list[Span]) -> list[Span]:
    """Move each filler onto the nearby voiced stretch that has no word; return the stretches left.

    Whisper places "um"/"uh" badly (often zero length, up to half a second off), while the VAD sees
    exactly where the sound is; a cut made on the snapped times removes the filler and nothing else.
    """
    remaining = list(stretches)
    for i, word in enumerate(words):
        if not word.is_filler or not remaining:
            continue
        low = words[i - 1].end if i > 0 else 0.0
        high = words[i + 1].start if i + 1 < len(words) else float("inf")
        centre = (word.start + word.end) / 2
        nearby = [
            s
            for s in remaining
            if s.start >= low - 0.05
            and s.end <= high + 0.05
            and abs((s.start + s.end) / 2 - centre) <= SNAP_DISTANCE_S
        ]
        if nearby:
            best = min(nearby, key=lambda s: abs((s.start + s.end) / 2 - centre))
            word.start, word.end = best.start, best.end
            remaining.remove(best)
    return remaining


def phrases(words: Sequence[Word]) -> list[list[int]]:
    """Indices of the non-filler words grouped into phrases split at punctuation and pauses."""
    groups: list[list[int]] = []
    current: list[int] = []
    previous_end = None
    for i, word in enumerate(words):
        if word.is_filler:
            continue
        if current and previous_end is not None and word.start - previous_end >= PHRASE_PAUSE_S:
            groups.append(current)
            current = []
        current.append(i)
        previous_end = word.end
        if re.search(r"([.!?;]|\.\.\.|—|-)$", word.word):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def find_retakes(words: Sequence[Word], settings: AsrConfig) -> list[Retake]:
    """Earlier takes of a phrase said again soon after: restarted at once, or as a new sentence."""
    retakes = _immediate_repeats(words, settings)
    taken = {(r.start, r.end) for r in retakes}
    for retake in _repeated_phrases(words, settings):
        overlaps = any(r.start < retake.end and retake.start < r.end for r in retakes)
        if (retake.start, retake.end) not in taken and not overlaps:
            retakes.append(retake)
    return sorted(retakes, key=lambda r: r.start)


def _retake(words: Sequence[Word], first: Sequence[int], later_start: float, similarity: float) -> Retake:
    return Retake(
        start=words[first[0]].start,
        end=words[first[-1]].end,
        text=" ".join(words[i].word for i in first),
        repeated_at=later_start,
        similarity=round(similarity, 3),
    )


def _similarity(a: Sequence[str], b: Sequence[str]) -> float:
    return SequenceMatcher(a=list(a), b=list(b), autojunk=False).ratio()


def _immediate_repeats(words: Sequence[Word], settings: AsrConfig) -> list[Retake]:
    """ "the second step is the second step is insulation": k words followed at once by the same k."""
    spoken = [i for i, w in enumerate(words) if not w.is_filler]
    tokens = [squashed(words[i].word) for i in spoken]
    # a take never spans the end of a sentence
    ends_sentence = [bool(re.search(r"[.!?]$", words[i].word)) for i in spoken]
    starts = [words[i].start for i in spoken]
    retakes: list[Retake] = []
    i = 0
    while i < len(spoken):
        found = 0
        # the second take starts within the window: only so many words on (an hour's words are not compared
        # with every later "the")
        reach = bisect.bisect_right(starts, starts[i] + settings.retake_window_s, lo=i) - 1 - i
        for k in range(min((len(spoken) - i) // 2, reach), settings.retake_min_words - 1, -1):
            if tokens[i] != tokens[i + k] or any(ends_sentence[i : i + k - 1]):
                continue
            similarity = _similarity(tokens[i : i + k], tokens[i + k : i + 2 * k])
            in_window = words[spoken[i + k]].start - words[spoken[i]].start <= settings.retake_window_s
            if similarity >= settings.retake_similarity and in_window:
                retakes.append(_retake(words, spoken[i : i + k], words[spoken[i + k]].start, similarity))
                found = k
                break
        i += found or 1
    return retakes


def _repeated_phrases(words: Sequence[Word], settings: AsrConfig) -> list[Retake]:
    """A phrase whose words start a later phrase within the window (a restarted sentence)."""
    groups = phrases(words)
    tokens = [[squashed(words[i].word) for i in g] for g in groups]
    retakes: list[Retake] = []
    for a, first in enumerate(groups):
        if len(first) < settings.retake_min_words:
            continue
        for b in range(a + 1, len(groups)):
            later = groups[b]
            if words[later[0]].start - words[first[-1]].end > settings.retake_window_s:
                break
            head = tokens[b][: len(tokens[a])]
            similarity = _similarity(tokens[a], head)
            if len(head) == len(tokens[a]) and similarity >= settings.retake_similarity:
                retakes.append(_retake(words, first, words[later[0]].start, similarity))
                break
    return retakes


@dataclass
class PreparedWords:
    """The recognised words on their way to transcript.json, and what the detectors look at."""

    words: list[Word]
    frames: Frames | None
    alignment: Alignment | None
    mentioned: set[int]
    stretches: list[Span]
    warnings: list[str]


def prepare_words(
    speech: RecognizedSpeech, audio: AudioAnalysis, settings: AsrConfig, samples: np.ndarray | None = None
) -> PreparedWords:
    """The recognised words with fillers marked, fillers snapped onto their voiced stretch, and times
    refined against the audio: aligned with the transcript spoken by espeak-ng (align.py) where that
    works, else moved onto the nearest pause or energy valley (disfluency.refine_word_times)."""
    words = [
        Word(
            word=w.word,
            start=round(w.start, 3),
            end=round(max(w.end, w.start), 3),
            probability=min(1.0, max(0.0, w.probability)),
            interpolated=w.interpolated,
        )
        for segment in speech.segments
        for w in segment.words
        if w.word
    ]
    mark_fillers(words, settings.filler_words)
    mentioned = mentioned_fillers(words, settings.filler_mentions)
    for index in mentioned:  # "the word um is a filler": the speaker talks about it (asr.filler_mentions)
        words[index].is_filler = False
    recognised = not speech.timed_by_a_person  # caption times are a person's, leave them
    frames = frame_features(samples) if samples is not None and samples.size and recognised else None
    words = clip_to_speech(words, audio.speech)
    warnings = distrust_long_fillers(words, settings.max_filler_s)
    stretches = voiced_without_words(audio.speech, words, settings.unlabelled_min_s)
    if recognised:
        stretches = snap_fillers(words, stretches)
        warnings += distrust_long_fillers(words, settings.max_filler_s)  # snapped onto a long voiced stretch
    alignment = None
    if frames is not None and samples is not None and settings.refine_word_times:
        # after the fillers found their voiced stretch: the alignment's band follows the words' times
        words, alignment, why = aligned_word_times(words, samples)
        if alignment is None:
            warnings.append(why)
            words = refine_word_times(words, frames)
        elif alignment.untrusted:
            warnings.append(
                f"{len(alignment.untrusted)} of {len(words)} words keep the recogniser's times: the "
                "alignment with the synthetic voice placed them too far from them"
            )
    return PreparedWords(words, frames, alignment, mentioned, stretches, warnings)


MAX_SHIFT_S = 0.5  # an aligned edge further than this from the recogniser's is not trusted
MAX_UNTRUSTED_SHARE = 0.25  # with more words untrusted than this, the alignment as a whole is dropped
MAX_PATH_COST = 2.0  # a mean path distance above this (in median units; corpus talks 1.2-1.6) is a failure


def aligned_word_times(words: list[Word], samples: np.ndarray) -> tuple[list[Word], Alignment | None, str]:
    """Copies of the words at the times the alignment with their synthetic rendering gives (the
    recogniser's kept in start_raw/end_raw), the alignment, and why not when it could not be made or
    failed. A word whose aligned edges lie more than MAX_SHIFT_S from the recogniser's, or that the
    alignment squeezed to nothing, keeps the recogniser's times (alignment.untrusted); when that is more
    than MAX_UNTRUSTED_SHARE of the words, or the path's mean distance is above MAX_PATH_COST, the
    transcript does not describe the audio well enough (or the voice is too unlike the synthetic one),
    and the alignment is not used at all."""
    try:
        alignment = align_in_windows(words, samples, quiet_window_bounds(samples, 16000))
    except ToolError as exc:
        return words, None, f"word times refined from the energy envelope only: {exc}"
    if alignment is None:
        return words, None, "word times refined from the energy envelope only: too little audio to align"
    untrusted = {
        k
        for k, (word, (start, end)) in enumerate(zip(words, alignment.spans_s, strict=True))
        if abs(start - word.start) > MAX_SHIFT_S
        or abs(end - word.end) > MAX_SHIFT_S
        or (end - start < 0.02 and word.end - word.start >= 0.06)
    }
    share = len(untrusted) / len(words)
    if share > MAX_UNTRUSTED_SHARE or alignment.path_cost > MAX_PATH_COST:
        return (
            words,
            None,
            (
                "word times refined from the energy envelope only: the alignment with the synthetic voice "
                f"failed ({share:.0%} of the words placed more than {MAX_SHIFT_S} s from the recogniser, "
                f"mean distance {alignment.path_cost:.2f})"
            ),
        )
    alignment.untrusted = untrusted
    aligned = [
        word.model_copy(
            update={
                "start": round(word.start if k in untrusted else start, 3),
                "end": round(max(word.end, word.start) if k in untrusted else max(end, start), 3),
                "start_raw": word.start_raw if word.start_raw is not None else word.start,
                "end_raw": word.end_raw if word.end_raw is not None else word.end,
            }
        )
        for k, (word, (start, end)) in enumerate(zip(words, alignment.spans_s, strict=True))
    ]
    return aligned, alignment, ""


def build_transcript(
    speech: RecognizedSpeech, audio: AudioAnalysis, settings: AsrConfig, samples: np.ndarray | None = None
) -> Transcript:
    """transcript.json from recognised speech, the audio stage's VAD and (when given) the 16 kHz samples:
    word times refined against the audio, fillers, repeats and false starts with their evidence."""
    prepared = prepare_words(speech, audio, settings, samples)
    words, frames = prepared.words, prepared.frames
    recognised = not speech.timed_by_a_person
    conditions = assess_conditions(frames, audio.speech, words) if recognised else []
    # a transcript the recogniser is unsure of does not describe the audio: what it leaves out is no
    # evidence of a filler (another language, mumbling)
    aligned = prepared.alignment is not None and not any(c.name == "unsure recogniser" for c in conditions)
    detectors = [
        DETECTORS[name]()
        for name in settings.detectors
        if (name != "acoustic" or frames is not None) and (name != "aligned" or aligned)
    ]
    disfluencies = detect_disfluencies(
        words, frames, audio.speech, detectors, prepared.mentioned, conditions, prepared.alignment
    )
    warnings = prepared.warnings + [c.message for c in conditions]
    segments = [Segment(start=s.start, end=s.end, text=s.text) for s in speech.segments]
    return Transcript(
        producer=make_producer(
            "transcribe",
            speech.backend,
            packages=RECOGNIZERS.packages(speech.backend),
            warnings=warnings,
        ),
        language=speech.language,
        text=" ".join(s.text for s in segments).strip(),
        segments=segments,
        words=words,
        backend=speech.backend,
        model=speech.model,
        unlabelled_speech=prepared.stretches,
        retakes=find_retakes(words, settings),
        disfluencies=disfluencies,
        conditions=conditions,
    )


def empty_transcript(reason: str | None) -> Transcript:
    """A transcript without words, saying why when there is a reason (no audio track)."""
    return Transcript(
        producer=make_producer("transcribe", "none"),
        language="und",
        text="",
        segments=[],
        words=[],
        backend="none",
        model="none",
        skip_reason=reason,
    )


def transcribe_video(
    wav_path: str | Path,
    audio: AudioAnalysis,
    captions: Sequence[str | Path],
    asr: AsrConfig,
    cpu_threads: int = 0,
) -> Transcript:
    """transcript.json for one video: captions when given and wanted, else speech recognition."""
    sidecar = Path(captions[0]) if captions else None
    from_captions = uses_captions(asr, sidecar)
    if not audio.has_audio and not from_captions:
        return empty_transcript(audio.skip_reason or "no audio track")
    if not audio.speech and not from_captions:
        # Whisper writes words into silence ("You. You. You."): hours of it would take minutes and leave
        # a transcript of nothing but hallucinations
        return empty_transcript(NO_SPEECH)
    recognizer = make_recognizer(asr, sidecar, cpu_threads)
    samples = None if from_captions else open_pcm16(wav_path)[0]  # int16 from the file, a window at a time
    speech = recognizer.recognize(None) if samples is None else recognize_in_windows(recognizer, samples)
    return build_transcript(speech, audio, asr, samples)
