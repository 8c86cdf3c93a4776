"""Word times by aligning the audio with the transcript spoken by a synthetic voice.

The recogniser places words up to half a second from where they are said, and stretches a word over a
filler it did not write. Here the transcript is spoken again by espeak-ng, whose word times are exact
(ave_core.espeak), and the two are aligned frame by frame with dynamic time warping (DTW) on cepstral
features normalised per recording; each synthetic word edge is carried through the warping path onto the
audio. Between every two words (and before the first, after the last) the synthetic side has a *gap*
column that absorbs any number of audio frames at a fixed cost: pauses, and speech the transcript does not
hold — a filler the recogniser left out, a dropped repeat, a false start. Those absorbed stretches that
sound are returned too: they are the candidates a disfluency detector looks at.

The path is searched in a band around the recogniser's own timeline, so the cost grows with the
recording's length, not its square. Where the alignment is poor (a word's frames far from its synthetic
frames: speech the transcript does not cover, or a voice unlike any synthetic one) the recogniser's times
are kept for that word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .audio import as_float32
from .espeak import SAMPLE_RATE as SYNTH_RATE
from .espeak import Voice, speak_tokens
from .models import Word

HOP_S = 0.01  # one feature frame every 10 ms
FRAME_HZ = 100
WINDOW_S = 0.025
MEL_BANDS = 40
CEPSTRA = 13  # c0 (level) and 12 shape coefficients
GAP_COST = 0.6  # cost of one audio frame absorbed by a gap, in units of the median matched-frame distance
BAND_S = 1.5  # the path stays this close to the recogniser's timeline
SYNTH_VOICE = Voice("en-us", 160, 50)
MEL_BLOCK_FRAMES = 3000  # 30 s of frames per block of the spectrum


@dataclass
class Alignment:
    """Where each word is in the audio, and the stretches no word explains."""

    spans_s: list[tuple[float, float]]  # per word, refined (start, end)
    costs: list[float]  # per word: mean frame distance along the path, in median-distance units
    gaps: list[tuple[int, float, float]]  # (index of the word after the gap, start, end) of absorbed audio
    path_cost: float = 0.0  # mean over the whole path
    synth_s: list[tuple[float, float]] = field(default_factory=list)  # per word, in the synthetic audio
    audio_features: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    word_features: list[np.ndarray] = field(default_factory=list)  # each word's synthetic frames
    synth_norm: tuple[np.ndarray, np.ndarray, float] | None = None  # normalisation of the synthetic side
    voice: Voice = SYNTH_VOICE
    scale: float = 1.0  # the median frame distance the costs are in units of
    untrusted: set[int] = field(default_factory=set)  # words whose aligned times were not used

    def frames(self, start_s: float, end_s: float) -> np.ndarray:
        """The audio's features between two times."""
        return self.audio_features[
            int(round(start_s * FRAME_HZ)) : max(
                int(round(end_s * FRAME_HZ)), int(round(start_s * FRAME_HZ)) + 1
            )
        ]

    def distance(self, audio: np.ndarray, synthetic: np.ndarray) -> float:
        """Mean frame distance (in `scale` units) along the best warping of two feature sequences."""
        return sequence_distance(audio, synthetic, self.scale)


