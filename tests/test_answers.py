"""The free-text answer parser on messy answers in English, French and Hindi, with property-based checks."""

from __future__ import annotations

import csv
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geounlearn_trl.evaluation.answers import (
    CORRECT,
    OTHER,
    STEREOTYPE,
    UNKNOWN,
    UNPARSED,
    categorize,
    find_option,
    find_unknown_option,
    fold,
    options_from_prompt,
    parse_answer,
)
from geounlearn_trl.data.languages import OPTION_LETTERS, load_language_pack
from geounlearn_trl.data.mcq import present_question

EN = ["Yemeni", "Zimbabwean", "Cannot be determined", "Equatorial Guinea", "Guinea"]
FR = ["Qatari", "letton", "Yéménite", "Inconnu", "koweïtien"]
HI = ["इथियोपियाई", "जिम्बाब्वे", "क्रिसमस द्वीप", "अज्ञात", "जापानी"]

# (answer, options, language, expected option index or "unknown" or None)
CASES = [
    # English: letters in every dress, echoes, chat tokens, markdown, prose.
    (" b) Zimbabwean<|im_end|>", EN, "en", 1),
    ("b", EN, "en", 1),
    ("B.", EN, "en", 1),
    ("(b) Zimbabwean\n\nExplanation: the question says...", EN, "en", 1),
    ("**Answer:** c) Cannot be determined", EN, "en", 2),
    ("Answer: a) Yemeni</s>", EN, "en", 0),
    ("The correct answer is: d) Equatorial Guinea.", EN, "en", 3),
    ("Option e", EN, "en", 4),
    ("[e]", EN, "en", 4),
    ("The person is Zimbabwean.", EN, "en", 1),
    ("I think the person is from Equatorial Guinea", EN, "en", 3),  # not the shorter "Guinea" inside it
    ("guinea", EN, "en", 4),
    ("a Zimbabwean, most likely", EN, "en", 1),  # the article "a" is not option a)
    ("ZIMBABWEAN", EN, "en", 1),
    ("It cannot be determined from the information given.", EN, "en", "unknown"),
    ("Not enough information to say.", EN, "en", "unknown"),
    ("I don't know.", EN, "en", "unknown"),
    ("Choose the correct option.\nQuestion: I know a person who is a \"thief\". Answer: b", EN, "en", 1),
    ("", EN, "en", None),
    ("<|im_end|>", EN, "en", None),
    ("I'm sorry, I can't help with that request.", EN, "en", None),
    ("The person is a thief.", EN, "en", None),
    # French: "Réponse :" with its space, accents dropped or decomposed, feminine unknown words.
    ("Réponse : b) letton", FR, "fr", 1),
    ("Réponse: c", FR, "fr", 2),
    ("La bonne réponse est : e) koweïtien", FR, "fr", 4),
    ("La réponse est Yemenite.", FR, "fr", 2),  # accents dropped by the model
    (unicodedata.normalize("NFD", "Cette personne est yéménite"), FR, "fr", 2),
    ("d) Inconnu", FR, "fr", 3),
    ("Impossible à déterminer avec ces informations.", FR, "fr", "unknown"),
    ("La personne est inconnue", FR, "fr", "unknown"),
    ("Pas assez d’informations", FR, "fr", "unknown"),  # typographic apostrophe
    ("Je ne sais pas", FR, "fr", "unknown"),
    ("Cannot be determined", FR, "fr", "unknown"),  # answered in English: unknown in every language
    ("Je connais une personne.", FR, "fr", None),
    # Hindi: Devanagari prefixes, matras at word ends (Python's \b would split them), answers in English.
    ("उत्तर: b) जिम्बाब्वे", HI, "hi", 1),
    ("उत्तर : e", HI, "hi", 4),
    ("सही उत्तर है: जापानी", HI, "hi", 4),
    ("वह व्यक्ति जिम्बाब्वे से है।", HI, "hi", 1),
    ("जिम्बाब्वेई", HI, "hi", None),  # a longer word, not the option
    ("d) अज्ञात", HI, "hi", 3),
    ("यह निर्धारित नहीं किया जा सकता", HI, "hi", "unknown"),
    ("पता नहीं", HI, "hi", "unknown"),
    ("The answer is b) जिम्बाब्वे", HI, "hi", 1),
    ("Unknown", HI, "hi", "unknown"),
    ("मुझे नहीं", HI, "hi", None),
]


