"""The review page: one entry per cut with a player of the source around it and of the same moment in the
edited video, embedded so the page stands alone; checked in a real (headless) Chromium at a phone's size."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ave_core.media import probe
from ave_core.models import Cut, Plan, Span, Word, complement, make_producer
from ave_core.review import (
    COPY_KEYFRAME_S,
    build_review,
    excerpt_spans,
    small_picture_codec,
    small_picture_filter,
    write_review,
)
from ave_core.synth import Truth
from ave_core.timemap import EditMap
from tests.browser import Browser
from tests.conftest import ffmpeg

CONTEXT_S = 1.0


class Page(HTMLParser):
    """The entries, their players and the script's links, as a parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[dict[str, str]] = []
        self.players: dict[str, list[str]] = {}
        self.captions: dict[str, list[str]] = {}
        self._in_caption = False
        self.links: list[str] = []
        self.external: list[str] = []

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self.captions[self.entries[-1]["id"]][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption":
            self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "li" and "entry" in values.get("class", ""):
            self.entries.append(values)
            self.players[values["id"]] = []
        if tag in ("video", "audio"):
            self.players[self.entries[-1]["id"]].append(values["src"])
        self._in_caption = tag == "figcaption" and bool(self.entries)
        if self._in_caption:
            self.captions.setdefault(self.entries[-1]["id"], []).append("")
        if tag == "a" and values.get("href", "").startswith("#cut-"):
            self.links.append(values["href"][1:])
        for name in ("src", "href"):
            if values.get(name, "").startswith(("http:", "https:", "//")):
                self.external.append(values[name])


def edited_copy(source: Path, keep: list[Span], out: Path) -> Path:
    """The source with only the keep ranges, as the render would make it (picture and sound cut alike)."""
    select = "+".join(f"between(t,{k.start:.3f},{k.end:.3f})" for k in keep)
    ffmpeg("-i", str(source), "-vf", f"select='{select}',setpts=N/FRAME_RATE/TB",
           "-af", f"aselect='{select}',asetpts=N/SR/TB", "-c:v", "libx264", "-preset", "ultrafast",
           "-c:a", "aac", str(out))  # fmt: skip
    return out


def render_copies(final: Path, parts: int, folder: Path) -> list[Path]:
    """The edited video's picture in `parts` chunks as render_chunk's second output makes them."""
    frames = int(probe(final, slug="final").video.frame_count)
    copies, first = [], 0
    for k in range(parts):
        count = frames // parts if k < parts - 1 else frames - first
        out = folder / f"review-{k}.mp4"
        trim = f"trim=start_frame={first}:end_frame={first + count},setpts=PTS-STARTPTS"
        scale = small_picture_filter(240)
        ffmpeg("-i", str(final), "-vf", f"{trim},{scale}", "-an", *small_picture_codec(25), str(out))
        copies.append(out)
        first += count
    return copies


@pytest.fixture(
    scope="module",
    params=[(1.0, False), (0.0, False), (0.0, True)],
    ids=["each excerpt cut alone", "copied from a proxy", "edit copied from the render's copies"],
)
def reviewed(talk: tuple[Path, Truth], tmp_path_factory: pytest.TempPathFactory, request):
    """A plan cutting the talk's fillers and its longest pause, the edited video, and the review page: its
    excerpts cut one by one from the files, copied out of a small proxy of each (what a cut every few
    seconds gets), and the edit's copied out of the render's small copies of its chunks."""
    proxy_share, from_render = request.param
    source, truth = talk
    folder = tmp_path_factory.mktemp("review")
    cuts = [Cut(start=u.start - 0.05, end=u.end + 0.05, reason="filler", rationale=u.text, confidence=0.9)
            for u in truth.fillers]  # fmt: skip
    start, end = max(truth.pauses[1:], key=lambda p: p[1] - p[0])
    cuts.append(
        Cut(start=start + 0.15, end=end - 0.15, reason="silence", rationale="a long pause", confidence=0.6)
    )
    cuts.sort(key=lambda c: c.start)
    keep = complement(cuts, truth.duration)
    plan = Plan(producer=make_producer("direct", "test"), backend="test", keep=keep, cuts=cuts)
    words = [Word(word=w, start=u.start + i * 0.2, end=u.start + i * 0.2 + 0.15, probability=0.9)
             for u in truth.utterances for i, w in enumerate(u.text.split())]  # fmt: skip
    final = edited_copy(source, keep, folder / "final.mp4")
    media = probe(source, slug="talk")
    copies = render_copies(final, 2, folder) if from_render else []
    page = build_review(
        "talk", plan, words, media, source, final, context_s=CONTEXT_S, video_width=240,
        proxy_share=proxy_share, edit_copies=copies,
    )  # fmt: skip
    write_review(folder / "review.html", page)
    return plan, folder / "review.html", media, from_render


def test_one_entry_per_cut_with_two_embedded_players(reviewed, tmp_path: Path) -> None:
    plan, page_path, media, from_render = reviewed
    page = Page()
    page.feed(page_path.read_text())
    assert [e["id"] for e in page.entries] == [f"cut-{n}" for n in range(1, len(plan.cuts) + 1)]
    assert [e["data-reason"] for e in page.entries] == [c.reason for c in plan.cuts]
    assert set(page.links) == {e["id"] for e in page.entries}, "every cut is reachable from the script"
    assert page.external == [], "the page must not need the network"
    spans = excerpt_spans(plan, media.duration_s, CONTEXT_S, 6.0)
    for entry, excerpt in zip(page.entries, spans, strict=True):
        source_uri, edited_uri = page.players[entry["id"]]
        source_caption, edited_caption = page.captions[entry["id"]]
        for uri, span, caption, kind in (
            (source_uri, excerpt.source, source_caption, "source"),
            (edited_uri, excerpt.edited, edited_caption, "edited"),
        ):
            assert uri.startswith("data:video/mp4;base64,")
            clip = tmp_path / f"{entry['id']}.mp4"
            clip.write_bytes(base64.b64decode(uri.split(",", 1)[1]))
            info = probe(clip, slug="clip")
            assert info.video is not None and info.has_audio
            assert info.video.display_width == 240
            shown_start, shown_end = caption_span(caption)
            assert shown_end - shown_start == pytest.approx(info.duration_s, abs=0.15), caption
            assert shown_end == pytest.approx(span.end, abs=0.1)
            early = COPY_KEYFRAME_S if from_render and kind == "edited" else 0.0
            # an excerpt copied out of the render's copy starts at the keyframe at or before its span
            assert span.start - early - 0.1 <= shown_start <= span.start + 0.1, (entry["id"], caption, span)
            assert span.duration_s - 0.1 < info.duration_s < span.duration_s + early + 0.1, (
                entry["id"],
                span,
            )


def caption_span(caption: str) -> tuple[float, float]:
    """The stretch a player's caption names ("Source 0:01.5–0:04.0: ..."), in seconds."""
    times = re.findall(r"(\d+):(\d+(?:\.\d+)?)", caption)[:2]
    start, end = (int(m) * 60 + float(s) for m, s in times)
    return start, end


def test_the_edited_player_shows_the_join_the_cut_became(reviewed) -> None:
    plan, _, media, _ = reviewed
    edit_map = EditMap.from_keep(plan.keep)
    for excerpt in excerpt_spans(plan, media.duration_s, CONTEXT_S, 6.0):
        join = edit_map.to_edited_clamped(excerpt.cut.start)
        assert excerpt.edited.start <= join <= excerpt.edited.end
        assert excerpt.source.start <= excerpt.cut.start and excerpt.cut.end <= excerpt.source.end
        assert excerpt.source.start == pytest.approx(max(0.0, excerpt.cut.start - CONTEXT_S))


def test_a_long_cut_plays_only_its_first_seconds() -> None:
    cut = Cut(start=10.0, end=40.0, reason="silence")
    plan = Plan(
        producer=make_producer("direct", "test"), backend="test", keep=complement([cut], 60.0), cuts=[cut]
    )
    (excerpt,) = excerpt_spans(plan, 60.0, 1.5, 6.0)
    assert excerpt.shortened and excerpt.source == Span(start=8.5, end=17.5)
    assert excerpt.edited == Span(start=8.5, end=11.5)


def test_the_page_works_in_a_real_browser_on_a_phone(reviewed, tmp_path: Path) -> None:
    plan, page_path, _, _ = reviewed
    with Browser() as browser:
        browser.open(page_path)
        entries = browser.evaluate("document.querySelectorAll('li.entry').length")
        states = browser.media_states()
        overflow = browser.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        shot = browser.screenshot(tmp_path / "review-phone.png")
    assert entries == len(plan.cuts)
    assert len(states) == 2 * len(plan.cuts)
    for state in states:
        assert state["scheme"] == "data" and state["error"] is None, state
        assert state["ready"] >= 1 and state["duration"] > 0.5 and state["width"] == 240, state
    assert overflow <= 0, "the page scrolls sideways on a phone"
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