def log_mel(samples: np.ndarray, rate: int) -> np.ndarray:
    """Log mel band energies (MEL_BANDS) of 25 ms Hann windows every 10 ms, frames centred on k * 10 ms."""
    hop = int(round(rate * HOP_S))
    size = int(round(rate * WINDOW_S))
    fft_size = 1 << (size - 1).bit_length()
    padded = np.concatenate([np.zeros(size // 2), samples.astype(np.float64), np.zeros(size)])
    count = max(1, int(np.ceil(samples.size / hop)))
    window, filters = np.hanning(size)[None, :], _mel_filters(rate, fft_size).T
    mel = np.empty((count, MEL_BANDS))
    # a block of frames at a time: the frames and their spectra of an hour would take gigabytes
    for first in range(0, count, MEL_BLOCK_FRAMES):
        last = min(count, first + MEL_BLOCK_FRAMES)
        index = np.arange(size)[None, :] + hop * np.arange(first, last)[:, None]
        power = np.abs(np.fft.rfft(padded[index] * window, fft_size, axis=1)) ** 2
        mel[first:last] = np.log(power @ filters + 1e-9)
    return mel


def _mel_filters(rate: int, fft_size: int) -> np.ndarray:
    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595 * np.log10(1 + hz / 700)

    edges_mel = np.linspace(
        to_mel(np.array(80.0)), to_mel(np.array(min(7600.0, rate / 2 - 100))), MEL_BANDS + 2
    )
    edges = 700 * (10 ** (edges_mel / 2595) - 1)
    freqs = np.fft.rfftfreq(fft_size, 1 / rate)
    filters = np.zeros((MEL_BANDS, freqs.size))
    for band in range(MEL_BANDS):
        low, centre, high = edges[band : band + 3]
        rising = (freqs - low) / (centre - low)
        falling = (high - freqs) / (high - centre)
        filters[band] = np.clip(np.minimum(rising, falling), 0, None)
    return filters


def cepstral_features(
    samples: np.ndarray, rate: int, reference: tuple[np.ndarray, np.ndarray, float] | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, float]]:
    """MFCC c1-c12 and their deltas, normalised to zero mean and unit variance over the recording (so a
    voice's timbre and the microphone matter less), plus a level feature: the frame's log energy against
    the recording's speech level, clipped at the quiet end so every pause looks alike. Returns the
    features and the normalisation (mean, deviation, speech level), which `reference` reuses: a short
    template is normalised like the utterance it is compared within."""
    from scipy.fft import dct

    mel = log_mel(samples, rate)
    cepstra = dct(mel, type=2, norm="ortho", axis=1)[:, :CEPSTRA]
    shape = np.concatenate([cepstra[:, 1:], _deltas(cepstra[:, 1:])], axis=1)
    if reference is None:
        loud = float(np.percentile(cepstra[:, 0], 95)) if cepstra.size else 0.0
        reference = (shape.mean(axis=0), shape.std(axis=0) + 1e-6, loud)
    mean, deviation, loud = reference
    level = np.clip((cepstra[:, 0] - loud) / 8.0, -3.0, 0.5)  # 0 at the speech level, -3 for silence
    features = np.concatenate([(shape - mean) / deviation, 2.0 * level[:, None]], axis=1)
    return features.astype(np.float32), reference


def _deltas(values: np.ndarray, reach: int = 2) -> np.ndarray:
    padded = np.pad(values, ((reach, reach), (0, 0)), mode="edge")
    weights = np.arange(-reach, reach + 1)
    total = sum(w * padded[reach + w : reach + w + values.shape[0]] for w in weights if w)
    return total / (2 * sum(w * w for w in range(1, reach + 1)))


CURRENCIES = {"$": "dollars", "£": "pounds", "€": "euros"}


def speakable(token: str) -> str:
    """A recognised word as espeak-ng should say it: no punctuation but apostrophes and digits' commas, and
    an amount of money in the order it is said ("$300" is "300 dollars"; espeak-ng says "dollar 300", and
    the "dollars" heard after the number would be a sound no word explains)."""
    text = token.strip()
    text = re.sub(r"(?<=\d),(?=\d)", "", text)
    money = re.fullmatch(r"([$£€])(\d+(?:\.\d+)?)(\W*)", text)
    if money:
        text = f"{money[2]} {CURRENCIES[money[1]]}{money[3]}"
    text = re.sub(r"[^\w'%$.-]", " ", text).strip(" .-'")
    return text or "uh"


def synthesise(
    words: Sequence[Word], voice: Voice = SYNTH_VOICE
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The words spoken by `voice` at 16 kHz, a pause where the recogniser heard one, each word's span (s)."""
    from .corpus import resample

    tokens = [speakable(w.word) for w in words]
    breaks = []
    for k, word in enumerate(words):
        gap = words[k + 1].start - word.end if k + 1 < len(words) else 0.0
        breaks.append(int(min(gap, 0.6) * 1000) if gap >= 0.25 else 0)
    samples, spans = speak_tokens(tokens, voice, breaks)
    return resample(samples, SYNTH_RATE, 16000), [(a / SYNTH_RATE, b / SYNTH_RATE) for a, b in spans]


def align_words(
    words: Sequence[Word],
    samples: np.ndarray,
    rate: int = 16000,
    voice: Voice = SYNTH_VOICE,
    band_s: float = BAND_S,
    gap_cost: float = GAP_COST,
) -> Alignment | None:
    """The words' times in `samples` by DTW against their synthetic rendering; None when there are no words
    or the audio is too short to align. Raises ToolError when espeak-ng is missing."""
    if not words or samples.size < rate * 0.1:
        return None
    synth, synth_spans = synthesise(words, voice)
    audio_features, _ = cepstral_features(samples, rate)
    synth_features, synth_norm = cepstral_features(synth, 16000)
    # the synthetic sequence: a gap column, then each word's frames followed by a gap column
    gap_column = np.zeros((1, audio_features.shape[1]), np.float32)
    columns: list[np.ndarray] = [gap_column]
    owner: list[int] = [-1]  # word index of each column; -1 - k for the gap before word k
    word_pieces: list[np.ndarray] = []
    for k, (start, end) in enumerate(synth_spans):
        first = min(int(round(start * FRAME_HZ)), synth_features.shape[0] - 1)
        piece = synth_features[first : max(first + 1, int(round(end * FRAME_HZ)))]
        word_pieces.append(piece)
        columns += [piece, gap_column]
        owner += [k] * piece.shape[0] + [-2 - k]
    synth_matrix = np.concatenate(columns)
    owners = np.array(owner)
    is_gap = owners < 0
    # the band follows the recogniser's timeline: word k's first column near its recognised start
    spoken_columns = np.flatnonzero(owners >= 0)
    first_column = spoken_columns[np.unique(owners[spoken_columns], return_index=True)[1]]
    anchors_audio, anchors_column = [0.0], [0.0]
    for k, word in enumerate(words):
        frame = (word.start_raw if word.start_raw is not None else word.start) * FRAME_HZ
        if frame > anchors_audio[-1] and first_column[k] > anchors_column[-1]:
            anchors_audio.append(frame)
            anchors_column.append(float(first_column[k]))
    anchors_audio.append(audio_features.shape[0] - 1.0)
    anchors_column.append(synth_matrix.shape[0] - 1.0)
    expected = np.interp(np.arange(audio_features.shape[0]), anchors_audio, anchors_column)
    path = _banded_dtw(audio_features, synth_matrix, is_gap, expected, band_s * FRAME_HZ, gap_cost)
    if path is None:
        return None
    rows, cols, dist, scale = path
    who = owners[cols]
    spans: list[tuple[float, float]] = []
    costs: list[float] = []
    gaps: list[tuple[int, float, float]] = []
    order = np.argsort(who, kind="stable")
    keys, firsts = np.unique(who[order], return_index=True)
    bounds = dict(
        zip(keys.tolist(), zip(firsts.tolist(), [*firsts[1:].tolist(), order.size], strict=True), strict=True)
    )
    for k, word in enumerate(words):
        if k not in bounds:
            spans.append((word.start, max(word.end, word.start)))
            costs.append(float("inf"))
            continue
        taken = order[bounds[k][0] : bounds[k][1]]
        spans.append((rows[taken].min() * HOP_S, (rows[taken].max() + 1) * HOP_S))
        costs.append(float(np.mean(dist[taken])))
    for k in range(len(words) + 1):
        taken = order[bounds[-1 - k][0] : bounds[-1 - k][1]] if -1 - k in bounds else order[:0]
        if np.unique(rows[taken]).size > 1:
            gaps.append((k, rows[taken].min() * HOP_S, (rows[taken].max() + 1) * HOP_S))
    spoken = ~is_gap[cols]
    return Alignment(
        spans_s=spans,
        costs=costs,
        gaps=gaps,
        path_cost=float(np.mean(dist[spoken])) if spoken.any() else 0.0,
        synth_s=list(synth_spans),
        audio_features=audio_features,
        word_features=word_pieces,
        synth_norm=synth_norm,
        voice=voice,
        scale=scale,
    )


def _banded_dtw(
    audio: np.ndarray,
    synth: np.ndarray,
    is_gap: np.ndarray,
    expected: np.ndarray,
    reach: float,
    gap_cost: float,
    stretch_cost: float = 0.0,
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """DTW from (0, 0) to the last frame of both, steps (1,1), (1,0) and (0,1), each cell costing its
    distance (a gap column costs `gap_cost` whatever the audio), searched within `reach` columns of
    `expected[i]`. Returns the path's (audio frame, column, distance) arrays and the distance scale: the
    median distance of an audio frame to its nearest synthetic frame (`scale` when given)."""
    n, m = audio.shape[0], synth.shape[0]
    low = np.clip(np.floor(expected - reach), 0, m - 1).astype(int)
    high = np.clip(np.ceil(expected + reach) + 1, 1, m).astype(int)
    low = np.minimum.accumulate(low[::-1])[::-1]  # non-decreasing edges keep every step inside
    high = np.maximum.accumulate(high)
    low[0], high[-1] = 0, m
    # the median distance of a frame to its nearest synthetic frame in the band sets the scale
    sample_rows: np.ndarray | list[int] = (
        np.linspace(0, n - 1, min(n, 200)).astype(int) if scale is None else []
    )
    nearest = [
        np.min(
            np.linalg.norm(synth[low[i] : high[i]][~is_gap[low[i] : high[i]]] - audio[i], axis=1),
            initial=np.inf,
        )
        for i in sample_rows
    ]
    if scale is None:
        scale = float(np.median([x for x in nearest if np.isfinite(x)] or [1.0])) or 1.0
    width = int(np.max(high - low))
    back = np.zeros((n, width), np.int8)  # 0 diagonal, 1 from the row before, 2 from the column before
    previous = np.full(width + 2, np.inf)
    previous_low = 0
    for i in range(n):
        a, b = low[i], high[i]
        d = np.linalg.norm(synth[a:b] - audio[i], axis=1) / scale
        d[is_gap[a:b]] = gap_cost
        if i == 0:
            total = np.cumsum(d)
            back[0, : b - a] = 2
            back[0, 0] = 0
        else:
            cols = np.arange(a, b)
            offset = cols - previous_low
            up = _take(previous, offset) + np.where(is_gap[a:b], 0.0, stretch_cost)
            diagonal = _take(previous, offset - 1)
            best = np.minimum(up, diagonal)
            running = np.cumsum(d)
            shifted = np.concatenate([[0.0], running[:-1]])
            # total[j] = d[j] + min(best[j], total[j-1]): unrolled, min over k <= j of best[k] + sum d[k..j]
            total = running + np.minimum.accumulate(best - shifted)
            from_left = np.concatenate([[False], total[:-1] < best[1:]])
            back[i, : b - a] = np.where(from_left, 2, np.where(diagonal <= up, 0, 1))
        previous = np.full(width + 2, np.inf)
        previous[: b - a] = total
        previous_low = a
    if not np.isfinite(previous[m - 1 - previous_low]):
        return None
    steps_i: list[int] = []
    steps_j: list[int] = []
    i, j = n - 1, m - 1
    while True:
        steps_i.append(i)
        steps_j.append(j)
        if i == 0 and j == 0:
            break
        step = back[i, j - low[i]] if i > 0 else 2
        if step == 0:
            i, j = i - 1, j - 1
        elif step == 1:
            i -= 1
        else:
            j -= 1
        if j < 0:
            return None
    path_rows, path_cols = np.array(steps_i[::-1]), np.array(steps_j[::-1])
    dist = np.linalg.norm(synth[path_cols] - audio[path_rows], axis=1) / scale
    dist[is_gap[path_cols]] = gap_cost
    return path_rows, path_cols, dist, scale


# how espeak-ng is made to say each filler ("mm" is spelt out and "hmm" said as a word otherwise)
FILLER_TEMPLATES = {"um": "um", "uh": "uh", "er": "er", "ah": "ah", "hmm": "[[h@m]]", "mm": "[[m:]]"}
_TEMPLATE_CACHE: dict[tuple[Voice, str], np.ndarray] = {}


def filler_templates(alignment: Alignment) -> dict[str, list[np.ndarray]]:
    """Each filler said by the alignment's voice, normally and drawn out, as features normalised like
    the synthetic transcript."""
    from .corpus import resample
    from .espeak import speak_timed

    templates: dict[str, list[np.ndarray]] = {}
    for name, text in FILLER_TEMPLATES.items():
        for rate in ("100%", "40%"):
            key = (alignment.voice, f"{name}@{rate}")
            if key not in _TEMPLATE_CACHE:
                samples, spoken = speak_timed(
                    f'<speak><prosody rate="{rate}">{text}</prosody></speak>', alignment.voice, ssml=True
                )
                if not spoken:
                    continue
                piece = resample(samples[spoken[0].start_sample : spoken[-1].end_sample], SYNTH_RATE, 16000)
                _TEMPLATE_CACHE[key] = piece
            features, _ = cepstral_features(_TEMPLATE_CACHE[key], 16000, alignment.synth_norm)
            templates.setdefault(name, []).append(features)
    return templates


def sequence_distance(audio: np.ndarray, synthetic: np.ndarray, scale: float = 1.0) -> float:
    """Mean frame distance (divided by `scale`) along the best warping path from the first frames of two
    feature sequences to their last ones (the path _banded_dtw finds with an unlimited band); inf when
    either is empty. Each row is a few array operations: the path's length is carried along instead of
    tracing it back."""
    if not audio.size or not synthetic.size:
        return float("inf")
    distance = np.linalg.norm(audio[:, None, :] - synthetic[None, :, :], axis=2) / scale
    columns = np.arange(synthetic.shape[0])
    total = np.cumsum(distance[0])
    length = columns + 1
    for row in distance[1:]:
        diagonal = np.concatenate([[np.inf], total[:-1]])
        diagonal_length = np.concatenate([[0], length[:-1]])
        from_diagonal = diagonal <= total
        best = np.where(from_diagonal, diagonal, total)
        best_length = np.where(from_diagonal, diagonal_length, length)
        running = np.cumsum(row)
        values = best - (running - row)
        lowest = np.minimum.accumulate(values)
        # the column each path enters this row at: the last k <= j where values[k] set the minimum
        entered = values <= np.concatenate([[np.inf], lowest[:-1]])
        entry = np.maximum.accumulate(np.where(entered, columns, 0))
        total = running + lowest
        length = best_length[entry] + columns - entry + 1
    return float(total[-1] / length[-1])


def _reference_distance(audio: np.ndarray, synthetic: np.ndarray, scale: float = 1.0) -> float:
    """sequence_distance through _banded_dtw's traced path (the tests compare the two)."""
    no_gap = np.zeros(synthetic.shape[0], bool)
    expected = np.linspace(0, synthetic.shape[0] - 1, audio.shape[0])
    path = _banded_dtw(audio, synthetic, no_gap, expected, float(synthetic.shape[0]), 0.0, scale=scale)
    return float(np.mean(path[2])) if path is not None else float("inf")


def _take(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    inside = (offsets >= 0) & (offsets < values.size)
    out = np.full(offsets.size, np.inf)
    out[inside] = values[offsets[inside]]
    return out


def align_in_windows(
    words: Sequence[Word], samples: np.ndarray, bounds: Sequence[int], rate: int = 16000
) -> Alignment | None:
    """align_words over a long recording, one listening window at a time (`bounds`: sample indices from 0
    to samples.size, split where it is quiet, as the recogniser listened), joined into one Alignment.
    `samples` may be int16 mapped from the file (audio.open_pcm16).

    Aligning an hour at once held the whole transcript's synthetic speech and the recording in float64: 2 GB
    for two hours. Each window's features are normalised over that window; the joined distance scale is the
    windows' median. None when any window with words cannot be aligned."""
    hop = int(round(rate * HOP_S))
    inner = {hop * round(b / hop) for b in bounds}  # on whole frames, so the windows' frames join exactly
    edges = [0, *sorted(b for b in inner if rate <= b <= samples.size - rate), samples.size]
    if len(edges) <= 2:
        return align_words(words, as_float32(samples), rate)
    total_frames = int(np.ceil(samples.size / hop))
    features = np.zeros((total_frames, 2 * (CEPSTRA - 1) + 1), np.float32)
    parts: list[tuple[int, float, Alignment]] = []
    taken = 0
    for first, last in zip(edges[:-1], edges[1:], strict=True):
        offset = first / rate
        end = taken
        while end < len(words) and (
            last == samples.size or (words[end].start + words[end].end) / 2 < last / rate
        ):
            end += 1
        inside = words[taken:end]
        shifted = [_shifted(w, -offset) for w in inside]
        window = as_float32(samples[first:last])
        part = align_words(shifted, window, rate) if shifted else None
        if shifted and part is None:
            return None
        frames = part.audio_features if part is not None else cepstral_features(window, rate)[0]
        row = first // hop
        count = min(frames.shape[0], total_frames - row)
        features[row : row + count] = frames[:count]
        if part is not None:
            part.audio_features = np.zeros((0, 0), np.float32)  # joined below
            parts.append((taken, offset, part))
        taken += len(inside)
    return _joined(parts, features)


def _shifted(word: Word, by: float) -> Word:
    update = {"start": word.start + by, "end": word.end + by}
    if word.start_raw is not None:
        update["start_raw"] = word.start_raw + by
    if word.end_raw is not None:
        update["end_raw"] = word.end_raw + by
    return word.model_copy(update=update)


def _joined(parts: Sequence[tuple[int, float, Alignment]], features: np.ndarray) -> Alignment:
    """The windows' alignments as one: word indices and times made global."""
    spans = [(a + offset, b + offset) for _, offset, part in parts for a, b in part.spans_s]
    gaps = [(k + first, a + offset, b + offset) for first, offset, part in parts for k, a, b in part.gaps]
    counts = [len(part.spans_s) for _, _, part in parts]
    main = parts[int(np.argmax(counts))][2]  # the synthetic side's normalisation of the longest window
    return Alignment(
        spans_s=spans,
        costs=[c for _, _, part in parts for c in part.costs],
        gaps=gaps,
        path_cost=float(np.average([p.path_cost for _, _, p in parts], weights=counts)),
        synth_s=[s for _, _, part in parts for s in part.synth_s],
        audio_features=features,
        word_features=[f for _, _, part in parts for f in part.word_features],
        synth_norm=main.synth_norm,
        voice=main.voice,
        scale=float(np.median([p.scale for _, _, p in parts])),
    )