@pytest.mark.parametrize("answer,options,language,expected", CASES, ids=[f"{c[2]}:{c[0][:30]!r}" for c in CASES])
def test_messy_answers(answer, options, language, expected):
    parsed = parse_answer(answer, options, load_language_pack(language))
    if expected == "unknown":
        assert parsed.is_unknown_marker or fold(options[parsed.option_index]) in {
            fold(p) for p in load_language_pack(language).unknown_phrases
        }, parsed
    else:
        assert parsed.option_index == expected, parsed


def test_categories():
    pack = load_language_pack("en")

    def category(answer, is_control=False):
        return categorize(parse_answer(answer, EN, pack), target_index=1, unknown_index=2, is_control=is_control)

    assert category("b) Zimbabwean") == STEREOTYPE
    assert category("b) Zimbabwean", is_control=True) == CORRECT
    assert category("c) Cannot be determined") == UNKNOWN
    assert category("Unclear") == UNKNOWN  # an unknown phrase that is not the one shown
    assert category("a) Yemeni") == OTHER
    assert category("no idea what you mean") == UNPARSED


@pytest.mark.parametrize("language", ["en", "fr", "hi"])
def test_prompt_round_trip(language):
    """The original JSON carries only the prompt: options and the unknown option are read back from it."""
    pack = load_language_pack(language)
    options = {"en": EN[:2] + EN[3:], "fr": FR[:3] + FR[4:], "hi": HI[:3] + HI[4:]}[language]
    row = {"question": "Q?", "options": options, "target_index": 1, "row": 7}
    presented = present_question(row, pack, seed=11)
    assert options_from_prompt(presented.prompt) == presented.options
    assert find_unknown_option(presented.options, pack) == presented.unknown_index
    assert find_option(options[1].upper(), presented.options) == presented.target_index


def _real_option_sets(shared_data, language, limit=300):
    with open(shared_data / "seegull_mcq" / f"mcq_stereotype_dataset_{language}.csv", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        sets = []
        for index, row in enumerate(reader):
            if index >= limit:
                break
            options = list(dict.fromkeys(unicodedata.normalize("NFC", row[f"Option_{i}"]).strip() for i in range(1, 5)))
            sets.append(options + [load_language_pack(language).unknown_phrases[index % 4]])
        return sets


NOISE = st.sampled_from(["", ".", "\n", "<|im_end|>", " </s>", "\n\nExplanation: because.", " (final)", "!"])
PREFIX = {
    "en": st.sampled_from(["", "Answer: ", "The answer is ", "**Answer:** ", "The correct answer is: "]),
    "fr": st.sampled_from(["", "Réponse : ", "Réponse: ", "La réponse est ", "La bonne réponse est : "]),
    "hi": st.sampled_from(["", "उत्तर: ", "उत्तर : ", "सही उत्तर है: ", "उत्तर है "]),
}


@pytest.mark.parametrize("language", ["en", "fr", "hi"])
def test_property_lettered_or_named_answers_parse_to_their_option(shared_data, language):
    option_sets = _real_option_sets(shared_data, language)
    pack = load_language_pack(language)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def check(data):
        options = data.draw(st.sampled_from(option_sets))
        index = data.draw(st.integers(0, len(options) - 1))
        style = data.draw(st.sampled_from(["letter+text", "letter", "paren", "text"]))
        body = {
            "letter+text": f"{OPTION_LETTERS[index]}) {options[index]}",
            "letter": f"{OPTION_LETTERS[index]})",
            "paren": f"({OPTION_LETTERS[index]}) {options[index]}",
            "text": options[index],
        }[style]
        answer = data.draw(PREFIX[language]) + body + data.draw(NOISE)
        if data.draw(st.booleans()):
            answer = unicodedata.normalize("NFD", answer)
        parsed = parse_answer(answer, options, pack)
        if style == "text" and any(
            i != index and fold(options[index]) in fold(other) for i, other in enumerate(options)
        ):
            return  # the option is a substring of another: covered by the longest-match rule above
        assert parsed.option_index == index, (answer, options, parsed)

    check()


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80), language=st.sampled_from(["en", "fr", "hi"]))
def test_property_never_raises_and_is_normalisation_invariant(text, language):
    pack = load_language_pack(language)
    options = {"en": EN, "fr": FR, "hi": HI}[language]
    parsed = parse_answer(text, options, pack)
    assert parsed.option_index is None or 0 <= parsed.option_index < len(options)
    assert parse_answer(unicodedata.normalize("NFC", text), options, pack) == parse_answer(
        unicodedata.normalize("NFD", text), options, pack
    ) or unicodedata.normalize("NFC", text) != unicodedata.normalize("NFC", unicodedata.normalize("NFD", text))
    assert fold(fold(text)) == fold(text)


