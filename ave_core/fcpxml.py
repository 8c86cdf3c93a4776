"""The clips an FCPXML timeline plays, read with exact rational times.

OpenTimelineIO's FCPXML adapters count frames at the integer part of the rate, so a Resolve or Final Cut
export at 29.97 fps places a clip that starts 1.001 s into the source at 0.968 s, and 20 s off ten minutes
in. FCPXML writes every time as a fraction of seconds ("30030/30000s"), which this reader keeps exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from xml.etree import ElementTree

# story elements whose children may sit on the primary storyline (lane 0) or be connected to it (lane ≠ 0)
CONTAINERS = {"clip", "sync-clip", "gap", "spine"}
MEDIA = {"asset-clip", "video", "audio"}
UNSUPPORTED = {"ref-clip": "a compound clip", "mc-clip": "a multicam clip"}


class FcpxmlError(ValueError):
    """An FCPXML this reader cannot follow; the message says why (without the file's name)."""


@dataclass(frozen=True)
class PlacedClip:
    """A stretch of a source asset at a place of the timeline."""

    record_s: Fraction  # where it plays in the sequence
    lane: int  # 0 on the primary storyline; above it positive, below (audio) negative
    url: str | None  # the asset's media file
    source_s: Fraction  # where the stretch starts, from the file's first frame
    duration_s: Fraction
    retimed: bool


def parse_time(value: str | None, default: Fraction = Fraction(0)) -> Fraction:
    """An FCPXML time ("1001/30000s", "10s", "0s") as exact seconds."""
    if value is None or value == "":
        return default
    if not value.endswith("s"):
        raise FcpxmlError(f"the time '{value}' does not end in 's'")
    try:
        return Fraction(value[:-1])
    except (ValueError, ZeroDivisionError) as exc:
        raise FcpxmlError(f"the time '{value}' is not a fraction of seconds") from exc


@dataclass(frozen=True)
class _Asset:
    url: str | None
    start_s: Fraction


def _assets(root: ElementTree.Element) -> dict[str, _Asset]:
    assets = {}
    for asset in root.iter("asset"):
        reps = [r for r in asset.iter("media-rep") if r.get("kind", "original-media") == "original-media"]
        url = asset.get("src") or (reps[0].get("src") if reps else None)
        assets[asset.get("id", "")] = _Asset(url, parse_time(asset.get("start")))
    return assets


def _asset_of(media: ElementTree.Element, clip: ElementTree.Element, assets: dict[str, _Asset]) -> _Asset:
    asset = assets.get(media.get("ref", ""))
    if asset is None:
        raise FcpxmlError(f"'{clip.get('name', clip.tag)}' refers to no asset ('{media.get('ref')}')")
    return asset


def read_fcpxml_clips(text: str) -> list[PlacedClip]:
    """Every media stretch the first sequence plays, in timeline order (lane by lane)."""
    root = ElementTree.fromstring(text.encode("utf-8"))
    if root.tag != "fcpxml":
        raise FcpxmlError(f"its root element is <{root.tag}>, not <fcpxml>")
    sequence = next(root.iter("sequence"), None)
    spine = sequence.find("spine") if sequence is not None else None
    if spine is None:
        raise FcpxmlError("it holds no sequence with a spine (export a project's timeline, not an event)")
    assets = _assets(root)
    placed: list[PlacedClip] = []
    _walk(spine, Fraction(0), Fraction(0), 0, assets, placed)
    return sorted(placed, key=lambda c: (c.lane, c.record_s))


def _walk(
    parent: ElementTree.Element,
    parent_record_s: Fraction,
    parent_local_s: Fraction,
    parent_lane: int,
    assets: dict[str, _Asset],
    placed: list[PlacedClip],
    skip: ElementTree.Element | None = None,
) -> None:
    """Places the children (but `skip`) of a story element whose local time `parent_local_s` plays at
    `parent_record_s`."""
    spine_like = parent.tag == "spine"
    cursor = parent_local_s
    for child in parent:
        if child is skip or child.tag not in CONTAINERS | MEDIA and child.tag not in UNSUPPORTED:
            continue
        if child.tag in UNSUPPORTED:
            raise FcpxmlError(
                f"it plays {UNSUPPORTED[child.tag]} ('{child.get('name', '')}'); break it apart in your NLE "
                "and export again"
            )
        duration = parse_time(child.get("duration"))
        # on a spine an element without an offset follows the one before it
        offset = parse_time(child.get("offset"), cursor if spine_like else parent_local_s)
        lane = parent_lane + int(child.get("lane", "0") or 0)
        record = parent_record_s + (offset - parent_local_s)
        if spine_like and child.get("lane") is None:
            cursor = offset + duration
        start = parse_time(child.get("start"))
        retimed = child.find("timeMap") is not None  # a speed change (conform-rate only matches frame rates)
        if child.tag in MEDIA:
            asset = _asset_of(child, child, assets)
            start = parse_time(child.get("start"), asset.start_s)  # none: from the start of its media
            placed.append(PlacedClip(record, lane, asset.url, start - asset.start_s, duration, retimed))
            if child.tag == "asset-clip":
                _walk(child, record, start, lane, assets, placed)  # its connected clips
            continue
        if child.tag == "clip":
            own = next((c for c in child if c.tag in MEDIA and c.get("lane") is None), None)
            if own is not None:  # the clip's own media, seen through its window [start, start + duration)
                asset = _asset_of(own, child, assets)
                inner = parse_time(own.get("start"), asset.start_s)
                source = start - parse_time(own.get("offset")) + inner - asset.start_s
                placed.append(PlacedClip(record, lane, asset.url, source, duration, retimed))
            _walk(child, record, start, lane, assets, placed, skip=own)
            continue
        # gap, sync-clip, spine: a window of local time whose children are placed inside it
        _walk(child, record, start, lane, assets, placed)
