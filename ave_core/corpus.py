"""A disfluency evaluation corpus with exact word-level truth, generated with espeak-ng.

Each item is a short talk spoken in one voice setting (voice, variant, rate, pitch) as continuous speech,
with fillers inside sentences and with no pause around them, at sentence starts and between pauses,
elongated fillers, repeated words, false starts and whole-sentence retakes, optionally under room noise at
a given SNR. Every word's start and end come from espeak-ng's own phoneme events (ave_core.espeak),
so the truth is sample-exact; `check_word_times` verifies it against the audio of every item.

Scripts are written in a small markup:
    {um}        a filler (um uh er erm ah hmm mm); {um:long} an elongated one ("ummm")
    [the]       a repeated word: this copy is the disfluency ("[the] the results")
    ~we go~     a false start, abandoned and restarted ("~we go~ we went there")
    |           a pause (400 ms)
    a sentence starting with "^" is a retake: said, then said again in full by the next sentence

    python -m ave_core.corpus OUT_DIR [--voices tune|test|all] [--items N]
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import synth
from .espeak import SAMPLE_RATE, Voice, check_word_times, speak_timed

CORPUS_RATE = 16000  # what the pipeline analyses
PAUSE_MS = 400
LONG_FILLER_RATE = "35%"  # SSML prosody rate of an elongated filler: about 2.5x its normal length
# how espeak-ng is made to say each filler (it spells "mm" and says "uhhh" as "oo" otherwise)
FILLER_SOUNDS = {
    "um": "um",
    "uh": "uh",
    "er": "er",
    "erm": "erm",
    "ah": "ah",
    "hmm": "[[h@m]]",
    "mm": "[[m:]]",
}
KINDS = ("word", "filler", "repeat", "false_start", "retake")

# Thresholds are chosen on the first half of the voices and figures are reported on the second half
# (bench/disfluency.py): the two halves share no voice setting.
TUNING_VOICES = [
    Voice("en-us", 160, 50),
    Voice("en-gb-x-rp+m3", 140, 45),
    Voice("en-us+f3", 170, 65),
    Voice("en-029", 150, 50),
    Voice("en-gb-x-gbcwmd+m5", 190, 40),
]
HELD_OUT_VOICES = [
    Voice("en-gb-scotland", 175, 55),
    Voice("en-us+m2", 185, 35),
    Voice("en-us+klatt", 130, 50),
    Voice("en-gb-x-gbclan+f4", 155, 70),
    Voice("en-us-nyc+f2", 145, 60),
]

SCRIPTS: list[list[str]] = [
    [
        "These are {um} used to calibrate a display.",
        "It is, {uh}, really quite beautiful. |",
        "{Um} the colours come from three small lamps.",
        "~we go~ we went to the shop to buy [the] the new screen.",
    ],
    [
        "{Uh} today we talk about rivers. |",
        "A river starts high up in the hills {er} where rain falls.",
        "^The water runs down to the sea. | The water runs down to the sea and carries sand.",
        "[it] it is {um:long} older than the town.",
    ],
    [
        "The first habit is to study in short blocks.",
        "{Hmm} | twenty minutes of focus is {ah} enough for most people.",
        "~you should~ you can take a break {uh} after each block.",
        "Then [we] we test ourselves instead of reading again.",
    ],
    [
        "Bread needs flour, water {um} and salt.",
        "~the dough~ the dough should rest for one hour. |",
        "{Er} then you fold it {mm} and shape it gently.",
        "The oven must be [very] very hot {uh:long} before you bake.",
    ],
    [
        "Our solar system has eight planets.",
        "{Um} | the largest one is Jupiter.",
        "It has {erm} many moons, and [a] a great red spot.",
        "~Mars is~ Mars was once covered with water {uh} long ago.",
    ],
    [
        "Good sleep helps memory.",
        "^Most adults need seven hours. | Most adults need seven or eight hours of sleep.",
        "A dark room {um} and a cool bed help {ah} a lot.",
        "~try to~ try not to look at screens [before] before bed.",
    ],
]
# a sentence with no filler: the control for false alarms
CLEAN_SENTENCES = [
    "The museum opens at nine and closes at five in the evening.",
    "Please read the second chapter before the next lesson.",
]

# repairs and their look-alikes, written before the repeats detector learnt repair cues and never used to
# choose anything (bench/repairs.py): repairs said straight on, without a pause, and sentences whose words
# come back legitimately
REPAIR_SENTENCES = [
    "~she was~ she is the best teacher in the school.",
    "~I think we~ I know we can finish it today.",
    "The results ~show that~ show a clear rise in sales.",
    "~He has~ he had a small garden behind the house.",
    "~We bought~ we buy fresh bread every morning.",
    "Put [the] the book on the shelf.",
    "~In the~ in the summer we swim in the lake.",
    "~They will~ they would like to visit Rome.",
    "~Try and~ try to keep the room clean.",
    "Click [on] on the blue button.",
]
REPAIR_CONTROLS = [
    "I know that that answer is wrong.",
    "We walked to the park to play football.",
    "We know we can win this game.",
    "One by one the lights went out.",
    "She had had enough of the noise.",
    "He said he would call us later.",
    "It is what it is.",
    "You can do it if you try.",
]


@dataclass
class TruthWord:
    """A word of the corpus as spoken: what it is, where it is, and whether it should be cut."""

    text: str
    kind: str  # one of KINDS
    start: float
    end: float
    elongated: bool = False


@dataclass
class CorpusItem:
    name: str
    voice: str
    words_per_minute: int
    pitch: int
    snr_db: float | None
    duration_s: float
    half: str  # "tune" or "test"
    words: list[TruthWord] = field(default_factory=list)
    timing_check_s: float = 0.0  # check_word_times: the longest sound found between two truth words

    @property
    def disfluencies(self) -> list[TruthWord]:
        return [w for w in self.words if w.kind != "word"]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @staticmethod
    def from_json(text: str) -> CorpusItem:
        data = json.loads(text)
        data["words"] = [TruthWord(**w) for w in data["words"]]
        return CorpusItem(**data)


@dataclass
class _Token:
    text: str
    kind: str
    char_start: int
    char_end: int
    elongated: bool = False


def to_ssml(sentences: list[str]) -> tuple[str, list[_Token]]:
    """The SSML espeak speaks for a script, and its tokens with their character spans in it."""
    parts: list[str] = ["<speak>"]
    tokens: list[_Token] = []
    cursor = len(parts[0])

    def emit(text: str, kind: str | None = None, shown: str | None = None, elongated: bool = False) -> None:
        nonlocal cursor
        if kind is not None:
            tokens.append(_Token(shown or text, kind, cursor, cursor + len(text), elongated))
        parts.append(text)
        cursor += len(text)

    for sentence in sentences:
        retake = sentence.startswith("^")
        body = sentence[1:] if retake else sentence
        if retake:  # "^A. | A and more.": the first sentence is the retake
            first, _, rest = body.partition("|")
            body = _mark_retake(first.strip()) + " | " + rest.strip()
        for piece in re.findall(r"\{[^}]+\}[,.]?|\[[^\]]+\]|~[^~]+~|\||\S+", body):
            if piece == "|":
                emit(f'<break time="{PAUSE_MS}ms"/> ')
            elif piece.startswith("{"):
                name, _, flag = piece[1 : piece.index("}")].partition(":")
                punctuation = piece[piece.index("}") + 1 :]
                sound = FILLER_SOUNDS[name.lower()]
                if flag == "long":
                    emit(f'<prosody rate="{LONG_FILLER_RATE}">')
                    emit(sound, "filler", name.lower(), elongated=True)
                    emit("</prosody>")
                else:
                    emit(sound, "filler", name.lower())
                emit(punctuation + " ")
            elif piece.startswith("["):
                emit(piece[1:-1], "repeat")
                emit(" ")
            elif piece.startswith("~"):
                for word in piece[1:-1].split():
                    emit(word, "false_start")
                    emit(" ")
            elif piece.startswith("\x00"):
                emit(piece[1:], "retake")
                emit(" ")
            else:
                emit(piece, "word")
                emit(" ")
    emit("</speak>")
    return "".join(parts), tokens


def _mark_retake(sentence: str) -> str:
    return " ".join("\x00" + w for w in sentence.split())


def synthesize(sentences: list[str], voice: Voice) -> tuple[np.ndarray, list[TruthWord], float]:
    """Speech at CORPUS_RATE, its truth words, and the timing check (see check_word_times)."""
    ssml, tokens = to_ssml(sentences)
    samples, spoken = speak_timed(ssml, voice, ssml=True)
    check = check_word_times(samples, spoken)
    spans: list[list[int]] = [[] for _ in tokens]
    owner = 0
    for word in spoken:
        # words come in order; espeak's character position can fall a character or two short of its word
        while owner + 1 < len(tokens) and (
            tokens[owner + 1].char_start <= word.char_start
            or (
                word.char_start >= tokens[owner + 1].char_start - 2
                and (bool(spans[owner]) or word.char_start >= tokens[owner].char_end)
            )
        ):
            owner += 1
        spans[owner] += [word.start_sample, word.end_sample]
    truth: list[TruthWord] = []
    for token, span in zip(tokens, spans, strict=True):
        text = re.sub(r"[^\w'-]", "", token.text.lower())
        if not span:  # espeak says some pairs as one word ("in the"): they are one truth word
            if not truth or token.kind not in ("word", "false_start") or truth[-1].kind != token.kind:
                raise ValueError(f"espeak said nothing for {token.text!r} in {ssml!r}")
            truth[-1].text += " " + text
            continue
        start, end = min(span) / SAMPLE_RATE, max(span) / SAMPLE_RATE
        truth.append(TruthWord(text, token.kind, round(start, 4), round(end, 4), token.elongated))
    return resample(samples, SAMPLE_RATE, CORPUS_RATE), truth, check


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling (scipy), float32."""
    from math import gcd

    from scipy.signal import resample_poly

    divisor = gcd(rate, target)
    return resample_poly(samples, target // divisor, rate // divisor).astype(np.float32)


def room_noise(length: int, seed: int, rate: int = CORPUS_RATE) -> np.ndarray:
    """Room tone: pink noise with more low end (ventilation), a faint mains hum, unit RMS."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.fft.rfftfreq(length, 1 / rate)
    shape = 1 / np.sqrt(np.maximum(freqs, 20.0))  # pink: -3 dB per octave
    shape *= 1 / (1 + (freqs / 4000.0) ** 2)  # rooms and cheap microphones lose the top
    noise = np.fft.irfft(spectrum * shape, length)
    noise += 0.05 * np.sqrt(2) * np.sin(2 * np.pi * 50 * np.arange(length) / rate) * np.std(noise)
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float, words: list[TruthWord]) -> np.ndarray:
    """Speech plus noise scaled so that the speech (its words' samples) is `snr_db` above the noise."""
    active = (
        np.concatenate([speech[int(w.start * CORPUS_RATE) : int(w.end * CORPUS_RATE)] for w in words])
        if words
        else speech
    )
    speech_rms = float(np.sqrt(np.mean(active**2)))
    mixed = speech + noise[: speech.size] * speech_rms / 10 ** (snr_db / 20)
    return np.clip(mixed, -1.0, 1.0).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = CORPUS_RATE) -> None:
    """16-bit mono WAV, at the corpus' rate unless told."""
    synth.write_wav(path, samples, rate)


def make_item(
    folder: Path,
    name: str,
    sentences: list[str],
    voice: Voice,
    half: str,
    snr_db: float | None = None,
    lead_in_s: float = 0.5,
    seed: int = 0,
) -> CorpusItem:
    """Write NAME.wav (16 kHz) and NAME.truth.json into `folder`; return the item."""
    speech, words, check = synthesize(sentences, voice)
    pad = np.zeros(int(lead_in_s * CORPUS_RATE), np.float32)
    samples = np.concatenate([pad, speech, pad])
    words = [
        TruthWord(w.text, w.kind, round(w.start + lead_in_s, 4), round(w.end + lead_in_s, 4), w.elongated)
        for w in words
    ]
    if snr_db is not None:
        samples = mix_at_snr(samples, room_noise(samples.size, seed), snr_db, words)
    item = CorpusItem(
        name=name,
        voice=voice.name,
        words_per_minute=voice.words_per_minute,
        pitch=voice.pitch,
        snr_db=snr_db,
        duration_s=round(samples.size / CORPUS_RATE, 4),
        half=half,
        words=words,
        timing_check_s=round(check, 4),
    )
    write_wav(folder / f"{name}.wav", samples)
    (folder / f"{name}.truth.json").write_text(item.to_json(), encoding="utf-8")
    return item


def build_corpus(
    folder: Path, halves: tuple[str, ...] = ("tune", "test"), items_per_voice: int = 3
) -> list[CorpusItem]:
    """The corpus: per voice setting, `items_per_voice` talks (clean, 20 dB and 10 dB room noise in turn),
    scripts rotating over the voices, so every script is heard in several voices."""
    items = []
    voices = [("tune", v) for v in TUNING_VOICES] + [("test", v) for v in HELD_OUT_VOICES]
    for index, (half, voice) in enumerate(voices):
        if half not in halves:
            continue
        for k in range(items_per_voice):
            script = SCRIPTS[(index + k) % len(SCRIPTS)]
            if k == 0:
                script = [*script, CLEAN_SENTENCES[index % len(CLEAN_SENTENCES)]]
            snr = (None, 20.0, 10.0)[k % 3]
            slug = re.sub(r"[^a-z0-9]+", "-", voice.name.lower()).strip("-")
            name = f"{half}-{slug}-{k}" + (f"-snr{snr:g}" if snr is not None else "-clean")
            items.append(make_item(folder, name, script, voice, half, snr, seed=index * 10 + k))
    return items


def load_corpus(folder: Path) -> list[CorpusItem]:
    """The items of a corpus folder written by build_corpus, by name."""
    return [CorpusItem.from_json(p.read_text()) for p in sorted(folder.glob("*.truth.json"))]


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m ave_core.corpus OUT_DIR [tune|test|all]", file=sys.stderr)
        return 2
    which = argv[1] if len(argv) > 1 else "all"
    halves = ("tune", "test") if which == "all" else (which,)
    items = build_corpus(Path(argv[0]), halves)
    seconds = sum(i.duration_s for i in items)
    print(
        f"wrote {len(items)} items, {seconds / 60:.1f} min, "
        f"worst timing check {max(i.timing_check_s for i in items) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
