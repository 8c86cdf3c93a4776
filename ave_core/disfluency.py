"""Disfluencies found wherever they are: fillers, repeated words and false starts, with evidence.

The recogniser alone misses most fillers said inside a sentence: Whisper writes "These are used" for
"These are, um, used" and stretches "are" over the "um". So detection does not depend on pauses. Three
detectors share one small interface (`DisfluencyDetector.detect(evidence) -> list[Disfluency]`):

- `LexiconFillers`: the fillers the recogniser wrote ("um", "uh", ...), unless the speaker is talking about
  the word ("the word um is a filler": `asr.filler_mentions`);
- `AcousticFillers`: syllable nuclei the words do not account for (a word holding more syllables than it
  has, or a voiced nucleus between words), scored by how much they sound like a filler: long, voiced,
  flat pitch, steady spectrum, a nasal close ("mm");
- `RepeatsAndFalseStarts`: "the the", and fragments abandoned and restarted ("we go we went").

`detect_disfluencies` runs them, merges what they find about the same stretch into one detection whose
confidence combines theirs, and lowers every confidence when the audio is unlike clean close speech
(`assess_conditions`: noise, telephone band, whispering, music, an unsure recogniser), saying so.
`refine_word_times` moves each word's edges from where the recogniser guessed onto the audio (silences,
energy valleys), keeping the original times.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from .audio import as_float32
from .models import AudioCondition, Disfluency, Evidence, Span, Word
from .text import squashed, word_family

if TYPE_CHECKING:
    from .align import Alignment

FRAME_HZ = 100  # analysis frames per second
WINDOW_S = 0.032
PITCH_MIN_HZ, PITCH_MAX_HZ = 70.0, 400.0
VOICING_THRESHOLD = 0.45  # normalised autocorrelation peak above which a frame is voiced
SEARCH_S = 0.15  # how far a word edge may move onto the audio
NUCLEUS_DIP_DB = 2.5  # dip between two syllable nuclei
FILLER_TOKENS = {"um", "uh", "er", "erm", "ah", "eh", "hmm", "mm", "mhm", "mmhmm", "uhm", "umm", "uhh", "hm"}
_LEGIT_REPEATS = {"had", "that", "is", "do", "very", "so", "no", "bye", "ha", "yeah", "really", "many"}


# --- frames ---------------------------------------------------------------------------------


@dataclass
class Frames:
    """10 ms analysis frames of 16 kHz mono speech."""

    energy_db: np.ndarray  # RMS level, dBFS
    voicing: np.ndarray  # normalised autocorrelation peak, 0-1
    f0_hz: np.ndarray  # pitch where voiced, else 0
    flux_db: np.ndarray  # mean absolute change of the log band spectrum from the frame before
    low_share: np.ndarray  # share of the energy below 500 Hz (a nasal murmur is nearly all there)
    high_share: np.ndarray  # share of the energy above 4 kHz (none on a telephone line)

    @property
    def count(self) -> int:
        return int(self.energy_db.size)

    def index(self, time_s: float) -> int:
        return int(min(max(round(time_s * FRAME_HZ), 0), max(self.count - 1, 0)))

    def time(self, index: int) -> float:
        return index / FRAME_HZ


FEATURE_BLOCK_FRAMES = 3000  # 30 s of frames per block


def frame_features(samples: np.ndarray, rate: int = 16000) -> Frames:
    """Energy, voicing, pitch, spectral flux and band shares of every 10 ms frame."""
    hop = rate // FRAME_HZ
    size = int(WINDOW_S * rate)
    count = max(1, int(np.ceil(samples.size / hop)))
    # a block of frames at a time, each from its own stretch of the samples (float32, zeros past either
    # end): the frames, spectra and autocorrelations of an hour take gigabytes, and `samples` may be int16
    # mapped from the file (audio.open_pcm16)
    blocks = []
    for first in range(0, count, FEATURE_BLOCK_FRAMES):
        numbers = np.arange(first, min(count, first + FEATURE_BLOCK_FRAMES))
        low, high = first * hop - size // 2, int(numbers[-1]) * hop - size // 2 + size
        stretch = np.zeros(high - low, np.float32)
        taken = as_float32(samples[max(low, 0) : min(high, samples.size)])
        stretch[max(0, -low) : max(0, -low) + taken.size] = taken
        blocks.append(_block_features(stretch, numbers - first, hop, size, rate))
    energy, voicing, f0, low_share, high_share, log_bands = (
        np.concatenate([block[k] for block in blocks]) for k in range(6)
    )
    flux = np.concatenate([[0.0], np.mean(np.abs(np.diff(log_bands, axis=0)), axis=1)])
    return Frames(energy.astype(np.float32), voicing.astype(np.float32), f0, flux, low_share, high_share)


def _block_features(
    padded: np.ndarray, frame_numbers: np.ndarray, hop: int, size: int, rate: int
) -> tuple[np.ndarray, ...]:
    """frame_features' per-frame measures of some frames: energy, voicing, f0, low and high band shares,
    and the log band energies the flux is taken from."""
    index = np.arange(size)[None, :] + hop * frame_numbers[:, None]
    frames = padded[index] * np.hanning(size)[None, :].astype(np.float32)
    energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)
    fft_size = 1 << (2 * size - 1).bit_length()
    spectrum = np.fft.rfft(frames, fft_size, axis=1)
    power = np.abs(spectrum) ** 2
    # normalised autocorrelation for pitch, divided by the window's own (Boersma 1993): the Hann window
    # alone halves a periodic frame's peak at a 100 Hz lag, so a low voice read as half unvoiced
    autocorr = np.fft.irfft(power, fft_size, axis=1)[:, :size]
    autocorr /= np.maximum(autocorr[:, :1], 1e-12)
    low_lag, high_lag = int(rate / PITCH_MAX_HZ), int(rate / PITCH_MIN_HZ)
    corrected = (
        autocorr[:, low_lag - 1 : high_lag + 1]
        / _window_autocorrelation(size, fft_size)[low_lag - 1 : high_lag + 1]
    )
    # only a peak counts: the autocorrelation of a rumble falls steadily from its first lag
    inner = corrected[:, 1:-1]
    lags = np.where((inner >= corrected[:, :-2]) & (inner >= corrected[:, 2:]), inner, 0.0)
    best = np.argmax(lags, axis=1)
    voicing = np.clip(lags[np.arange(frame_numbers.size), best], 0, 1)
    f0 = np.where(voicing > VOICING_THRESHOLD, rate / (best + low_lag), 0.0)
    freqs = np.fft.rfftfreq(fft_size, 1 / rate)
    total = np.sum(power, axis=1) + 1e-12
    low_share = np.sum(power[:, freqs < 500], axis=1) / total
    high_share = np.sum(power[:, freqs > 4000], axis=1) / total
    edges = np.geomspace(100, min(7600, rate / 2 - 1), 21)
    bands = np.stack(
        [
            np.sum(power[:, (freqs >= a) & (freqs < b)], axis=1)
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        ],
        axis=1,
    )
    return energy, voicing, f0, low_share, high_share, 10 * np.log10(bands + 1e-10)


@lru_cache(maxsize=4)
def _window_autocorrelation(size: int, fft_size: int) -> np.ndarray:
    """The Hann window's normalised autocorrelation at every lag below `size`."""
    window = np.fft.irfft(np.abs(np.fft.rfft(np.hanning(size), fft_size)) ** 2, fft_size)[:size]
    return np.asarray(window / window[0], np.float32)


