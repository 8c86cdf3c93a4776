import os
from pathlib import Path

import pytest

from ave_core.errors import OutputError
from ave_core.project import check_writable, discover_videos, name_clash, slugify


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
    for name in ("My Talk.mp4", "my-talk.mov", "other.mp4"):
        (tmp_path / name).write_bytes(b"x")
    found = discover_videos(tmp_path, ["mp4", "mov"])
    assert [v.slug for v in found] == ["my-talk", "other"]  # the others go on
    assert found[0].clashes == (str(tmp_path / "my-talk.mov"),) and name_clash(found[1]) == ""
    assert name_clash(found[0]) == (
        f"{tmp_path / 'My Talk.mp4'} and {tmp_path / 'my-talk.mov'}: both names become 'my-talk' "
        "in results/ — rename one of them"
    )


def test_three_names_that_slug_alike_are_all_named(tmp_path: Path) -> None:
    for name in ("A b.mp4", "a-b.mp4", "a_b.mp4"):
        (tmp_path / name).write_bytes(b"x")
    (video,) = discover_videos(tmp_path, ["mp4"])
    assert name_clash(video).startswith(f"{tmp_path / 'A b.mp4'}, {tmp_path / 'a-b.mp4'} and ")
    assert "rename all but one of them" in name_clash(video)


def test_unwritable_folder_is_named_with_the_fix(tmp_path: Path) -> None:
    check_writable([tmp_path / "results", tmp_path / "logs"])  # absent but creatable: fine
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions do not stop root (the workflow test mounts read-only)")
        with pytest.raises(OutputError, match=r"locked/results/: cannot write there: permission denied"):
            check_writable([locked / "results"])
    finally:
        locked.chmod(0o755)


def test_discover_of_missing_folder_is_empty(tmp_path: Path) -> None:
    assert discover_videos(tmp_path / "absent", ["mp4"]) == []
