"""Whole-word matching that holds in every script: one definition of a word character, used everywhere.

Python's ``\\b`` and ``\\w`` (and ``str.isalnum``) do not count combining marks as word characters. In Devanagari
the vowel signs, virama and nukta are combining marks (Unicode categories Mn/Mc), so with ``\\b`` the name "राम"
matches inside "रामायण" (र ा म | ा य ण: a boundary after म, before the vowel sign ा). Here a *word character* is a
letter, a combining mark or a number (``\\p{L}``, ``\\p{M}``, ``\\p{N}``), the underscore (as in ``\\w``), or a zero-width
(non-)joiner (U+200C/U+200D, which sit inside Indic words). A match is *whole* when it is neither preceded nor
followed by a word character, checked only at an end of the needle that is itself a word character: "Mr." and
"Platform 9 3/4." end in punctuation, which is a boundary of its own.

* :func:`is_word_char` — the definition, one character at a time; :func:`is_whole` — whether a span is whole;
* :func:`find_whole` — start offsets of a literal needle occurring as a whole word or phrase;
* :func:`search_whole` — the first whole match of a compiled pattern (the boundary checked in Python);
* :func:`whole_word_regex` — the same rule as regex source (lookarounds), for one needle or an alternation of many;
* :func:`word_char_class` — the regex character class of word characters (``\\w`` plus marks and joiners).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

_JOINERS = "\u200c\u200d"


def is_word_char(ch: str) -> bool:
    """A letter, combining mark or number (Unicode L*, M*, N*), ``_``, or a zero-width (non-)joiner."""
    return ch == "_" or ch in _JOINERS or unicodedata.category(ch)[0] in "LMN"


@lru_cache(maxsize=1)
def word_char_class() -> str:
    """A regex character class matching exactly the characters of :func:`is_word_char`.

    ``\\w`` already matches letters, numbers and ``_`` (``str.isalnum`` is Unicode L ∪ N); the combining marks and the
    joiners are added as ranges.
    """
    ranges, start = [], None
    for code in range(sys.maxunicode + 2):
        is_mark = code <= sys.maxunicode and unicodedata.category(chr(code))[0] == "M"
        if is_mark and start is None:
            start = code
        elif not is_mark and start is not None:
            ranges.append((start, code - 1))
            start = None
    # The marks themselves, not escapes: a shorter pattern, compiled faster (no mark is special inside a class).
    marks = "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)
    return f"[\\w{marks}{_JOINERS}]"


def whole_word_regex(needles: str | Sequence[str], flexible_spaces: bool = False) -> str:
    """Regex source matching one of ``needles`` literally, as a whole word or phrase (see the module docstring).

    Several needles are tried in the order given (put the longest first): one that is not whole at a position lets
    the next one be tried there. With ``flexible_spaces`` any run of whitespace matches the spaces between a
    needle's words. The boundary is written once, around the alternation: before the match, the previous character
    or the match's first one is not a word character; after it, the next character or the match's last one is not.
    """
    needles = [needles] if isinstance(needles, str) else list(needles)
    if flexible_spaces:
        bodies = [r"\s+".join(map(re.escape, needle.split())) for needle in needles if needle.strip()]
    else:
        bodies = [re.escape(needle) for needle in needles if needle]
    if not bodies:
        raise ValueError("whole_word_regex needs at least one non-empty needle")
    word = word_char_class()
    return f"(?:(?<!{word})|(?!{word}))(?:{'|'.join(bodies)})(?:(?!{word})|(?<!{word}))"


def is_whole(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is a whole word or phrase: no word character glued to it on either side (checked
    only at an end where the span itself has a word character)."""
    if start < end and start > 0 and is_word_char(text[start]) and is_word_char(text[start - 1]):
        return False
    return not (start < end < len(text) and is_word_char(text[end - 1]) and is_word_char(text[end]))


def search_whole(pattern: re.Pattern, text: str) -> re.Match | None:
    """The first match of ``pattern`` in ``text`` that :func:`is_whole`, trying every start (a pattern without
    lookarounds stays small and quick to compile; the boundary is checked here)."""
    position = 0
    while position <= len(text):
        match = pattern.search(text, position)
        if match is None:
            return None
        if is_whole(text, match.start(), match.end()):
            return match
        position = match.start() + 1
    return None


def find_whole(needle: str, haystack: str) -> list[int]:
    """Start offsets of ``needle`` in ``haystack`` (compared as given: normalise both first) as a whole word/phrase."""
    if not needle:
        return []
    starts, start = [], haystack.find(needle)
    while start != -1:
        if is_whole(haystack, start, start + len(needle)):
            starts.append(start)
        start = haystack.find(needle, start + 1)
    return starts