def levels(frames: Frames) -> tuple[float, float]:
    """(noise floor, speech level) in dBFS: the 10th and 95th percentiles of the frame energies."""
    if not frames.count:
        return -100.0, -100.0
    return float(np.percentile(frames.energy_db, 10)), float(np.percentile(frames.energy_db, 95))


def silence_threshold_db(frames: Frames) -> float:
    """Frames below this are a pause: a third of the way from the noise floor to the speech level."""
    floor, speech = levels(frames)
    return floor + max(6.0, (speech - floor) / 3)


# --- refining word times --------------------------------------------------------------------


def refine_word_times(words: Sequence[Word], frames: Frames) -> list[Word]:
    """Copies of the words with each edge moved (at most SEARCH_S) onto the audio, the recogniser's times
    kept in start_raw/end_raw: two words with a pause between them end and start at its edges; two
    words said without one meet at the quietest frame between them; the first word starts at the sound's
    onset and the last ends at its offset."""
    if not words or not frames.count:
        return list(words)
    silent = frames.energy_db < silence_threshold_db(frames)
    starts = [w.start for w in words]
    ends = [max(w.end, w.start) for w in words]
    for i in range(len(words) - 1):
        left_mid = (words[i].start + max(words[i].end, words[i].start)) / 2
        right_mid = (words[i + 1].start + max(words[i + 1].end, words[i + 1].start)) / 2
        low = max(left_mid, min(words[i].end, words[i + 1].start) - SEARCH_S)
        high = min(right_mid, max(words[i].end, words[i + 1].start) + SEARCH_S)
        if high - low < 0.02:
            continue
        a, b = frames.index(low), frames.index(high)
        run = _longest_run(silent[a : b + 1])
        if run is not None:
            ends[i], starts[i + 1] = frames.time(a + run[0]), frames.time(a + run[1])
        else:
            guess = (words[i].end + words[i + 1].start) / 2
            distance = np.abs(np.arange(a, b + 1) / FRAME_HZ - guess)
            cost = frames.energy_db[a : b + 1] + 20.0 * distance  # 2 dB per 10 ms away from the guess
            cut = frames.time(a + int(np.argmin(cost)))
            ends[i] = starts[i + 1] = cut
    starts[0] = _onset(frames, silent, starts[0], ends[0])
    ends[-1] = _offset(frames, silent, starts[-1], ends[-1])
    refined = []
    for word, start, end in zip(words, starts, ends, strict=True):
        start, end = round(start, 3), round(max(start, end), 3)
        refined.append(
            word.model_copy(
                update={
                    "start": start,
                    "end": end,
                    "start_raw": word.start_raw if word.start_raw is not None else word.start,
                    "end_raw": word.end_raw if word.end_raw is not None else word.end,
                }
            )
        )
    return refined


