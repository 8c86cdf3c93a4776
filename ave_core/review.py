"""The review page, `results/{video}/report/review.html`: the edit script with every cut highlighted by its
reason and confidence, and for every cut a short player of the source around it and one of the same moment
in final.mp4, so the creator hears each decision before publishing.

The excerpts are cut by ffmpeg (H.264 and AAC in MP4, which every phone and browser plays) and embedded in
the page as data: URIs: the page is a single file that opens offline, from a mail, on a phone, and inside
`snakemake --report`. Media fragments (`final.mp4#t=12,15`) would weigh nothing but need the videos beside
the page, which neither a phone nor the report has.

Where the excerpts cover most of a file (a cut every few seconds), cutting each one would decode most of the
file's full-size picture several times over (from the keyframe before each excerpt): the file is then made
small once, with a keyframe where each excerpt starts, and the excerpts are copied out of that proxy. The
edited video's small copy is made by the render itself, from the frames it encodes (render_chunk's second
output, a keyframe every COPY_KEYFRAME_S): decoding final.mp4's full-size picture again cost more than
making the copy.
"""

from __future__ import annotations

import base64
import html
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .editscript import ScriptLine, ScriptToken, describe_cut, format_time, script_lines
from .models import Chapter, Cut, MediaInfo, Plan, Span, Word
from .publish import write_text_atomic
from .timemap import EditMap
from .tools import ffmpeg_binary, ffprobe_binary, run_tool

REASON_ORDER = ("creator", "retake", "filler", "silence")  # the colour a merged cut shows
CRF = 30  # the excerpts are for judging a cut, not for watching: small beats sharp
AUDIO_BITRATE = "48k"  # mono speech; the sound is most of an excerpt's bytes
PROXY_SHARE = 0.5  # excerpts covering more of a file than this are copied out of a small proxy of it
# the render's small copy of the edit has a keyframe this often: an excerpt copied out of it starts at its
# span or up to this much before it (its caption says where)
COPY_KEYFRAME_S = 1.0
# the source's and the edit's ffmpegs run side by side, one thread each: decoder and encoder threads cost CPU
# (a fifth more, measured on 2 cores) that two busy processes cannot turn into speed
THREADS = ["-threads", "1"]


@dataclass(frozen=True)
class CutExcerpts:
    """The stretches the two players of one cut play: source seconds, and seconds of final.mp4."""

    number: int
    cut: Cut
    source: Span
    edited: Span
    shortened: bool  # the cut is longer than max_cut_shown_s: the source player stops inside it


@dataclass(frozen=True)
class Player:
    """One embedded excerpt and the stretch of its file it shows."""

    uri: str
    shown: Span


def excerpt_spans(
    plan: Plan, source_duration: float, context_s: float, max_cut_shown_s: float
) -> list[CutExcerpts]:
    """For each cut, `context_s` of the source before and after it (a long cut only in part) and as much
    of the edited video around the join it became."""
    edit_map = EditMap.from_keep(plan.keep)
    excerpts = []
    for number, cut in enumerate(plan.cuts, start=1):
        shown_end = min(cut.end, cut.start + max_cut_shown_s)
        source = Span(start=max(0.0, cut.start - context_s), end=min(source_duration, shown_end + context_s))
        join = edit_map.to_edited_clamped(cut.start)
        edited = Span(
            start=max(0.0, join - context_s), end=max(0.0, min(edit_map.duration_s, join + context_s))
        )
        excerpts.append(CutExcerpts(number, cut, source, edited, shown_end < cut.end))
    return excerpts


def small_picture_filter(width: int) -> str:
    """The filter that makes a picture an excerpt's size: `width` across (never wider), 4:2:0."""
    # area averaging: sharper than bicubic when a picture shrinks several times, and cheaper
    return f"scale='min({width},iw)':-2:flags=area,setsar=1,format=yuv420p"


def small_picture_codec(keyframe_every: int | None = None) -> list[str]:
    """ffmpeg output options of an excerpt's picture; with a keyframe at least every `keyframe_every`
    frames and no B-frames, for a copy that excerpts are copied out of."""
    args = ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(CRF), "-profile:v", "main"]
    if keyframe_every is not None:
        args += ["-bf", "0", "-g", str(keyframe_every)]
    return args


def _small_sound(audio_stream: str) -> list[str]:
    # ffmpeg's fast AAC coder: a third of the default one's time, enough to judge a cut by
    return ["-map", audio_stream, "-c:a", "aac", "-aac_coder", "fast", "-b:a", AUDIO_BITRATE, "-ac", "1"]


