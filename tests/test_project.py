from pathlib import Path

import pytest

from ave_core.errors import InputError
from ave_core.project import discover_videos, slugify


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("lesson-01", "lesson-01"),
        ("Leçon 3 (final)", "lecon-3-final"),
        ("  My   Talk!!  ", "my-talk"),
        ("a;rm -rf $HOME", "a-rm-rf-home"),
        ("Ünïcödé_Fïlé", "unicode-file"),
    ],
)
def test_slugify_gives_safe_names(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_slugify_of_a_name_without_ascii_is_stable_and_safe() -> None:
    first = slugify("日本語の講義")
    assert first == slugify("日本語の講義")
    assert first.startswith("video-") and first != slugify("别的名字")


def test_discover_takes_video_extensions_in_any_case(tmp_path: Path) -> None:
    for name in ["b.MP4", "a.mov", "c.Mkv", "notes.txt", ".hidden.mp4", "talk.truth.json"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.mp4").mkdir()
    found = discover_videos(tmp_path, ["mp4", "mov", "mkv"])
    assert [v.original_name for v in found] == ["a.mov", "b.MP4", "c.Mkv"]
    assert [v.slug for v in found] == ["a", "b", "c"]
    assert found[0].path == str(tmp_path / "a.mov")


def test_discover_names_both_files_that_slug_alike(tmp_path: Path) -> None:
    (tmp_path / "My Talk.mp4").write_bytes(b"x")
    (tmp_path / "my-talk.mov").write_bytes(b"x")
    with pytest.raises(InputError) as error:
        discover_videos(tmp_path, ["mp4", "mov"])
    message = str(error.value)
    assert "My Talk.mp4" in message and "my-talk.mov" in message and "rename" in message


def test_discover_of_missing_folder_is_empty(tmp_path: Path) -> None:
    assert discover_videos(tmp_path / "absent", ["mp4"]) == []