def _longest_run(flags: np.ndarray, min_frames: int = 3) -> tuple[int, int] | None:
    """(first, one past last) of the longest run of True of at least `min_frames`, or None."""
    best, start = None, None
    for k, flag in enumerate([*flags.tolist(), False]):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            if k - start >= min_frames and (best is None or k - start > best[1] - best[0]):
                best = (start, k)
            start = None
    return best


def _onset(frames: Frames, silent: np.ndarray, start: float, end: float) -> float:
    k = frames.index(start)
    limit_low, limit_high = frames.index(start - SEARCH_S), frames.index(min(end, start + SEARCH_S))
    if silent[k]:
        while k < limit_high and silent[k]:
            k += 1
    else:
        while k > limit_low and not silent[k - 1]:
            k -= 1
    return frames.time(k)


def _offset(frames: Frames, silent: np.ndarray, start: float, end: float) -> float:
    k = frames.index(end)
    limit_low, limit_high = frames.index(max(start, end - SEARCH_S)), frames.index(end + SEARCH_S)
    if k > 0 and silent[k - 1]:
        while k > limit_low and silent[k - 1]:
            k -= 1
    else:
        while k < limit_high and not silent[k]:
            k += 1
    return frames.time(k)


# --- syllable nuclei and what sounds like a filler ------------------------------------------


@dataclass
class Nucleus:
    """A syllable: a voiced energy peak between two dips, in frames."""

    start: int
    peak: int
    end: int

    def span(self) -> Span:
        return Span(start=self.start / FRAME_HZ, end=self.end / FRAME_HZ)


def syllable_nuclei(frames: Frames, speech: Sequence[Span]) -> list[Nucleus]:
    """Voiced energy peaks at least NUCLEUS_DIP_DB above the dips on both sides, inside the speech."""
    if not frames.count:
        return []
    smooth = np.convolve(frames.energy_db, np.ones(3) / 3, mode="same")
    silent = frames.energy_db < silence_threshold_db(frames)
    in_speech = np.zeros(frames.count, bool)
    for span in speech:
        in_speech[frames.index(span.start) : frames.index(span.end) + 1] = True
    nuclei: list[Nucleus] = []
    k, count = 0, frames.count
    while k < count:
        if not in_speech[k] or silent[k]:
            k += 1
            continue
        run_end = k
        while run_end < count and in_speech[run_end] and not silent[run_end]:
            run_end += 1
        nuclei += _split_run(smooth, frames.voicing, k, run_end)
        k = run_end
    return nuclei


def _split_run(smooth: np.ndarray, voicing: np.ndarray, first: int, end: int) -> list[Nucleus]:
    """A sounding run cut into syllables at dips of at least NUCLEUS_DIP_DB."""
    from scipy.signal import find_peaks

    segment = smooth[first:end]
    if segment.size < 4:
        return []
    peaks, _ = find_peaks(
        np.concatenate([[-200.0], segment, [-200.0]]), prominence=NUCLEUS_DIP_DB, distance=5
    )
    peaks = [p - 1 for p in peaks if voicing[first + p - 1] > VOICING_THRESHOLD * 0.8]
    nuclei = []
    for n, peak in enumerate(peaks):
        low = first + (int(np.argmin(segment[peaks[n - 1] : peak + 1])) + peaks[n - 1] if n else 0)
        high = first + (
            int(np.argmin(segment[peak : peaks[n + 1] + 1])) + peak if n + 1 < len(peaks) else segment.size
        )
        nuclei.append(Nucleus(low, first + peak, high))
    return nuclei


