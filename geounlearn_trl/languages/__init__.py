"""Language packs: the words a language needs, kept as data (one ``<code>.json`` per language).

Adding a language is adding one JSON file beside this module with the fields of :class:`LanguagePack`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

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


@lru_cache(maxsize=None)
def load_language_pack(code: str) -> LanguagePack:
    path = LANGUAGE_DIR / f"{code}.json"
    if not path.is_file():
        raise ValueError(
            f"Unknown language {code!r}: no language pack {path.name} in {LANGUAGE_DIR}. "
            f"Available: {', '.join(available_languages())}. Add a language by adding one JSON file there."
        )
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    missing = [name for name in ("code", "unknown_phrases", "prompt_template") if name not in data]
    if missing or not data.get("unknown_phrases"):
        raise ValueError(f"{path}: language pack lacks {missing or ['a non-empty unknown_phrases']}")
    return LanguagePack(**data)