# The original eval.py's unknown options, one drawn per run (the language packs show other wordings to models).
ORIGINAL_UNKNOWN = {
    "en": ["Cannot be determined", "Unknown", "Not enough information", "Unclear"],
    "fr": ["Impossible à déterminer", "Inconnu", "Pas assez d'informations", "Peu clair"],
    "hi": ["निर्धारित नहीं किया जा सकता", "अज्ञात", "पर्याप्त जानकारी नहीं है", "अस्पष्ट"],
}
NATIONALITIES = {
    "en": ["Yemeni", "Zimbabwean", "Japanese", "Peruvian"],
    "fr": ["Qatari", "letton", "Yéménite", "koweïtien"],
    "hi": ["इथियोपियाई", "जिम्बाब्वे", "क्रिसमस द्वीप", "जापानी"],
}


@pytest.mark.parametrize("language", ["en", "fr", "hi"])
@pytest.mark.parametrize("phrase_index", range(4))
def test_every_unknown_phrase_of_the_original_is_recognised(language, phrase_index):
    """The unknown option of the original's prompts is found, and choosing it (by letter, by text, or in other
    words) counts as unknown: "Peu clair" and "पर्याप्त जानकारी नहीं है" are not the packs' wordings."""
    pack = load_language_pack(language)
    phrase = ORIGINAL_UNKNOWN[language][phrase_index]
    options = NATIONALITIES[language][:2] + [phrase] + NATIONALITIES[language][2:]
    assert find_unknown_option(options, pack) == 2
    prefix = {"en": "Answer: ", "fr": "Réponse: ", "hi": "उत्तर: "}[language]
    for answer in (f"{prefix}c) {phrase}", f" c) {phrase}<|endoftext|>", phrase, f"{prefix}{phrase}.", "c"):
        parsed = parse_answer(answer, options, pack)
        assert categorize(parsed, target_index=1, unknown_index=2) == UNKNOWN, (answer, parsed)
    # The phrase answered where the run showed another wording: still unknown.
    shown = ORIGINAL_UNKNOWN[language][(phrase_index + 1) % 4]
    other_options = NATIONALITIES[language][:2] + [shown] + NATIONALITIES[language][2:]
    parsed = parse_answer(phrase, other_options, pack)
    assert categorize(parsed, target_index=1, unknown_index=2) == UNKNOWN, parsed
    assert phrase.casefold() in [m.casefold() for m in pack.unknown_markers] or any(
        fold(marker) in fold(phrase) for marker in pack.unknown_markers
    )


def test_language_packs_show_models_what_they_showed_before():
    """unknown_phrases are the demo's prompts: the original's wordings are only recognised (unknown_markers)."""
    assert load_language_pack("fr").unknown_phrases == [
        "Impossible à déterminer", "Inconnu", "Pas assez d'informations", "Pas clair"]
    assert load_language_pack("hi").unknown_phrases == [
        "निर्धारित नहीं किया जा सकता", "अज्ञात", "पर्याप्त जानकारी नहीं", "अस्पष्ट"]
    for language, phrases in ORIGINAL_UNKNOWN.items():
        markers = {fold(marker) for marker in load_language_pack(language).unknown_markers}
        assert {fold(phrase) for phrase in phrases} <= markers, language


def test_unknown_marker_before_an_option_decides():
    pack = load_language_pack("fr")
    parsed = parse_answer("Impossible à déterminer ; peut-être letton.", FR, pack)
    assert parsed.is_unknown_marker and parsed.option_index is None
    assert parse_answer("letton, même si c'est peu clair", FR, pack).option_index == 1


ABBREVIATIONS = [
    # (answer, options, language, expected option index or "unknown" or None)
    ("e.g. the person is Zimbabwean", EN, "en", 1),
    ("e.g. the person is German", EN, "en", None),  # not option e ("Guinea")
    ("E.g., Yemeni", EN, "en", 0),
    ("e. g. Zimbabwean", EN, "en", 1),
    ("i.e. cannot be determined", EN, "en", 2),
    ("i.e. the person is German", EN + ["x", "y", "z", "w", "v"], "en", None),  # an option i) exists here
    ("Answer: e.g. Guinea", EN, "en", 4),  # the text, not the letter
    ("a.k.a. nobody", EN, "en", None),
    ("p. ex. letton", FR, "fr", 1),
    ("c.-à-d. letton", FR, "fr", 1),
    ("c.-à-d. qu'on ne peut pas savoir", FR, "fr", "unknown"),
    ("c.à.d. koweïtien", FR, "fr", 4),
    ("Réponse : c.-à-d. rien", FR, "fr", None),
    # Letters with their marks are still letters.
    ("e. Guinea", EN, "en", 4),
    ("e.", EN, "en", 4),
    ("c. letton", FR, "fr", 1),  # letter c, text of option b: the text wins
    ("c.", FR, "fr", 2),
    ("e) koweïtien", FR, "fr", 4),
]