def filler_likeness(frames: Frames, nucleus: Nucleus) -> tuple[float, dict[str, float]]:
    """How much a nucleus sounds like "um"/"uh" (0-1), and the measures behind it: fillers are long,
    voiced throughout, with a flat pitch, a steady spectrum, and often a nasal close."""
    a, b = nucleus.start, max(nucleus.end, nucleus.start + 1)
    duration = (b - a) / FRAME_HZ
    voiced = frames.voicing[a:b] > VOICING_THRESHOLD
    voiced_share = float(np.mean(voiced))
    f0 = frames.f0_hz[a:b][voiced]
    pitch_spread = float(np.std(12 * np.log2(f0 / np.median(f0)))) if f0.size >= 3 else 6.0
    steadiness = float(np.median(frames.flux_db[a + 1 : b])) if b - a > 2 else 10.0
    tail = frames.low_share[a + (b - a) * 2 // 3 : b]
    nasal = float(np.mean(tail)) if tail.size else 0.0
    measures = {
        "duration_s": round(duration, 3),
        "voiced_share": round(voiced_share, 2),
        "pitch_spread_st": round(pitch_spread, 2),
        "spectral_flux_db": round(steadiness, 2),
        "nasal_share": round(nasal, 2),
    }
    score = (
        1.6 * np.clip((duration - 0.10) / 0.15, 0, 1.5)
        + 1.5 * (voiced_share - 0.6)
        + 1.0 * np.clip(1.5 - pitch_spread, -2, 1.5)
        + 0.6 * np.clip(3.0 - steadiness, -2, 2)
        + 0.8 * np.clip((nasal - 0.6) / 0.3, 0, 1)
        - 2.0
    )
    return float(1 / (1 + np.exp(-2.0 * score))), measures


def expected_syllables(token: str) -> int:
    """Syllables a written word has, from its vowel groups (good to about one in ten words)."""
    word = squashed(token).replace("'", "")
    if not word:
        return 0
    if word.isdigit():
        return max(1, len(word))
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    if re.search(r"[^aeiou]ed$", word) and not word.endswith(("ted", "ded")) and count > 1:
        count -= 1
    return max(1, count)


# --- the detectors --------------------------------------------------------------------------


@dataclass
class DetectionInput:
    """What every detector may look at."""

    words: list[Word]  # refined times, fillers marked
    frames: Frames | None
    speech: list[Span]
    nuclei: list[Nucleus] = field(default_factory=list)
    mentioned: set[int] = field(default_factory=set)  # indices of filler tokens spoken about, not used
    alignment: Alignment | None = None  # the words aligned with their synthetic rendering (align.py)


class DisfluencyDetector(Protocol):
    """Finds disfluencies of some kind in a recording's words and audio."""

    name: str

    def detect(self, evidence: DetectionInput) -> list[Disfluency]: ...


class LexiconFillers:
    """The fillers the recogniser wrote, from the lexicon and the context rules (mark_fillers)."""

    name = "lexicon"

    def __init__(self, confidence: float = 0.9) -> None:
        self.confidence = confidence

    def detect(self, evidence: DetectionInput) -> list[Disfluency]:
        found = []
        for index, word in enumerate(evidence.words):
            if not word.is_filler:
                continue
            certainty = self.confidence * (0.5 + 0.5 * word.probability) if not word.interpolated else 0.6
            found.append(
                Disfluency(
                    kind="filler",
                    start=word.start,
                    end=max(word.end, word.start),
                    text=squashed(word.word) or word.word,
                    confidence=round(certainty, 3),
                    word_indices=[index],
                    evidence=[
                        Evidence(
                            detector=self.name,
                            score=round(certainty, 3),
                            detail=f'the recogniser wrote "{word.word.strip()}" (p {word.probability:.2f})',
                        )
                    ],
                )
            )
        return found


class AcousticFillers:
    """Syllables no word accounts for that sound like a filler, found from the audio's frames."""

    name = "acoustic"

    def __init__(self, min_likeness: float = 0.3) -> None:
        self.min_likeness = min_likeness

    def detect(self, evidence: DetectionInput) -> list[Disfluency]:
        frames = evidence.frames
        if frames is None or not evidence.nuclei:
            return []
        words = evidence.words
        found = []
        owners: dict[int, list[Nucleus]] = {}
        unowned = []
        for nucleus in evidence.nuclei:
            centre = nucleus.peak / FRAME_HZ
            owner = next(
                (i for i, w in enumerate(words) if w.start <= centre < max(w.end, w.start + 0.01)), None
            )
            if owner is None:
                unowned.append(nucleus)
            else:
                owners.setdefault(owner, []).append(nucleus)
        candidates: list[tuple[Nucleus, str]] = [(n, "a voiced syllable between words") for n in unowned]
        for index, held in owners.items():
            word = words[index]
            if word.is_filler or index in evidence.mentioned:
                continue
            surplus = len(held) - expected_syllables(word.word)
            if surplus >= 1:
                # the extra syllable is at an edge of the word: the recogniser stretched it over a filler
                edge = max((held[0], held[-1]), key=lambda n: filler_likeness(frames, n)[0])
                candidates.append(
                    (edge, f'"{word.word.strip()}" holds {len(held)} syllables, it has {len(held) - surplus}')
                )
        for nucleus, why in candidates:
            likeness, measures = filler_likeness(frames, nucleus)
            if likeness < self.min_likeness:
                continue
            span = nucleus.span()
            found.append(
                Disfluency(
                    kind="filler",
                    start=round(span.start, 3),
                    end=round(span.end, 3),
                    text="",
                    confidence=round(likeness, 3),
                    evidence=[
                        Evidence(
                            detector=self.name,
                            score=round(likeness, 3),
                            detail=f"{why}; " + ", ".join(f"{k} {v}" for k, v in measures.items()),
                        )
                    ],
                )
            )
        return found


def repair_cue(fragment: Sequence[str], restart: Sequence[str]) -> str | None:
    """How a restart that begins with a fragment's first word repairs it, from the words alone: the
    fragment said twice ("the dough the dough"), said again with one word added ("try to try not to") or
    with one word changed for another form of it or another modal ("we go we went", "you should you
    can"); None for a phrase that simply goes on ("to the shop to buy", "we know we can")."""
    k = len(fragment)
    if list(restart[:k]) == list(fragment):
        return "said twice"
    if len(restart) == k + 1 and any(
        list(restart[:j]) + list(restart[j + 1 :]) == list(fragment) for j in range(1, k + 1)
    ):
        return "said again with a word added"
    changed = [j for j in range(1, k) if j >= len(restart) or restart[j] != fragment[j]]
    if (
        len(restart) >= k
        and len(changed) == 1
        and word_family(restart[changed[0]]) == word_family(fragment[changed[0]])
    ):
        return f'"{fragment[changed[0]]}" changed to "{restart[changed[0]]}"'
    return None


class RepeatsAndFalseStarts:
    """ "the the" (a word said twice, the first copy cut) and "we go we went" (a fragment abandoned and
    restarted with the same first word)."""

    name = "repeats"

    def __init__(
        self, max_fragment_words: int = 3, max_gap_s: float = 1.0, min_retake_words: int = 3
    ) -> None:
        self.max_fragment_words = max_fragment_words
        self.max_gap_s = max_gap_s
        self.min_retake_words = min_retake_words  # a phrase this long said twice is find_retakes' to cut

    def detect(self, evidence: DetectionInput) -> list[Disfluency]:
        words = evidence.words
        spoken = [i for i, w in enumerate(words) if not w.is_filler]
        tokens = [squashed(words[i].word) for i in spoken]
        found: list[Disfluency] = []
        taken: set[int] = set()
        for n in range(len(spoken)):
            if n in taken or not tokens[n]:
                continue
            for k in range(1, self.max_fragment_words + 1):
                restart = n + k
                if restart >= len(spoken) or tokens[restart] != tokens[n]:
                    continue
                fragment = spoken[n:restart]
                if re.search(r"[.!?]$", words[fragment[-1]].word):
                    continue  # a sentence ended: a new one may start with the same word
                gap = words[spoken[restart]].start - words[fragment[-1]].end
                if gap > self.max_gap_s:
                    continue
                if k == 1 and tokens[n] in _LEGIT_REPEATS:
                    continue
                said_again = tokens[restart : restart + k + 1]
                for m in range(len(said_again)):  # the restart ends with its sentence
                    if re.search(r"[.!?]$", words[spoken[restart + m]].word):
                        said_again = said_again[: m + 1]
                        break
                repair = repair_cue(tokens[n:restart], said_again)
                if repair == "said twice" and k >= self.min_retake_words:
                    continue  # a whole phrase said again: a retake (find_retakes)
                kind = "repeat" if k == 1 else "false_start"
                confidence = (0.85 if k == 1 else 0.7) * (1.0 if gap < 0.5 else 0.8)
                broken_off = re.search(r"[,\-—]$", words[fragment[-1]].word) or gap >= 0.2
                if k > 1 and not broken_off and repair is None:
                    # "to the shop to buy": a phrase that goes on, not one broken off ("we go, we went")
                    # nor one said again with a word changed or added ("we go we went", "try to try not to")
                    confidence *= 0.5
                text = " ".join(words[i].word.strip() for i in fragment)
                found.append(
                    Disfluency(
                        kind=kind,
                        start=words[fragment[0]].start,
                        end=words[spoken[restart]].start,
                        text=text,
                        confidence=round(confidence, 3),
                        word_indices=list(fragment),
                        evidence=[
                            Evidence(
                                detector=self.name,
                                score=round(confidence, 3),
                                detail=f'"{text}" then "{words[spoken[restart]].word.strip()}" again '
                                f"{max(gap, 0.0):.2f} s later" + (f" ({repair})" if k > 1 and repair else ""),
                            )
                        ],
                    )
                )
                taken.update(range(n, restart))
                break
        return found


MIN_SOUNDING_S = 0.06  # a gap must sound this long to be a candidate
MAX_CANDIDATE_S = 1.5  # longer unexplained speech is a retake or missing words, not a disfluency
FAR = 9.0  # the distance given for a neighbour that does not exist
GAP_FEATURES = (
    "filler_distance", "previous_distance", "next_distance", "next_two_distance", "neighbour_margin",
    "duration_s", "likeness", "voiced_share", "pitch_spread_st", "spectral_flux_db", "nasal_share",
)  # fmt: skip
WORD_FEATURES = (
    "filler_distance", "own_distance", "filler_margin", "probability", "duration_s", "lexicon", "letters",
    "length_ratio", "likeness", "voiced_share", "pitch_spread_st", "spectral_flux_db", "nasal_share",
)  # fmt: skip


@dataclass
class Candidate:
    """A stretch the aligned detector weighs: audio a gap absorbed (`kind` "gap", `index` the word after
    it), or a recognised word (`kind` "word") that may be a filler written as a word ("or", "sir")."""

    kind: str
    index: int
    start: float
    end: float
    features: dict[str, float]


def alignment_candidates(alignment: Alignment, frames: Frames, words: Sequence[Word]) -> list[Candidate]:
    """Every sounding stretch the alignment's gaps absorbed and every word, with the measures the models
    weigh: DTW distances to the filler templates, to the neighbouring words' synthetic audio and to the
    word's own, and the filler-likeness measures of the sound."""
    from .align import filler_templates

    templates = [t for variants in filler_templates(alignment).values() for t in variants]

    def filler_distance(audio: np.ndarray) -> float:
        return min(alignment.distance(audio, t) for t in templates)

    def acoustic(first: int, last: int) -> dict[str, float]:
        likeness, measures = filler_likeness(frames, Nucleus(first, first, last))
        return {"likeness": likeness, **{k: v for k, v in measures.items() if k != "duration_s"}}

    threshold = silence_threshold_db(frames)
    found = []
    for k, gap_start, gap_end in alignment.gaps:
        if {k - 1, k} & alignment.untrusted or k == len(words):
            # a gap beside a word the alignment misplaced is not where it says; a sound after the last word
            # is no filler inside speech (a lone sound is the VAD's: transcript.unlabelled_speech)
            continue
        first, last = frames.index(gap_start), frames.index(gap_end)
        run = _longest_run(frames.energy_db[first:last] > threshold, int(MIN_SOUNDING_S * FRAME_HZ))
        if run is None:
            continue
        start, end = frames.time(first + run[0]), frames.time(first + run[1])
        if end - start > MAX_CANDIDATE_S:
            continue
        audio = alignment.frames(start, end)
        own = alignment.word_features
        previous = alignment.distance(audio, own[k - 1]) if k > 0 else FAR
        following = alignment.distance(audio, own[k]) if k < len(own) else FAR
        two = alignment.distance(audio, np.concatenate(own[k : k + 2])) if k + 1 < len(own) else FAR
        fill = filler_distance(audio)
        features = {
            "filler_distance": fill,
            "previous_distance": previous,
            "next_distance": following,
            "next_two_distance": two,
            "neighbour_margin": min(previous, following) - fill,
            "duration_s": end - start,
            **acoustic(first + run[0], first + run[1]),
        }
        found.append(Candidate("gap", k, round(start, 3), round(end, 3), features))
    for k, word in enumerate(words):
        if k in alignment.untrusted or expected_syllables(word.word) > 1:
            continue  # a filler is one syllable: a longer word holds speech ("marum" for "are um")
        start, end = word.start, max(word.end, word.start + 0.01)
        audio = alignment.frames(start, end)
        own_distance = alignment.distance(audio, alignment.word_features[k])
        fill = filler_distance(audio)
        synth_s = max(alignment.synth_s[k][1] - alignment.synth_s[k][0], 0.02)
        features = {
            "filler_distance": fill,
            "own_distance": own_distance,
            "filler_margin": fill - own_distance,
            "probability": word.probability,
            "duration_s": end - start,
            "lexicon": float(squashed(word.word) in FILLER_TOKENS),
            "letters": float(len(squashed(word.word))),
            "length_ratio": (end - start) / synth_s,
            **acoustic(frames.index(start), frames.index(end)),
        }
        found.append(Candidate("word", k, start, end, features))
    return found


def load_model() -> dict[str, dict[str, Any]]:
    """The aligned detector's logistic models (bench/train_disfluency.py writes disfluency_model.py)."""
    from .disfluency_model import TRAINED

    return cast(dict[str, dict[str, Any]], TRAINED["models"])


def model_probability(model: dict, features: dict[str, float]) -> float:
    """A logistic model's probability for standardised features."""
    values = np.array([features[name] for name in model["features"]], float)
    values = np.nan_to_num(values, nan=0.0, posinf=FAR, neginf=-FAR)
    z = (values - np.array(model["mean"])) / np.array(model["scale"])
    return float(1 / (1 + np.exp(-(z @ np.array(model["weights"]) + model["bias"]))))


VALLEY_REACH_S = 0.08


def valley_edges(
    frames: Frames, start: float, end: float, reach_s: float = VALLEY_REACH_S
) -> tuple[float, float]:
    """A sound's edges moved onto the quietest frame within `reach_s` of each: where a filler said
    without a pause meets the words beside it, the alignment's edge can be off by a phoneme, the energy
    valley between the syllables is not."""
    smooth = np.convolve(frames.energy_db, np.ones(3) / 3, mode="same")

    def quietest(time: float, low: float, high: float) -> float:
        a, b = frames.index(max(low, time - reach_s)), frames.index(min(high, time + reach_s))
        if b <= a:
            return time
        distance = np.abs(np.arange(a, b + 1) / FRAME_HZ - time)
        return frames.time(a + int(np.argmin(smooth[a : b + 1] + 10.0 * distance)))  # 1 dB per 10 ms away

    middle = (start + end) / 2
    new_start, new_end = quietest(start, 0.0, middle), quietest(end, middle, float("inf"))
    return (new_start, new_end) if new_end - new_start >= 0.04 else (start, end)


class AlignedDisfluencies:
    """Fillers, repeats and false starts found from the transcript's alignment with its synthetic
    rendering (align.py): sounding stretches no word explains, and words that sound more like a filler
    than like themselves, weighed by logistic models trained on the corpus' tuning voices."""

    name = "aligned"

    def __init__(self, min_confidence: float = 0.2) -> None:
        self.min_confidence = min_confidence
        self.models = load_model()

    def detect(self, evidence: DetectionInput) -> list[Disfluency]:
        if evidence.alignment is None or evidence.frames is None:
            return []
        words = evidence.words
        found = []
        for candidate in alignment_candidates(evidence.alignment, evidence.frames, words):
            detail = ", ".join(f"{k} {v:.2f}" for k, v in candidate.features.items())
            if candidate.kind == "word":
                if candidate.index in evidence.mentioned:
                    continue
                score = model_probability(self.models["word_filler"], candidate.features)
                if score >= self.min_confidence:
                    word = words[candidate.index]
                    why = f'"{word.word.strip()}" sounds like a filler: {detail}'
                    found.append(
                        self._found(
                            "filler",
                            candidate.start,
                            candidate.end,
                            score,
                            squashed(word.word),
                            [candidate.index],
                            why,
                        )
                    )
                continue
            # a gap that sounds like the word beside it (a repeat the recogniser wrote once) is not
            # reported: on the tuning voices that model found 20% of them at 50% precision
            filler = model_probability(self.models["gap_filler"], candidate.features)
            if filler >= self.min_confidence:
                start, end = valley_edges(evidence.frames, candidate.start, candidate.end)
                found.append(
                    self._found("filler", start, end, filler, "", [], f"a sound no word explains: {detail}")
                )
        return found

    def _found(
        self, kind: str, start: float, end: float, score: float, text: str, indices: list[int], detail: str
    ) -> Disfluency:
        return Disfluency(
            kind=kind,
            start=round(start, 3),
            end=round(max(end, start), 3),
            text=text,
            confidence=round(score, 3),
            word_indices=indices,
            evidence=[Evidence(detector=self.name, score=round(score, 3), detail=detail)],
        )


WORD_DETECTORS = {"lexicon", "repeats"}  # the detectors that read only the recogniser's words
DETECTORS: dict[str, type] = {
    "lexicon": LexiconFillers,
    "acoustic": AcousticFillers,
    "repeats": RepeatsAndFalseStarts,
    "aligned": AlignedDisfluencies,
}


# --- conditions and fusion ------------------------------------------------------------------


UNSURE_RECOGNISER = "unsure recogniser"
SPEECH_EDGE_FRAMES = 30  # 0.3 s each side of the VAD's speech is still speech for the music check


def assess_conditions(
    frames: Frames | None, speech: Sequence[Span], words: Sequence[Word]
) -> list[AudioCondition]:
    """What makes the audio unlike clean close speech, each with its measure and a factor (0-1) by which
    detections' confidence is lowered."""
    conditions: list[AudioCondition] = []
    if words:
        mean_probability = float(np.mean([w.probability for w in words]))
        if mean_probability < 0.6:
            conditions.append(
                AudioCondition(
                    name=UNSURE_RECOGNISER,
                    measure=round(mean_probability, 3),
                    factor=round(max(0.3, mean_probability / 0.6), 3),
                    message=f"the recogniser's mean word probability is {mean_probability:.2f}: another "
                    "language, mumbling or heavy noise — fillers and repeats are less certain",
                )
            )
    if frames is None or not frames.count:
        return conditions
    in_speech = np.zeros(frames.count, bool)
    for span in speech:
        in_speech[frames.index(span.start) : frames.index(span.end) + 1] = True
    if not in_speech.any():
        return conditions
    floor, level = levels(frames)
    snr = level - floor
    if snr < 25:
        conditions.append(
            AudioCondition(
                name="noise",
                measure=round(snr, 1),
                factor=round(float(np.clip((snr - 5) / 20, 0.3, 1.0)), 3),
                message=f"speech is only {snr:.0f} dB above the background: word edges and fillers are "
                "harder to hear",
            )
        )
    loud = in_speech & (frames.energy_db > floor + (level - floor) / 2)
    if loud.any():
        high = float(np.median(frames.high_share[loud]))
        if high < 1e-4:  # wideband speech keeps 0.1-1 % of its energy there, an 8 kHz line none
            conditions.append(
                AudioCondition(
                    name="narrow band",
                    measure=round(high, 4),
                    factor=0.6,
                    message="no sound above 4 kHz (telephone or 8 kHz audio): word edges are less certain",
                )
            )
        voiced = float(np.mean(frames.voicing[loud] > VOICING_THRESHOLD))
        if voiced < 0.35:
            conditions.append(
                AudioCondition(
                    name="unvoiced speech",
                    measure=round(voiced, 3),
                    factor=0.4,
                    message=f"only {voiced:.0%} of the speech is voiced (whispering?): pitch cues "
                    "for fillers are missing",
                )
            )
    # music shows between the speech, not at its edges, where the VAD leaves a word's tail outside
    near_speech = np.convolve(in_speech, np.ones(2 * SPEECH_EDGE_FRAMES + 1), mode="same") > 0
    outside = ~near_speech & (frames.energy_db > floor + 10)
    if outside.sum() > FRAME_HZ:  # more than a second of sound outside speech
        tonal = float(np.mean(frames.voicing[outside] > VOICING_THRESHOLD))
        if tonal > 0.5:
            conditions.append(
                AudioCondition(
                    name="music",
                    measure=round(tonal, 3),
                    factor=0.5,
                    message="tonal sound outside the speech (music?): voiced stretches may not be "
                    "the speaker",
                )
            )
    return conditions


def reliability(conditions: Sequence[AudioCondition]) -> float:
    """The product of the conditions' factors."""
    return float(np.prod([c.factor for c in conditions])) if conditions else 1.0


def merge_detections(
    found: Sequence[Disfluency], scale: float = 1.0, words_only_scale: float | None = None
) -> list[Disfluency]:
    """Detections of the same kind that overlap become one: evidence joined, confidences combined as
    independent evidence (1 - product of 1 - c) when another detector found it, else the higher; times
    from the most precise (a word's, then the audio's); then every confidence is multiplied by `scale`."""
    merged: list[Disfluency] = []
    for item in sorted(found, key=lambda d: (d.start, d.end)):
        match = next(
            (
                m
                for m in merged
                if m.kind == item.kind and item.start < m.end + 0.02 and m.start < item.end + 0.02
            ),
            None,
        )
        if match is None:
            merged.append(item.model_copy(deep=True))
            continue
        same_source = {e.detector for e in item.evidence} <= {e.detector for e in match.evidence}
        # two findings of one detector are not independent evidence: the stronger one counts
        combined = (
            max(match.confidence, item.confidence)
            if same_source
            else 1 - (1 - match.confidence) * (1 - item.confidence)
        )
        keep_times = match if match.word_indices or not item.word_indices else item
        match.start, match.end = keep_times.start, keep_times.end
        match.text = match.text or item.text
        match.word_indices = sorted(set(match.word_indices) | set(item.word_indices))
        match.evidence = [*match.evidence, *item.evidence]
        match.confidence = round(min(1.0, combined), 3)
    for item in merged:
        from_words = all(e.detector in WORD_DETECTORS for e in item.evidence)
        factor = words_only_scale if from_words and words_only_scale is not None else scale
        item.confidence = round(item.confidence * factor, 3)
    return merged


def mentioned_fillers(words: Sequence[Word], mentions: Sequence[str]) -> set[int]:
    """Indices of filler tokens the speaker talks about rather than says ("the word um", "say uh"): a
    filler right after one of the `mentions` phrases."""
    phrases = [[squashed(t) for t in m.split()] for m in mentions if m.strip()]
    tokens = [squashed(w.word) for w in words]
    found = set()
    for i, token in enumerate(tokens):
        if token not in FILLER_TOKENS:
            continue
        for phrase in phrases:
            if i >= len(phrase) and tokens[i - len(phrase) : i] == phrase:
                found.add(i)
    return found


def detect_disfluencies(
    words: list[Word],
    frames: Frames | None,
    speech: Sequence[Span],
    detectors: Sequence[DisfluencyDetector],
    mentioned: set[int] | None = None,
    conditions: Sequence[AudioCondition] = (),
    alignment: Alignment | None = None,
) -> list[Disfluency]:
    """Every detector's findings merged, each confidence lowered by the audio's conditions."""
    nuclei = syllable_nuclei(frames, speech) if frames is not None else []
    evidence = DetectionInput(list(words), frames, list(speech), nuclei, set(mentioned or ()), alignment)
    found = [d for detector in detectors for d in detector.detect(evidence)]
    # a filler found only by the audio inside a word spoken about ("the word um") is that word
    found = [
        d
        for d in found
        if not any(
            words[i].start - 0.05 <= d.start and d.end <= words[i].end + 0.05
            for i in sorted(evidence.mentioned)
        )
    ]
    # what makes the sound hard to hear weighs on what was heard in it; findings read from the words alone
    # (a filler or a repeat the recogniser wrote) only on how sure the recogniser was of its words
    words_only = reliability([c for c in conditions if c.name == UNSURE_RECOGNISER])
    return merge_detections(found, reliability(conditions), words_only)