def _small_streams(width: int, video_stream: str | None, audio_stream: str | None) -> list[str]:
    """ffmpeg output options of an excerpt's streams: the picture scaled to `width`, mono AAC."""
    args: list[str] = []
    if video_stream is not None:
        args += ["-map", video_stream, "-vf", small_picture_filter(width), *THREADS, *small_picture_codec()]
    if audio_stream is not None:
        args += _small_sound(audio_stream)
    return args


def cut_excerpt(
    source: str | Path,
    span: Span,
    out: Path,
    width: int,
    video_stream: str | None,
    audio_stream: str | None,
) -> None:
    """One excerpt of `source` as a small MP4 (picture scaled to `width`, mono AAC), faststart; the streams
    are ffmpeg -map specifiers ("0:1", "0:a:0"), None for none."""
    args: list[str | Path] = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y"]
    args += ["-ss", f"{span.start:.3f}", *THREADS, "-i", source, "-t", f"{max(span.duration_s, 0.04):.3f}"]
    args += _small_streams(width, video_stream, audio_stream)
    args += ["-movflags", "+faststart", "-f", "mp4", out]
    run_tool(args, what=f"{source}: cutting the excerpt at {span.start:.2f} s", writes=out)


def make_proxy(
    source: str | Path,
    starts_s: Sequence[float],
    out: Path,
    width: int,
    video_stream: str | None,
    audio_stream: str | None,
) -> list[float]:
    """The whole of `source` as the excerpts are made (one decode of its picture), with a keyframe at each
    of `starts_s`; returns the proxy's keyframe times."""
    args: list[str | Path] = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", *THREADS, "-i", source]
    args += _small_streams(width, video_stream, audio_stream)
    if video_stream is not None and starts_s:
        # no B-frames: a copied excerpt then ends on the frame its duration asks for
        args += ["-bf", "0", "-force_key_frames", ",".join(f"{t:.3f}" for t in sorted(set(starts_s)))]
    run_tool([*args, "-f", "mp4", out], what=f"{source}: making the review's small copy", writes=out)
    return _keyframes(out) if video_stream is not None else []


def make_edit_copy(pictures: Sequence[Path], final: str | Path, with_sound: bool, out: Path) -> list[float]:
    """The edited video as its excerpts are made, from the render's small copies of its chunks' pictures
    (joined as they are, as final.mp4's chunks are) and final.mp4's sound; returns its keyframe times."""
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{concat_path(p)}'\n" for p in pictures), encoding="utf-8")
    args: list[str | Path] = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", *THREADS]
    args += ["-f", "concat", "-safe", "0", "-i", listing, "-i", final, "-map", "0:v", "-c:v", "copy"]
    if with_sound:
        args += _small_sound("1:a:0")  # the render's one sound track
    run_tool([*args, "-f", "mp4", out], what=f"{final}: joining the render's small copies", writes=out)
    return _keyframes(out)


def concat_path(path: Path) -> str:
    """A path as an ffmpeg concat list writes it: absolute, its quotes escaped."""
    return str(Path(path).resolve()).replace("'", "'\\''")


def _keyframes(path: Path) -> list[float]:
    packets = run_tool(
        [ffprobe_binary(), "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
         "-of", "csv=p=0", path], what=f"{path}: reading the keyframes of the review's small copy",
    ).stdout  # fmt: skip
    return sorted(
        float(time) for time, flags in (line.split(",", 1) for line in packets.split()) if "K" in flags
    )


