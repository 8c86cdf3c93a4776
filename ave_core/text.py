"""Text helpers every stage shares: words as compared, stop words, content words, title and sentence case,
shortening at a word, and spelled-out numbers. One home for them, so that analysis, research, the Director,
metadata, thumbnails and B-roll treat the same words the same way.
"""

from __future__ import annotations

import re
from functools import lru_cache

# English number words (zero to nineteen, then the tens): the analysis reads them, the WER spells digits so
ONES = tuple(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split()
)
TENS = tuple("twenty thirty forty fifty sixty seventy eighty ninety".split())  # 20, 30, ... 90
SCALE_WORDS = ("hundred", "thousand", "million", "billion", "trillion")

# words YAKE's English list lets through that make poor concepts in speech
SPOKEN_STOPWORDS = (
    frozenset(
        "yeah yep okay gonna wanna gotta kinda sorta stuff thing things lot lots guys today basically "
        "literally pretty bit kind sort percent percentage per cent cents dollar dollars euro euros pound "
        "pounds bucks make makes made making put puts give gives gave".split()
    )
    | frozenset(ONES)
    | frozenset(TENS)
    | frozenset(SCALE_WORDS)
)
# words a title keeps in lower case unless they open or close it (articles, short conjunctions and
# prepositions, as AP style has it)
MINOR_WORDS = frozenset("a an and as at but by for in of on or the to vs".split())
# words a short hook neither starts nor ends with: minor words and the spoken ones that lead into a sentence
WEAK_EDGE_WORDS = MINOR_WORDS | frozenset("so then now well okay".split())
# what is left at the end of a shortened text before its ellipsis
_DANGLING = " ,;:-\u2013\u2014"
ELLIPSIS = "\u2026"


def token(word: str) -> str:
    """A word as compared: lowercase, no surrounding punctuation or possessive 's ("Car's," -> "car")."""
    cleaned = re.sub(r"^\W+|\W+$", "", word.lower().replace("\u2019", "'"))
    return re.sub(r"'s$", "", cleaned)


def tokens(text: str) -> list[str]:
    """The lowercase runs of letters and digits in a text, with $ and % kept ("60%" and "$300" stay whole)."""
    return re.findall(r"[a-z0-9$%]+", text.lower())


def squashed(word: str) -> str:
    """The word's lowercase letters, digits and apostrophes only ("Um," -> "um", "Mm-hmm" -> "mmhmm")."""
    return re.sub(r"[^a-z0-9']", "", word.lower())


def fold_plural(word: str) -> str:
    """A crude plural fold so that "car" and "cars" count as one word.

    Only a key for comparing: "focus" becomes "focu", which is harmless as long as both sides fold alike.
    """
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


# forms of one verb that share no spelling rule (English's common irregular verbs), for word_family
_IRREGULAR_FAMILIES = (
    "be am is are was were been being 's 're 'm",
    "have has had having 've 'd",
    "do does did done doing",
    "go goes went gone going",
    "say says said saying",
    "get gets got gotten getting",
    "make makes made making",
    "know knows knew known knowing",
    "think thinks thought thinking",
    "take takes took taken taking",
    "see sees saw seen seeing",
    "come comes came coming",
    "give gives gave given giving",
    "find finds found finding",
    "tell tells told telling",
    "feel feels felt feeling",
    "leave leaves left leaving",
    "bring brings brought bringing",
    "begin begins began begun beginning",
    "keep keeps kept keeping",
    "write writes wrote written writing",
    "run runs ran running",
    "buy buys bought buying",
    "pay pays paid paying",
    "meet meets met meeting",
    "sit sits sat sitting",
    "stand stands stood standing",
    "speak speaks spoke spoken speaking",
    "teach teaches taught teaching",
    "put puts putting",
    "set sets setting",
    "let lets letting",
    "hear hears heard hearing",
    "hold holds held holding",
    "lose loses lost losing",
    "send sends sent sending",
    "spend spends spent spending",
    "build builds built building",
    "eat eats ate eaten eating",
    "drive drives drove driven driving",
    "grow grows grew grown growing",
    "show shows showed shown showing",
    "fall falls fell fallen falling",
    "read reads reading",
)
# auxiliaries a speaker swaps for one another when restarting ("you should, you can")
MODALS = frozenset("can could will would shall should may might must 'll won't can't".split())
_FAMILY_OF = {form: forms.split()[0] for forms in _IRREGULAR_FAMILIES for form in forms.split()}


def word_family(word: str) -> str:
    """A key shared by the forms of one word: "went" and "go" -> "go", "walked" and "walks" -> "walk", and
    every modal auxiliary -> "<modal>". Only a key for comparing, like fold_plural."""
    word = squashed(word)
    if word in MODALS:
        return "<modal>"
    if word in _FAMILY_OF:
        return _FAMILY_OF[word]
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """YAKE's English stop words plus spoken-language and number words (SPOKEN_STOPWORDS)."""
    import yake

    return frozenset(yake.KeywordExtractor(lan="en").stopword_set) | SPOKEN_STOPWORDS


def is_content_word(word: str) -> bool:
    """Whether a word (as `token` gives it) carries content: three letters or more, no stop word."""
    return len(word) >= 3 and word.isalpha() and word not in stopwords()


def content_words(text: str) -> list[str]:
    """The tokens of a text that are no stop words (numbers count); all of them when every one is."""
    found = tokens(text)
    content = [t for t in found if t not in stopwords()]
    return content or found


def title_case(text: str) -> str:
    """Each word capitalised, except minor words inside the title ("cost of heating" -> "Cost of Heating");
    a word with capitals of its own ("LED", "iPhone") is kept as it is."""
    words = text.split()
    return " ".join(
        word
        if not word.islower() or (0 < index < len(words) - 1 and word in MINOR_WORDS)
        else word[:1].upper() + word[1:]
        for index, word in enumerate(words)
    )


def capitalised(word: str) -> str:
    """The word with a capital first letter, unless its own capitals say it is a name such as "iPhone"."""
    if word[:1].islower() and not any(c.isupper() for c in word[1:]):
        return word[0].upper() + word[1:]
    return word


def sentence_case(text: str) -> str:
    """The text on one line, its first word capitalised (see `capitalised`)."""
    line = " ".join(text.split())
    first, _, rest = line.partition(" ")
    return f"{capitalised(first)} {rest}" if rest else capitalised(first)


def one_line(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """`text` on one line, cut to at most `limit` characters (ellipsis included) wherever that falls."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - len(ellipsis)] + ellipsis


def shorten(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters: cut after the last whole word that fits with an
    ellipsis, dangling punctuation dropped (a single word longer than that is cut inside)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    kept = ""
    for word in line.split(" "):
        longer = f"{kept} {word}" if kept else word
        if len(longer) > limit - len(ELLIPSIS):
            break
        kept = longer
    kept = kept.rstrip(_DANGLING) or line[: limit - len(ELLIPSIS)]
    return kept + ELLIPSIS


def short_phrase(text: str, max_words: int) -> str:
    """At most `max_words` words of `text`, without leading or trailing weak words ("so", "the") or quotes,
    for a hook that reads as a phrase."""
    words = text.replace('"', "").split()
    while words and words[0].lower().strip(",.") in WEAK_EDGE_WORDS:
        words.pop(0)
    words = words[:max_words]
    while len(words) > 1 and words[-1].lower().strip(",.;:") in WEAK_EDGE_WORDS:
        words.pop()
    return " ".join(words).rstrip(".,;:")
