"""Metadata: titles paired with the thumbnails' hooks, chapters re-timed to the edit, YouTube's limits,
and the Gemini path against the local stand-in with its repairs and fallbacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ave_core.backends import Choice, given
from ave_core.config import DirectorConfig
from ave_core.llm import GeminiLLM
from ave_core.metadata import (
    MAX_TAGS_CHARS,
    make_metadata,
    proposal_schema,
    retime_chapters,
    tags_length,
    timestamp,
)
from ave_core.models import (
    Analysis,
    Chapter,
    Concept,
    Keyword,
    Metadata,
    MetadataStrategy,
    Plan,
    Research,
    Span,
    SpokenNumber,
    Thumbnail,
    Thumbnails,
    Transcript,
    Word,
    make_producer,
    read_artifact,
    write_artifact,
)
from ave_core.timemap import EditMap
from ave_core.transcript import mark_fillers
from tests.gemini_stub import GeminiStub, Reply, Status

KEY = "test-key-PLANTED-metadata-42"
HOOKS = {
    "emotional": "THIS CHANGES EVERYTHING",
    "curiosity": "Why is heating so expensive?",
    "authority": "60 percent",
}
CUT_PHRASE = "blooper nobody should read"


def spoken(*phrases: tuple[float, str]) -> list[Word]:
    """Words of each phrase from its start time, 0.3 s per word."""
    words = []
    for start, text in phrases:
        for i, token in enumerate(text.split()):
            at = round(start + 0.3 * i, 3)
            words.append(Word(word=token, start=at, end=round(at + 0.25, 3), probability=0.9))
    mark_fillers(words, ["um", "uh"])
    return words


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@pytest.fixture
def lesson():
    """A 120 s lesson in three chapters; the plan cuts 30-40 s, the 10 s before chapter 2."""
    words = spoken(
        (1.0, "Welcome to this lesson about saving energy at home."),
        (6.0, "Heating uses about 60 percent of the energy in a house."),
        (12.0, "um Turn the thermostat down by one degree."),
        (31.0, f"This {CUT_PHRASE}."),  # inside the cut
        (41.0, "Insulation keeps the heat inside the walls and the roof."),
        (81.0, "Double glazing on the windows saves 300 dollars a year."),
        (110.0, "Thanks for watching."),
    )
    transcript = Transcript(
        producer=make_producer("transcribe", "test"), language="en", text=" ".join(w.word for w in words),
        segments=[], words=words, backend="test", model="test",
    )  # fmt: skip
    analysis = Analysis(
        producer=make_producer("analyze", "test"),
        concepts=[Concept(term="saving energy", score=1.0, times=[3.1]), Concept(term="heating", score=0.8),
                  Concept(term="insulation", score=0.7), Concept(term="thermostat", score=0.6)],
        themes=["energy", "heat"],
        numbers=[SpokenNumber(text="60 percent", value=60, kind="percent", context="Heating uses", time=7.0)],
        chapters=[Chapter(start=0.0, end=40.0, title="Heating"),
                  Chapter(start=40.0, end=80.0, title="Insulation"),
                  Chapter(start=80.0, end=120.0, title="Windows")],
    )  # fmt: skip
    plan = Plan(
        producer=make_producer("direct", "test"), backend="test",
        keep=[Span(start=0.0, end=30.0), Span(start=40.0, end=120.0)], cuts=[],
        metadata_strategy=MetadataStrategy(primary_keywords=["saving energy", "heating"], audience="owners"),
    )  # fmt: skip
    research = Research(
        producer=make_producer("research", "test"),
        keywords=[Keyword(phrase="home energy saving tips", score=0.9, source="test"),
                  Keyword(phrase="Heating", score=0.8, source="test"),  # a concept too: listed once
                  Keyword(phrase="loft insulation cost", score=0.7, source="test")],
    )  # fmt: skip
    thumbnails = Thumbnails(
        producer=make_producer("thumbnails", "test"),
        thumbnails=[
            Thumbnail(path=f"thumbnails/thumb-{s}.png", strategy=s, hook=h) for s, h in HOOKS.items()
        ],  # type: ignore[arg-type]
    )
    return plan, analysis, transcript, research, EditMap.from_keep(plan.keep), thumbnails


NO_LLM: Choice = Choice(None)


def template(lesson, llm: Choice = NO_LLM, **kwargs) -> Metadata:
    """Metadata without an LLM (`llm` says why none was made, if one was wanted)."""
    return make_metadata(*lesson, llm, **kwargs)


def assert_titles_pair_with_hooks(metadata: Metadata, thumbnails: Thumbnails) -> None:
    assert len(metadata.titles) >= 3
    hooks = {t.strategy: t.hook for t in thumbnails.thumbnails}
    assert {t.thumbnail for t in metadata.titles} >= set(hooks)
    for title in metadata.titles:
        assert 0 < len(title.text) <= 100 and title.text == title.text.strip()
        missing = set(words_of(hooks[title.thumbnail])) - set(words_of(title.text))
        assert not missing, f"{title.text!r} lacks {missing} of the {title.thumbnail} hook"


def chapter_lines(description: str) -> list[str]:
    block = description.split("Chapters:\n", 1)[1].split("\n\n", 1)[0]
    return block.splitlines()


def test_template_titles_carry_the_thumbnail_hooks(lesson) -> None:
    metadata = template(lesson)
    assert metadata.producer.backend == "template" and metadata.producer.fallback is None
    assert_titles_pair_with_hooks(metadata, lesson[5])
    assert not any(t.text.isupper() for t in metadata.titles)  # the shouting hook is title-cased
    Metadata.model_validate(metadata.model_dump())  # a valid artifact


def test_chapters_are_retimed_to_the_edit(lesson) -> None:
    metadata = template(lesson)
    # the plan cuts 30-40 s: chapter 2 (40 s) moves 10 s earlier, and so does chapter 3 (80 s)
    assert [(c.start, c.end, c.title) for c in metadata.chapters] == [
        (0.0, 30.0, "Heating"), (30.0, 70.0, "Insulation"), (70.0, 110.0, "Windows"),
    ]  # fmt: skip
    assert chapter_lines(metadata.description) == ["00:00 Heating", "00:30 Insulation", "01:10 Windows"]


def test_description_has_every_part_and_no_cut_speech(lesson) -> None:
    metadata = template(lesson)
    blocks = metadata.description.split("\n\n")
    assert blocks[0] == "Why is heating so expensive?"  # the curiosity thumbnail's hook
    summary = blocks[1]
    assert 2 <= len(re.findall(r"[.!?](\s|$)", summary)) <= 3 and "saving energy" in summary
    takeaways = metadata.description.split("Key takeaways:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert takeaways and all(line.startswith("• ") for line in takeaways)
    assert any("60 percent" in line for line in takeaways)
    assert blocks[-1] == " ".join(metadata.hashtags)
    assert 3 <= len(metadata.hashtags) <= 5 and all(
        re.fullmatch(r"#[A-Z][A-Za-z0-9]+", h) for h in metadata.hashtags
    )
    assert len({h.lower() for h in metadata.hashtags}) == len(metadata.hashtags)
    assert CUT_PHRASE not in metadata.description and "um" not in words_of(metadata.description)


def test_tags_research_first_deduplicated_within_500(lesson) -> None:
    plan, analysis, transcript, research, edit_map, thumbnails = lesson
    metadata = template(lesson)
    assert metadata.tags[:3] == ["home energy saving tips", "heating", "loft insulation cost"]
    assert metadata.tags.index("saving energy") > 2 and len(set(metadata.tags)) == len(metadata.tags)
    many = research.model_copy(
        update={
            "keywords": [
                Keyword(phrase=f"energy keyword number {i:03d}", score=1 - i / 100, source="t")
                for i in range(60)
            ]
        }  # fmt: skip
    )
    crowded = make_metadata(plan, analysis, transcript, many, edit_map, thumbnails, Choice(None))
    assert MAX_TAGS_CHARS - 30 < tags_length(crowded.tags) <= MAX_TAGS_CHARS
    assert len(", ".join(crowded.tags)) <= MAX_TAGS_CHARS
    assert crowded.tags[0] == "energy keyword number 000"


def test_short_and_cut_chapters_follow_youtubes_rules() -> None:
    edit_map = EditMap.from_keep([Span(start=0.0, end=50.0), Span(start=70.0, end=100.0)])
    chapters = [
        Chapter(start=2.0, title="Intro"),  # the first chapter is moved to 00:00
        Chapter(start=6.0, title="Setup"),  # 4 s in the edit: merged into its neighbour
        Chapter(start=52.0, title="Bloopers"),  # wholly inside the cut 50-70: dropped
        Chapter(start=60.0, title="Results"),  # starts inside the cut: begins where the cut is in the edit
        Chapter(start=95.0, title="Outro"),  # 5 s: merged
    ]
    retimed = retime_chapters(chapters, edit_map, 100.0)
    assert retimed[0].start == 0.0 and retimed[-1].end == 80.0
    assert all(c.end - c.start >= 10.0 for c in retimed)
    # a short chapter takes the title of the longer one it is merged with
    assert [(c.start, c.end, c.title) for c in retimed] == [(0.0, 50.0, "Setup"), (50.0, 80.0, "Results")]
    assert all(a.end == b.start for a, b in zip(retimed, retimed[1:], strict=False))
    assert timestamp(3725.4) == "1:02:05" and timestamp(65.9) == "01:05"


def test_the_workflows_artifacts_give_valid_metadata(finished_talk: Path, tmp_path: Path) -> None:
    talk = finished_talk / "results" / "talk"
    plan = read_artifact(talk / "plan.json", Plan)
    thumbnails = Thumbnails(
        producer=make_producer("thumbnails", "test"),
        thumbnails=[Thumbnail(path=f"thumbnails/thumb-{c.strategy}.png", strategy=c.strategy, hook=c.hook)
                    for c in plan.thumbnail_concepts],
    )  # fmt: skip
    research = read_artifact(talk / "research.json", Research)
    metadata = make_metadata(
        plan, read_artifact(talk / "analysis.json", Analysis),
        read_artifact(talk / "transcript.json", Transcript),
        research, EditMap.from_keep(plan.keep), thumbnails, Choice(None),
    )  # fmt: skip
    write_artifact(tmp_path / "metadata.json", metadata)
    assert_titles_pair_with_hooks(metadata, thumbnails)
    assert chapter_lines(metadata.description)[0].startswith("00:00 ")
    assert metadata.chapters[-1].end == pytest.approx(EditMap.from_keep(plan.keep).duration, abs=1e-3)
    best = max(research.keywords, key=lambda k: k.score)  # research's best keyword is the first tag
    assert tags_length(metadata.tags) <= MAX_TAGS_CHARS and metadata.tags[0] == best.phrase.lower()


def test_without_an_llm_the_reason_is_recorded(lesson) -> None:
    reason = "no GEMINI_API_KEY or GOOGLE_API_KEY in the environment"
    metadata = template(lesson, Choice(None, "gemini", reason))
    fallback = metadata.producer.fallback
    assert fallback is not None and (fallback.wanted, fallback.used) == ("gemini", "template")
    assert "GEMINI_API_KEY" in fallback.reason


# --- Gemini path against the local stand-in ---------------------------------------------------


def gemini(stub: GeminiStub, tmp_path: Path, **settings) -> GeminiLLM:
    config = DirectorConfig(**{"backend": "gemini", "base_url": stub.base_url, "max_retries": 2, **settings})
    return GeminiLLM(config, KEY, tmp_path / "cache", backoff_s=0.01, max_backoff_s=0.05)


def answer(**changes) -> dict:
    good = {
        "titles": [
            {"text": "This Changes Everything About Your Heating Bill", "strategy": "benefit",
             "thumbnail": "emotional"},
            {"text": "Why Is Heating So Expensive? The Real Reason", "strategy": "curiosity",
             "thumbnail": "curiosity"},
            {"text": "60 Percent of Your Energy Goes Here", "strategy": "number", "thumbnail": "authority"},
        ],
        "hook_line": "Your house is quietly burning money.",
        "summary": "Heating is most of a home's energy use. Three steps cut it.",
        "takeaways": ["Heating is about 60 percent of home energy.", "Insulate the loft and walls."],
        "tags": ["heating bill", "home insulation", "thermostat tips"],
        "hashtags": ["#HeatingBill", "#HomeInsulation", "#SaveEnergy"],
    }  # fmt: skip
    return {**good, **changes}


def test_gemini_answer_is_used_with_our_chapters(lesson, tmp_path: Path) -> None:
    with GeminiStub([Reply(data=answer())]) as stub:
        metadata = make_metadata(*lesson, given(gemini(stub, tmp_path)))
        body = stub.requests[0].body
    assert metadata.producer.backend == "gemini" and metadata.producer.fallback is None
    assert metadata.titles[0].text == "This Changes Everything About Your Heating Bill"
    assert_titles_pair_with_hooks(metadata, lesson[5])
    assert metadata.tags == ["heating bill", "home insulation", "thermostat tips"]
    assert metadata.hashtags == ["#HeatingBill", "#HomeInsulation", "#SaveEnergy"]
    assert metadata.description.startswith("Your house is quietly burning money.\n\n")
    assert chapter_lines(metadata.description) == ["00:00 Heating", "00:30 Insulation", "01:10 Windows"]
    sent = json.dumps(body)
    assert "responseJsonSchema" in sent and '<transcript>\\"Welcome to this lesson' in sent  # JSON data
    assert CUT_PHRASE not in sent  # the cut speech is not what the edited video says


def test_over_long_title_and_too_many_tags_are_repaired(lesson, tmp_path: Path) -> None:
    long_title = "Why Is Heating So Expensive? " + "An Extremely Long Explanation " * 6
    tags = [f"heating tag number {i}" for i in range(40)]
    titles = [{"text": long_title, "strategy": "curiosity", "thumbnail": "curiosity"}]
    reply = answer(titles=titles, tags=tags, hashtags=["heating bill", "#x"])
    with GeminiStub([Reply(data=reply)]) as stub:
        metadata = make_metadata(*lesson, given(gemini(stub, tmp_path)))
    assert metadata.producer.backend == "gemini"
    repaired = metadata.titles[0]
    assert len(long_title) > 150 and len(repaired.text) <= 100 and repaired.text.startswith("Why Is Heating")
    assert_titles_pair_with_hooks(metadata, lesson[5])  # the missing thumbnails got the template's titles
    assert tags_length(metadata.tags) <= MAX_TAGS_CHARS and metadata.tags[0] == "heating tag number 0"
    assert metadata.hashtags[0] == "#HeatingBill" and 3 <= len(metadata.hashtags) <= 5
    notes = " | ".join(metadata.producer.warnings)
    assert "title cut" in notes and "tags trimmed" in notes and "emotional thumbnail" in notes


def test_title_without_the_hook_is_replaced(lesson, tmp_path: Path) -> None:
    titles = answer()["titles"]
    titles[2] = {"text": "A Completely Unrelated Title", "strategy": "number", "thumbnail": "authority"}
    with GeminiStub([Reply(data=answer(titles=titles))]) as stub:
        metadata = make_metadata(*lesson, given(gemini(stub, tmp_path)))
    assert "A Completely Unrelated Title" not in [t.text for t in metadata.titles]
    assert_titles_pair_with_hooks(metadata, lesson[5])
    assert any("does not carry the authority hook" in w for w in metadata.producer.warnings)


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ([Status(500)] * 3, "HTTP 500"),
        ([Reply(text="{not json")], "malformed JSON"),
        ([Reply(data={"titles": "one title"})], "does not match the schema"),
        ([Reply(data=answer(chapters=["00:00 Made up"]))], "does not match the schema"),
    ],
)
def test_gemini_failures_fall_back_to_the_template(lesson, tmp_path: Path, script, reason) -> None:
    with GeminiStub(script) as stub:
        metadata = make_metadata(*lesson, given(gemini(stub, tmp_path)))
        assert len(stub.requests) == len(script)
    fallback = metadata.producer.fallback
    assert metadata.producer.backend == "template"
    assert fallback is not None and (fallback.wanted, fallback.used) == ("gemini", "template")
    assert reason in fallback.reason and KEY not in metadata.model_dump_json()
    assert metadata.titles == template(lesson).titles


def test_schema_asks_for_no_chapters_and_has_no_references() -> None:
    schema = proposal_schema()
    assert "$ref" not in json.dumps(schema) and "chapters" not in schema["properties"]
    assert {"titles", "hook_line", "summary"} <= set(schema["required"])