def copy_excerpts(proxy: Path, keyframes_s: Sequence[float], jobs: Sequence[tuple[Span, Path]]) -> list[Span]:
    """Excerpts copied out of the proxy, each from its keyframe at (or a frame after) its span's start, else
    the last one before it, all by one ffmpeg (a process costs more than copying a few seconds); returns
    the stretches they show."""
    inputs: list[str | Path] = []
    outputs: list[str | Path] = []
    shown = []
    for index, (span, out) in enumerate(jobs):
        start = span.start
        at_or_after = [k for k in keyframes_s if start - 1e-3 <= k < start + 0.1]
        before = [k for k in keyframes_s if k <= start]
        if at_or_after or before:
            start = at_or_after[0] if at_or_after else before[-1]
        inputs += ["-ss", f"{start:.6f}", "-t", f"{max(span.end - start, 0.04):.3f}", "-i", proxy]
        outputs += ["-map", f"{index}", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", out]
        shown.append(Span(start=start, end=max(span.end, start)))
    args: list[str | Path] = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", *inputs, *outputs]
    run_tool(args, what=f"{proxy}: copying {len(jobs)} excerpts", writes=jobs[0][1] if jobs else None)
    return shown


Streams = tuple[str | None, str | None]  # ffmpeg -map specifiers of the picture and the sound, or None
COPY_BATCH = 40  # excerpts copied by one ffmpeg


def cut_excerpts(
    path: str | Path,
    streams: Streams,
    duration_s: float,
    jobs: Sequence[tuple[Span, Path]],
    width: int,
    proxy_share: float,
    proxy: Path,
) -> list[Span]:
    """One file's excerpts: copied out of a small proxy of it when they cover more than `proxy_share` of
    it, else each cut from the file itself (a few cuts in a long recording); returns what they show."""
    shown_s = sum(span.duration_s for span, _ in jobs)
    if not (duration_s > 0 and shown_s > proxy_share * duration_s):
        for span, out in jobs:
            cut_excerpt(path, span, out, width, *streams)
        return [span for span, _ in jobs]
    keyframes = make_proxy(path, [span.start for span, _ in jobs], proxy, width, *streams)
    return copy_in_batches(proxy, keyframes, jobs)


def copy_in_batches(proxy: Path, keyframes: Sequence[float], jobs: Sequence[tuple[Span, Path]]) -> list[Span]:
    """copy_excerpts, COPY_BATCH excerpts to an ffmpeg."""
    shown = []
    for first in range(0, len(jobs), COPY_BATCH):
        shown += copy_excerpts(proxy, keyframes, jobs[first : first + COPY_BATCH])
    return shown


def edited_excerpts(
    pictures: Sequence[Path],
    final: str | Path,
    with_sound: bool,
    jobs: Sequence[tuple[Span, Path]],
    proxy: Path,
) -> list[Span]:
    """The edited video's excerpts, copied out of the render's small copies joined with final.mp4's sound."""
    if not jobs:
        return []
    return copy_in_batches(proxy, make_edit_copy(pictures, final, with_sound, proxy), jobs)


def _reason_class(reason: str) -> str:
    parts = reason.split("+")
    return next((r for r in REASON_ORDER if r in parts), "other")


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def build_review(
    video: str,
    plan: Plan,
    words: Sequence[Word],
    media: MediaInfo,
    source_path: str | Path,
    final_path: str | Path,
    context_s: float = 1.5,
    max_cut_shown_s: float = 6.0,
    video_width: int = 320,
    chapters: Sequence[Chapter] = (),
    proxy_share: float = PROXY_SHARE,
    edit_copies: Sequence[Path] = (),
) -> str:
    """The review page as one self-contained HTML document. A file whose excerpts cover more than
    `proxy_share` of it has them copied out of a small proxy of it (one decode), else each is cut alone.
    `edit_copies`, the render's small copies of its chunks' pictures in order, stand for final.mp4's
    picture when there is one: its excerpts are then copied out of them."""
    excerpts = excerpt_spans(plan, media.duration_s, context_s, max_cut_shown_s)
    main_audio = media.main_audio()
    # the source's own streams (the default audio track of several); the render's first of each kind
    source_streams = (
        f"0:{media.video.index}" if media.video else None,
        f"0:{main_audio.index}" if main_audio else None,
    )
    final_streams = ("0:v:0" if media.video else None, "0:a:0" if main_audio else None)
    mime = "video/mp4" if media.video else "audio/mp4"
    players: dict[tuple[int, str], Player] = {}  # (cut number, "source" or "edited") -> its excerpt
    edited_s = EditMap.from_keep(plan.keep).duration_s
    with tempfile.TemporaryDirectory(prefix="ave-review-") as folder:
        tmp = Path(folder)
        source_jobs = [(e.source, tmp / f"source-{e.number}.mp4") for e in excerpts]
        edited_jobs = [
            (e.edited, tmp / f"edited-{e.number}.mp4") for e in excerpts if e.edited.duration_s > 0
        ]
        # the two files side by side: the review is the last job, when the other cores have done their work
        with ThreadPoolExecutor(2) as pool:
            source_task = pool.submit(
                cut_excerpts,
                source_path,
                source_streams,
                media.duration_s,
                source_jobs,
                video_width,
                proxy_share,
                tmp / "proxy-source.mp4",
            )
            if media.video is not None and edit_copies:
                edited_task = pool.submit(
                    edited_excerpts,
                    edit_copies,
                    final_path,
                    main_audio is not None,
                    edited_jobs,
                    tmp / "proxy-edited.mp4",
                )
            else:
                edited_task = pool.submit(
                    cut_excerpts,
                    final_path,
                    final_streams,
                    edited_s,
                    edited_jobs,
                    video_width,
                    proxy_share,
                    tmp / "proxy-edited.mp4",
                )
            shown = {
                "source": dict(zip([out for _, out in source_jobs], source_task.result(), strict=True)),
                "edited": dict(zip([out for _, out in edited_jobs], edited_task.result(), strict=True)),
            }  # fmt: skip
        for excerpt in excerpts:
            for kind in ("source", "edited"):
                out = tmp / f"{kind}-{excerpt.number}.mp4"
                if out.exists():
                    players[(excerpt.number, kind)] = Player(_data_uri(out, mime), shown[kind][out])
    lines = script_lines(words, plan, media.duration_s, chapters)
    return _page(video, plan, media, lines, excerpts, players, mime)


def write_review(out: str | Path, page: str) -> None:
    """Write the page atomically."""
    write_text_atomic(out, page)


STYLE = """
:root{--silence:#8a8f98;--filler:#d93025;--retake:#e8710a;--creator:#7b1fa2;--other:#1a73e8}
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:12px;color:#202124}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}
.legend span,.badge{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:.85em;
margin:2px;background:var(--c)}
.r-silence{--c:var(--silence)}.r-filler{--c:var(--filler)}.r-retake{--c:var(--retake)}
.r-creator{--c:var(--creator)}.r-other{--c:var(--other)}
#script p{margin:.15em 0}#script time{color:#5f6368;font:12px monospace;margin-right:.5em}
#script h3{font-size:1em;margin:.8em 0 .2em;color:#5f6368}
a.tok{color:inherit;text-decoration:none;border-bottom:3px solid var(--c);
background:color-mix(in srgb,var(--c) calc(var(--confidence)*30%),transparent)}
a.tok del{text-decoration-color:var(--c);text-decoration-thickness:2px}
.restored{border-bottom:2px dashed var(--creator)}.pause{color:#5f6368;font-size:.9em;white-space:nowrap}
ol#cuts{list-style:none;padding:0}
li.entry{border-left:6px solid var(--c);padding:6px 10px;margin:10px 0;background:#f8f9fa;border-radius:4px}
li.entry:target{outline:3px solid var(--c)}li.entry h3{font-size:1em;margin:0}
.meter{display:inline-block;width:60px;height:8px;background:#dadce0;vertical-align:middle;border-radius:4px}
.meter i{display:block;height:100%;background:var(--c);border-radius:4px}
.removed{font-style:italic;color:#3c4043}
.players{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:8px}
figure{margin:0}figcaption{font-size:.85em;color:#5f6368}
video,audio{width:100%;background:#000;border-radius:4px}footer{color:#5f6368;font-size:.85em;margin:2em 0}
"""

SCRIPT = """
document.addEventListener('play', e => {
  document.querySelectorAll('video,audio').forEach(m => { if (m !== e.target) m.pause(); });
}, true);
"""


def _page(
    video: str,
    plan: Plan,
    media: MediaInfo,
    lines: Sequence[ScriptLine],
    excerpts: Sequence[CutExcerpts],
    players: dict[tuple[int, str], Player],
    mime: str,
) -> str:
    numbers = {id(e.cut): e.number for e in excerpts}
    removed = sum(c.duration_s for c in plan.cuts)
    reasons = sorted(
        {_reason_class(c.reason) for c in plan.cuts}, key=lambda r: [*REASON_ORDER, "other"].index(r)
    )
    legend = "".join(f'<span class="r-{r}">{"your edit" if r == "creator" else r}</span>' for r in reasons)
    source_note = ""
    if plan.edits is not None:
        source_note = (
            f" It follows your edit <code>{html.escape(plan.edits.path)}</code>: "
            f"{len(plan.edits.decisions)} decisions differ from the machine's."
        )
    head = (
        f"<h1>Review of the edit: {html.escape(video)}</h1>"
        f"<p>{len(plan.cuts)} cuts remove {removed:.1f} s of {media.duration_s:.1f} s.{source_note} "
        "Tap a highlighted word to hear its cut; each cut has a player of the source around it and one of "
        "the same moment in the edited video.</p>"
        f'<p class="legend">{legend} <small>the stronger the colour, the surer the machine</small></p>'
    )
    script = "".join(_script_line(line, numbers) for line in lines)
    entries = "".join(_entry(excerpt, players, mime) for excerpt in excerpts)
    body = (
        f'<header>{head}</header><section id="script"><h2>Edit script</h2>{script}</section>'
        f'<section><h2>Cuts</h2><ol id="cuts">{entries}</ol></section>'
        "<footer>Made by ave. The page holds its excerpts: it needs no network and no other file.</footer>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Review: {html.escape(video)}</title><style>{STYLE}</style></head>"
        f"<body>{body}<script>{SCRIPT}</script></body></html>\n"
    )


def _text_html(token: ScriptToken) -> str:
    text = html.escape(token.element.text)
    return f'<span class="pause">{text}</span>' if token.element.kind == "pause" else text


def _script_line(line: ScriptLine, numbers: dict[int, int]) -> str:
    """A line of the script: the tokens one cut removes struck together, as a link to that cut's entry."""
    if line.chapter is not None:
        return f"<h3>{format_time(line.time)} {html.escape(line.chapter.title)}</h3>"
    parts = []
    index = 0
    tokens = line.tokens
    while index < len(tokens):
        token = tokens[index]
        if token.cut is None:
            if token.proposal is not None:
                title = html.escape(
                    f"kept by you; the machine cut it: {describe_cut(token.proposal)}", quote=True
                )
                parts.append(f'<span class="restored" title="{title}">{_text_html(token)}</span>')
            else:
                parts.append(_text_html(token))
            index += 1
            continue
        run = [token]
        index += 1
        while index < len(tokens) and tokens[index].cut is token.cut:
            run.append(tokens[index])
            index += 1
        cut = token.cut
        title = html.escape(describe_cut(cut), quote=True)
        parts.append(
            f'<a class="tok r-{_reason_class(cut.reason)}" href="#cut-{numbers.get(id(cut))}" '
            f'style="--confidence:{cut.confidence:.2f}" title="{title}">'
            f"<del>{' '.join(_text_html(t) for t in run)}</del></a>"
        )
    return f"<p><time>{format_time(line.time)}</time>{' '.join(parts)}</p>"


def _player(player: Player | None, mime: str, caption: str) -> str:
    tag = "video" if mime.startswith("video") else "audio"
    if player is None:
        return f"<figure><figcaption>{html.escape(caption)}: nothing left of it</figcaption></figure>"
    uri = player.uri
    # preload="none": a long talk's page holds hundreds of players; a phone should open only those played
    return (
        f"<figure><figcaption>{html.escape(caption)}</figcaption>"
        f'<{tag} controls playsinline preload="none" src="{uri}"></{tag}></figure>'
    )


def _entry(excerpt: CutExcerpts, players: dict[tuple[int, str], Player], mime: str) -> str:
    cut = excerpt.cut
    reason = _reason_class(cut.reason)
    who = "your edit" if cut.source == "creator" else "machine"
    shortened = f" (its first {excerpt.source.end - cut.start:.0f} s)" if excerpt.shortened else ""
    source, edited = players.get((excerpt.number, "source")), players.get((excerpt.number, "edited"))
    source_span = source.shown if source else excerpt.source
    edited_span = edited.shown if edited else excerpt.edited
    source_caption = (
        f"Source {format_time(source_span.start)}–{format_time(source_span.end)}: the cut is "
        f"{format_time(cut.start)}–{format_time(cut.end)}{shortened}"
    )
    edited_caption = f"Edited video {format_time(edited_span.start)}–{format_time(edited_span.end)}"
    rationale = html.escape(cut.rationale or cut.reason)
    return (
        f'<li class="entry r-{reason}" id="cut-{excerpt.number}" data-reason="{html.escape(cut.reason)}" '
        f'data-confidence="{cut.confidence:.2f}" data-source="{cut.source}">'
        f"<h3>#{excerpt.number} · {format_time(cut.start)}–{format_time(cut.end)} ({cut.duration_s:.2f} s) "
        f'<span class="badge">{html.escape(cut.reason.replace("+", " + "))}</span> '
        f'<span class="meter" title="confidence {cut.confidence:.0%}"><i style="width:{cut.confidence:.0%}">'
        f"</i></span> {cut.confidence:.0%} · {who}</h3>"
        f'<p class="removed">{rationale}</p><div class="players">'
        + _player(source, mime, source_caption)
        + _player(edited, mime, edited_caption)
        + "</div></li>"
    )
