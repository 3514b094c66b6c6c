"""Language packs: the words a language needs, kept as data (one ``<code>.json`` per language).

Adding a language is adding one JSON file beside this module with the fields of :class:`LanguagePack`.
"""

from __future__ import annotations

import difflib
import json
import re
import string
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from pathlib import Path

from ..records import InputError, read_text

LANGUAGE_DIR = Path(__file__).parent
OPTION_LETTERS = "abcdefghij"


@dataclass(frozen=True)
class LanguagePack:
    code: str
    name: str
    question_label: str
    options_label: str
    answer_label: str
    instruction: str
    prompt_template: str
    unknown_phrases: list[str]
    answer_prefixes: list[str] = field(default_factory=list)
    unknown_markers: list[str] = field(default_factory=list)
    # "This person is {identity}.": how a disambiguated item states who the person is (see mcq.disambiguated_items).
    stated_identity_template: str | None = None

    @property
    def content_free_prompt(self) -> str:
        """The answer label alone: the premise against which the "calibrated" scoring rule measures each option
        (the domain-conditional PMI of Holtzman et al. 2021, "Surface Form Competition")."""
        return f"{self.answer_label}:"

    def format_disambiguated_question(self, question: str, identity: str) -> str:
        """``question`` with the pack's stated-identity sentence inserted before its last sentence (or in front)."""
        if not self.stated_identity_template:
            raise ValueError(
                f"language pack {self.code!r} has no 'stated_identity_template' (e.g. \"This person is {{identity}}.\"): "
                "it is needed for the disambiguated items"
            )
        statement = self.stated_identity_template.format(identity=identity)
        # The last sentence is the question proper ("The person is:"); the context ends in . ! ? or the danda.
        match = re.match(r"^(.*[.!?\u0964][\"'\u00bb\u201d]?)\s+([^.!?\u0964]+)$", question, flags=re.S)
        if match:
            return f"{match.group(1)} {statement} {match.group(2)}"
        return f"{statement} {question}"

    def format_cloze_prompt(self, question: str) -> str:
        """The question alone, then the answer label: options are scored as continuations, never listed.

        The cloze formulation of lm-eval-harness; small models read it far better than a lettered list.
        """
        return f"{self.question_label}: {question}\n{self.answer_label}:"

    def format_prompt(self, question: str, options: list[str]) -> str:
        """The MCQ prompt: instruction, question, lettered options ``a) …``, then the answer label."""
        lettered = "\n".join(f"{OPTION_LETTERS[i]}) {text}" for i, text in enumerate(options))
        return self.prompt_template.format(
            instruction=self.instruction,
            question_label=self.question_label,
            question=question,
            options_label=self.options_label,
            options=lettered,
            answer_label=self.answer_label,
        )


def available_languages() -> list[str]:
    return sorted(path.stem for path in LANGUAGE_DIR.glob("*.json"))


class LanguagePackError(InputError):
    """A language pack file that can't be used; the message names the file and the key."""


# The fields of a pack and their types; the placeholders each template must hold.
_TEXT_FIELDS = ("code", "name", "question_label", "options_label", "answer_label", "instruction", "prompt_template")
_LIST_FIELDS = ("unknown_phrases", "answer_prefixes", "unknown_markers")
_TEMPLATE_FIELDS = {
    "prompt_template": ("instruction", "question_label", "question", "options_label", "options", "answer_label"),
    "stated_identity_template": ("identity",),
}


def load_language_pack_file(path: str | Path) -> LanguagePack:
    """Read and validate one language pack JSON file (the fields of :class:`LanguagePack`)."""
    source = str(path)
    try:
        text, _raw, _bom = read_text(path)
        data = json.loads(text)
    except InputError as error:
        raise LanguagePackError(str(error)) from None
    except json.JSONDecodeError as error:
        raise LanguagePackError(f"{source}: not valid JSON ({error.msg}; line {error.lineno}, column {error.colno})") from None
    if not isinstance(data, dict):
        raise LanguagePackError(f"{source}: expected a JSON object of language pack fields, got {type(data).__name__}")
    known = {f.name for f in fields(LanguagePack)}
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; the fields are {', '.join(sorted(known))}"
            raise LanguagePackError(f"{source}, key {key!r}: unknown field{hint}")
    required = [f.name for f in fields(LanguagePack) if f.default is MISSING and f.default_factory is MISSING]
    for key in required:
        if key not in data:
            raise LanguagePackError(f"{source}, key {key!r}: missing (a language pack needs {', '.join(required)})")
    for key in _TEXT_FIELDS + ("stated_identity_template",):
        value = data.get(key)
        if key in data and not (value is None and key == "stated_identity_template"):
            if not isinstance(value, str) or not value.strip():
                raise LanguagePackError(f"{source}, key {key!r}: expected non-empty text, got {value!r:.60}")
    for key in _LIST_FIELDS:
        if key not in data:
            continue
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise LanguagePackError(f"{source}, key {key!r}: expected a list of non-empty texts, got {value!r:.60}")
    if not data["unknown_phrases"]:
        raise LanguagePackError(f"{source}, key 'unknown_phrases': empty; a pack needs at least one unknown phrase")
    for key, placeholders in _TEMPLATE_FIELDS.items():
        template = data.get(key)
        if template is None:
            continue
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        except ValueError as error:
            raise LanguagePackError(f"{source}, key {key!r}: not a valid template ({error})") from None
        unknown = sorted(names - set(placeholders))
        if unknown:
            raise LanguagePackError(
                f"{source}, key {key!r}: unknown placeholder {{{unknown[0]}}}; it may use {', '.join(placeholders)}"
            )
        if key == "stated_identity_template" and "identity" not in names:
            raise LanguagePackError(f"{source}, key {key!r}: must contain {{identity}}")
    if Path(path).stem != data["code"] and Path(path).parent == LANGUAGE_DIR:
        raise LanguagePackError(f"{source}, key 'code': {data['code']!r}, but the file is {Path(path).name}")
    return LanguagePack(**data)


@lru_cache(maxsize=None)
def load_language_pack(code: str) -> LanguagePack:
    path = LANGUAGE_DIR / f"{code}.json"
    if not path.is_file():
        raise ValueError(
            f"Unknown language {code!r}: no language pack {path.name} in {LANGUAGE_DIR}. "
            f"Available: {', '.join(available_languages())}. Add a language by adding one JSON file there."
        )
    return load_language_pack_file(path)