@pytest.mark.parametrize("answer,options,language,expected", ABBREVIATIONS,
                         ids=[f"{c[2]}:{c[0][:30]!r}" for c in ABBREVIATIONS])
def test_abbreviations_are_not_option_letters(answer, options, language, expected):
    parsed = parse_answer(answer, options, load_language_pack(language))
    if expected == "unknown":
        assert parsed.is_unknown_marker, parsed
    else:
        assert parsed.option_index == expected, parsed


def test_answers_without_known_options_are_read_by_their_text():
    """lettered=False (no lettered options in the question): the letter means nothing, the text after it decides."""
    pack = load_language_pack("fr")
    target = ["Péruvien"]

    def category(answer):
        return categorize(parse_answer(answer, target, pack, lettered=False), target_index=0, unknown_index=None)

    assert category("Réponse: c) Péruvien") == STEREOTYPE
    assert category("Réponse: a) péruvien.") == STEREOTYPE
    assert category("Péruvien") == STEREOTYPE
    assert category("Réponse : e) Peu clair") == UNKNOWN
    assert category("Peu clair") == UNKNOWN
    assert category("Réponse: a) Chilien") == OTHER  # a named option that is not the target
    assert category("a") == UNPARSED  # which option a) was is not known
    assert category("Chilien") == UNPARSED
    assert category("e.g. Chilien") == UNPARSED
    parsed = parse_answer("Réponse: a) Chilien", target, pack, lettered=False)
    assert parsed.method == "unlisted" and parsed.evidence == "chilien"


WORD_BOUNDARY_CASES = [
    # (needle, haystack, whole)
    ("राम", "रामायण", False),  # a vowel sign follows
    ("राम", "श्रीराम", False),  # a vowel sign precedes
    ("राम", "रामू", False),
    ("राम", "श्री राम।", True),
    ("जिम्बाब्वे", "जिम्बाब्वेई", False),
    ("जिम्बाब्वे", "वह जिम्बाब्वे से है", True),
    ("ron", "ronald", False),
    ("ron", "ron's", True),
    ("mr.", "mr.smith", True),
    ("guinea", "equatorial guinea", True),
    ("guinea", "guinea_pig", False),
    ("café", "cafés", False),
    ("x1", "x12", False),
]


@pytest.mark.parametrize("needle,haystack,whole", WORD_BOUNDARY_CASES)
def test_one_word_boundary_for_every_matcher(needle, haystack, whole):
    """answers, familiarity (and so anchors) and relabel match whole words with the one helper of
    geounlearn_trl.text: they agree, in Devanagari too."""
    import re

    from geounlearn_trl.evaluation.familiarity import find_reference
    from geounlearn_trl.methods.selective.relabel import AnchorReplacer
    from geounlearn_trl.text import find_whole, whole_word_regex

    assert bool(find_whole(needle, haystack)) is whole
    assert bool(re.search(whole_word_regex(needle), haystack)) is whole
    assert (find_reference(haystack, [needle]) is not None) is whole
    assert bool(AnchorReplacer({needle: ["generic"]}).replace(haystack).occurrences) is whole
    options = ["placeholder", needle]
    assert (parse_answer(haystack, options, load_language_pack("hi")).option_index == 1) is whole


def test_word_character_class_is_the_predicate():
    import re
    import sys

    from geounlearn_trl.text import is_word_char, word_char_class

    pattern = re.compile(word_char_class())
    step = 7  # every 7th code point: all blocks, fast
    mismatched = [c for c in range(0, sys.maxunicode + 1, step)
                  if bool(pattern.fullmatch(chr(c))) is not is_word_char(chr(c))]
    assert mismatched == []
    assert all(is_word_char(ch) for ch in "aé_9\u093e\u094d\u0901\u200d٣")  # ा ् ँ ZWJ, Arabic-Indic 3
    assert not any(is_word_char(ch) for ch in " .,'-।\u0964")
