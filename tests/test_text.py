"""The shared text helpers: the behaviour each stage relies on, including the cases where the copies that
were merged into ave_core/text.py used to differ."""

from __future__ import annotations

import pytest

from ave_core.evaluation import number_words
from ave_core.text import (
    content_words,
    fold_plural,
    is_content_word,
    one_line,
    sentence_case,
    short_phrase,
    shorten,
    squashed,
    stopwords,
    title_case,
    token,
    tokens,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cost of heating", "Cost of Heating"),
        ("LED bulbs for the home", "LED Bulbs for the Home"),  # str.title() gave "Led Bulbs For The Home"
        ("don't wait", "Don't Wait"),  # str.title() gave "Don'T Wait"
        ("what it is for", "What It Is For"),  # a minor word closing the title is capitalised
        ("the end", "The End"),
        ("iPhone tips", "iPhone Tips"),
    ],
)
def test_title_case_keeps_minor_words_low_and_names_as_written(text: str, expected: str) -> None:
    assert title_case(text) == expected


def test_shorten_keeps_every_whole_word_that_fits() -> None:
    assert shorten("short enough", 20) == "short enough"
    assert shorten("aaa bbb ccc", 8) == "aaa bbb…"  # "aaa bbb" + "…" is 8: the last copy dropped "bbb"
    assert shorten("one two, three", 10) == "one two…"  # no dangling comma before the ellipsis
    assert shorten("abcdefghijkl", 8) == "abcdefg…"  # one long word is cut inside
    assert len(shorten("word " * 50, 100)) <= 100


def test_one_line_cuts_anywhere_and_keeps_one_line() -> None:
    assert one_line("a\n  b\tc", 10) == "a b c"
    assert one_line("x" * 20, 10) == "x" * 9 + "…"
    assert one_line("x" * 20, 10, ellipsis="...") == "x" * 7 + "..."


def test_sentence_case_capitalises_the_first_word_unless_it_is_a_name() -> None:
    assert sentence_case("  heating   is big") == "Heating is big"
    assert sentence_case("iPhone sales rose") == "iPhone sales rose"
    assert sentence_case("") == ""


def test_words_as_compared() -> None:
    assert token("Car's,") == "car" and token("“Energy”") == "energy"
    assert squashed("Mm-hmm,") == "mmhmm" and squashed("Um,") == "um"
    assert tokens("Save 60% on $300!") == ["save", "60%", "on", "$300"]
    assert (
        fold_plural("cars") == "car"
        and fold_plural("batteries") == "battery"
        and fold_plural("glass") == "glass"
    )


def test_content_words() -> None:
    assert "the" in stopwords() and "sixty" in stopwords() and "gonna" in stopwords()
    assert is_content_word("insulation") and not is_content_word("the") and not is_content_word("60")
    assert content_words("60 % SAVING ENERGY") == ["60", "%", "saving", "energy"]  # numbers count in a hook
    assert content_words("what is it") == ["what", "is", "it"]  # only stop words: all of them


def test_short_phrase_drops_weak_edges() -> None:
    assert short_phrase("So the thermostat is the first step.", 5) == "thermostat is the first step"
    assert short_phrase("and then we turn it down for", 6) == "we turn it down"


def test_number_words_spell_digits_for_the_wer() -> None:
    assert [number_words(n) for n in (7, 19, 42, 300, 1999)] == [
        "seven",
        "nineteen",
        "forty two",
        "three hundred",
        "one thousand nine hundred ninety nine",
    ]
