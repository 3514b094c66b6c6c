"""Anchor dictionaries for selective relabeling (Eldan & Russinovich 2023, "Who's Harry Potter?").

An anchor dictionary maps each *anchor term* of the target text (names, places, invented terms: ``"Hogwarts"``) to a
list of *generic alternatives* a reader who never saw the text would use instead (``["Riverside Academy", ...]``).
It is a plain JSON object ``{term: [alternative, ...]}``, written with sorted keys and indentation so that people can
review and edit it.

The original pipeline asked a large model for anchors chunk by chunk, merged the answers (union of alternatives) and
dropped *splittable* keys, which the relabeling step covers word by word anyway:

* ``"X's"`` when ``"X"`` is a key (the possessive is relabeled through ``"X"``);
* a multi-word key whose every word is a key (``"Harry Potter"`` when ``"Harry"`` and ``"Potter"`` are keys).

Its dictionaries were saved as ``dicts_new.npy``, an object array: reading one is *unpickling* (``np.load(...,
allow_pickle=True)``), which can run arbitrary code, so :func:`load_npy_dictionaries` refuses unless asked explicitly.

:func:`extract_anchor_dictionary` asks an instruct model for anchors chunk by chunk, as the original did.
:func:`anchors` is ``geounlearn-trl anchors`` as a typed function (TRL's ``main(script_args, ...)`` shape;
``geounlearn_trl.cli.anchors`` only parses the flags): every input given is merged into one dictionary
(:func:`build_anchor_dictionary`), cleaned, and written for review.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from geounlearn_trl.methods.selective.extraction import (
    ExtractionArguments,
    ParseResult,
    ask_about_chunks,
    parse_anchor_output,
)
from geounlearn_trl.evaluation.familiarity import find_reference
from geounlearn_trl.data.records import InputError, read_text

if TYPE_CHECKING:
    from trl import ModelConfig

AnchorDictionary = dict[str, list[str]]

POSSESSIVE = re.compile(r"^(?P<stem>.+?)(?:'s|’s|'|’)$")


class AnchorDictionaryError(InputError):
    """An anchor dictionary with the wrong shape; the message names the file and the offending key."""


class PickleRefusedError(PermissionError):
    """A ``.npy`` of Python objects was to be loaded without the explicit opt-in to unpickling."""


# ---------------------------------------------------------------------------------------------------------------------
# Validation, reading and writing
# ---------------------------------------------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def validate_anchor_dictionary(data, source: str = "<anchor dictionary>") -> AnchorDictionary:
    """Check the shape (a JSON object of non-empty string -> non-empty list of non-empty strings); return a copy."""
    if not isinstance(data, Mapping):
        raise AnchorDictionaryError(
            f"{source}: expected a JSON object mapping each anchor term to a list of alternatives, "
            f"got {type(data).__name__}"
        )
    if not data:
        raise AnchorDictionaryError(f"{source}: the dictionary has no anchor terms")
    checked: AnchorDictionary = {}
    for key, alternatives in data.items():
        if not isinstance(key, str) or not key.strip():
            raise AnchorDictionaryError(f"{source}: key {key!r}: anchor terms must be non-empty strings")
        if not isinstance(alternatives, list):
            raise AnchorDictionaryError(
                f"{source}: key {key!r}: expected a list of alternatives, got {type(alternatives).__name__} "
                f"{alternatives!r}"
            )
        if not alternatives:
            raise AnchorDictionaryError(f"{source}: key {key!r}: the list of alternatives is empty")
        for position, alternative in enumerate(alternatives):
            if not isinstance(alternative, str) or not alternative.strip():
                raise AnchorDictionaryError(
                    f"{source}: key {key!r}: alternative {position} is {alternative!r}, expected a non-empty string"
                )
        checked[key] = list(alternatives)
    return checked


def load_anchor_dictionary(path: str | os.PathLike) -> AnchorDictionary:
    """Read and validate an anchor dictionary JSON file (see :func:`validate_anchor_dictionary`)."""
    source = str(path)
    hint = " (a .npy file? import it with --import_npy and --allow_pickle)" if source.endswith(".npy") else ""
    if not os.path.isfile(path):
        raise AnchorDictionaryError(f"{source}: no such file")
    try:
        text, _raw, _bom = read_text(path)  # UTF-8 (a BOM is dropped); a bad byte is named with its offset
        data = json.loads(text, object_pairs_hook=partial(_refuse_repeated_keys, source))
    except InputError as error:
        raise AnchorDictionaryError(f"{error}{hint}") from None
    except json.JSONDecodeError as error:
        raise AnchorDictionaryError(
            f"{source}: not a JSON anchor dictionary ({error.msg}; line {error.lineno}, column {error.colno}){hint}"
        ) from None
    return validate_anchor_dictionary(data, source)


def _refuse_repeated_keys(source: str, pairs: list[tuple]) -> dict:
    """json's object hook: a key given twice would silently keep only its last list of alternatives."""
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise AnchorDictionaryError(f"{source}: key {key!r}: given twice (merge the two lists of alternatives)")
        seen[key] = value
    return seen


def save_anchor_dictionary(dictionary: Mapping[str, list[str]], path: str | os.PathLike) -> None:
    """Write ``dictionary`` for review: sorted keys, 2-space indent, UTF-8 text (not ``\\u`` escapes).

    Written to a temporary file beside ``path`` and renamed over it, so a failure never leaves a half-written file
    (``path`` may be one of the inputs).
    """
    checked = validate_anchor_dictionary(dict(dictionary), str(path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, staging = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(checked, handle, ensure_ascii=False, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(staging, path)
    except BaseException:
        if os.path.exists(staging):
            os.unlink(staging)
        raise


# ---------------------------------------------------------------------------------------------------------------------
# Merging and cleaning
# ---------------------------------------------------------------------------------------------------------------------


def merge_anchor_dictionaries(*dictionaries: Mapping[str, Iterable[str]]) -> AnchorDictionary:
    """Union of several dictionaries: each key's alternatives in order of first appearance, without duplicates.

    Keys and alternatives are compared after NFC and whitespace normalisation; an alternative equal to its own key
    (ignoring case) is dropped, and so is a key left with no alternatives.
    """
    merged: AnchorDictionary = {}
    for dictionary in dictionaries:
        for key, alternatives in dictionary.items():
            key = _normalise(str(key))
            if not key:
                continue
            bucket = merged.setdefault(key, [])
            for alternative in alternatives:
                alternative = _normalise(str(alternative))
                if alternative and alternative.casefold() != key.casefold() and alternative not in bucket:
                    bucket.append(alternative)
    return {key: alternatives for key, alternatives in merged.items() if alternatives}


def splittable_keys(dictionary: Mapping[str, object]) -> list[str]:
    """Keys the relabeling covers through other keys, judged against the keys as given, in one pass:

    * ``"X's"`` (or ``"X'"``, typographic apostrophe too) when ``"X"`` is a key;
    * a multi-word key whose every whitespace-separated word is itself a key. As in the original, a word ``"X's"``
      is not covered by ``"X"`` here: ``"Riddle's diary"`` stays even with ``"Riddle"`` and ``"diary"`` as keys.
    """
    keys = set(dictionary)
    dropped = []
    for key in dictionary:
        possessive = POSSESSIVE.match(key)
        words = key.split()
        if (possessive is not None and possessive["stem"] in keys) or (
            len(words) > 1 and all(w in keys for w in words)
        ):
            dropped.append(key)
    return dropped


def clean_anchor_dictionary(dictionary: Mapping[str, list[str]]) -> AnchorDictionary:
    """Drop :func:`splittable_keys`, as the original pipeline did before relabeling."""
    dropped = set(splittable_keys(dictionary))
    return {key: list(alternatives) for key, alternatives in dictionary.items() if key not in dropped}


# ---------------------------------------------------------------------------------------------------------------------
# The original's dicts_new.npy
# ---------------------------------------------------------------------------------------------------------------------

PICKLE_WARNING = (
    "a .npy file of Python dictionaries is a pickle: loading it with np.load(path, allow_pickle=True) can run "
    "arbitrary code from the file. Only load files you trust"
)


def load_npy_dictionaries(path: str | os.PathLike, allow_pickle: bool = False) -> list[AnchorDictionary]:
    """The dictionaries in the original pipeline's ``dicts_new.npy`` (a pickled dict or list of dicts).

    Refuses with :class:`PickleRefusedError` unless ``allow_pickle`` is true, because loading it unpickles.
    """
    if not allow_pickle:
        raise PickleRefusedError(f"{path}: refusing to load; {PICKLE_WARNING}. Pass --allow_pickle to load it anyway.")
    import numpy as np

    source = str(path)
    try:
        array = np.load(path, allow_pickle=True)
    except FileNotFoundError:
        raise AnchorDictionaryError(f"{source}: no such file") from None
    except (ValueError, OSError) as error:
        raise AnchorDictionaryError(f"{source}: not a .npy file ({error})") from None
    items = [array.item()] if getattr(array, "ndim", 1) == 0 else list(array)
    dictionaries = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise AnchorDictionaryError(f"{source}: item {index} is a {type(item).__name__}, expected a dictionary")
        dictionary = {}
        for key, alternatives in item.items():
            if isinstance(alternatives, str):
                alternatives = [alternatives]
            elif hasattr(alternatives, "tolist"):  # numpy arrays of strings
                alternatives = alternatives.tolist()
            if not isinstance(key, str) or not isinstance(alternatives, (list, tuple, set)):
                raise AnchorDictionaryError(
                    f"{source}: item {index}, key {key!r}: expected a string key and a list of alternatives, "
                    f"got {type(alternatives).__name__}"
                )
            dictionary[key] = [str(alternative) for alternative in alternatives]
        dictionaries.append(dictionary)
    return dictionaries


# ---------------------------------------------------------------------------------------------------------------------
# Extraction with a local instruct model
# ---------------------------------------------------------------------------------------------------------------------

ANCHOR_INSTRUCTION = (
    "List the anchor terms of this text: names of people, places, objects and invented terms that are specific to "
    "it. Give each anchor term {num_alternatives} generic alternatives that a reader who never saw the text might "
    "use instead, one anchor term per line, as 'term: alternative, alternative, alternative'.\n\nText: {chunk}"
)
# A worked example on a made-up text, given as an earlier turn of the conversation: it steers small chat models to the
# format far better than the description alone (and SmolLM2 kept to it better under its template's default system
# prompt than under one of ours, so there is none). Terms copied from it (or made up) do not occur in the chunk and are
# dropped after parsing.
ANCHOR_EXAMPLE = (
    "Captain Ilsa Marrow sailed the Greywind out of Port Kessel to find the Amber Crown.",
    "Ilsa Marrow: Anna Miller, Jane Brown, Mary Smith\n"
    "Greywind: the ship, the boat, the vessel\n"
    "Port Kessel: the harbour, the port, the city\n"
    "Amber Crown: the treasure, the jewel, the crown",
)


@dataclass
class ExtractionReport:
    """What :func:`extract_anchor_dictionary` found: the dictionary and how the model's replies parsed."""

    dictionary: AnchorDictionary
    num_chunks: int = 0
    skipped_lines: int = 0
    dropped_splittable: list[str] = field(default_factory=list)
    not_in_text: int = 0
    replies: list[str] = field(default_factory=list)
    skipped_examples: list[str] = field(default_factory=list)


def extract_anchor_dictionary(
    model,
    tokenizer,
    text: str,
    chunk_tokens: int = 384,
    num_alternatives: int = 3,
    max_chunks: int | None = None,
    drop_splittable: bool = True,
    **generation_kwargs,
) -> ExtractionReport:
    """Ask ``model`` for anchor terms chunk by chunk, parse each reply, merge and (by default) clean.

    ``generation_kwargs`` go to :func:`~geounlearn_trl.methods.selective.extraction.chat_generate` (``max_new_tokens``, ``batch_size``,
    ``do_sample``, ``seed``, ...).
    """
    if not text.strip():
        raise ValueError("the target text is empty: there is nothing to extract anchor terms from")
    question = partial(ANCHOR_INSTRUCTION.format, num_alternatives=num_alternatives)
    example_text, example_answer = ANCHOR_EXAMPLE
    chunks, replies = ask_about_chunks(
        model, tokenizer, text, question, (question(chunk=example_text), example_answer), chunk_tokens, max_chunks,
        "anchor terms", **generation_kwargs,
    )  # fmt: skip
    parsed: list[ParseResult] = [parse_anchor_output(reply) for reply in replies]
    found, not_in_text = [], 0
    for chunk, result in zip(chunks, parsed, strict=True):
        # An anchor must occur in the chunk it was asked about (whole words, casefolded): this drops the example's
        # terms and anything the model made up.
        kept = {term: alternatives for term, alternatives in result.entries.items() if find_reference(chunk, [term])}
        not_in_text += len(result.entries) - len(kept)
        found.append(kept)
    merged = merge_anchor_dictionaries(*found)
    dropped = splittable_keys(merged) if drop_splittable else []
    dictionary = clean_anchor_dictionary(merged) if drop_splittable else merged
    return ExtractionReport(
        dictionary=dictionary,
        num_chunks=len(chunks),
        skipped_lines=sum(p.skipped for p in parsed),
        not_in_text=not_in_text,
        dropped_splittable=dropped,
        replies=replies,
        skipped_examples=[example for p in parsed for example in p.skipped_examples][:10],
    )


# ---------------------------------------------------------------------------------------------------------------------
# The `anchors` command: build, merge, clean or import a dictionary
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(kw_only=True)  # --output is required: keyword-only lets it follow the shared fields' defaults
class AnchorsArguments(ExtractionArguments):
    """The flags of ``geounlearn-trl anchors``: the inputs to merge (files, an ``.npy``, a text to ask the model
    about) and the dictionary to write."""

    output: str = field(metadata={"help": "Where to write the anchor dictionary (JSON, sorted keys, indented)."})
    target_text: str | None = field(
        default=None, metadata={"help": "UTF-8 text to extract anchor terms from with the instruct model."}
    )
    merge: list[str] | None = field(
        default=None, metadata={"help": "Anchor dictionary JSON files to merge (union of alternatives)."}
    )
    clean: str | None = field(
        default=None,
        metadata={"help": "An existing anchor dictionary JSON to clean (drop splittable keys); may equal --output."},
    )
    import_npy: str | None = field(
        default=None,
        metadata={"help": "The original scripts' dicts_new.npy (a dict or list of dicts). Needs --allow_pickle."},
    )
    allow_pickle: bool = field(
        default=False,
        metadata={"help": f"Allow --import_npy to unpickle: {PICKLE_WARNING}."},
    )
    drop_splittable: bool = field(
        default=True,
        metadata={
            "help": 'Drop splittable keys after merging: "X\'s" when "X" is a key, multi-word keys whose words '
            "are all keys (as the original does)."
        },
    )
    num_alternatives: int = field(default=3, metadata={"help": "Generic alternatives to ask for per anchor term."})


def build_anchor_dictionary(args: AnchorsArguments, model_args: ModelConfig) -> dict:
    """Build the dictionary from every input given, write it to ``--output``, and return a summary.

    ``model_args`` names the instruct model asked about ``--target_text`` (loaded only then)."""
    if not (args.target_text or args.merge or args.clean or args.import_npy):
        raise ValueError("nothing to do: give --target_text, --merge, --clean and/or --import_npy")
    sources, summary = [], {}
    # Read every file input first: a bad file fails before minutes of generation are spent.
    for path in list(args.merge or []) + ([args.clean] if args.clean else []):
        sources.append(load_anchor_dictionary(path))
    if args.import_npy:
        sources += load_npy_dictionaries(args.import_npy, allow_pickle=args.allow_pickle)
    if args.target_text:
        report = args.extract_from_target_text(
            extract_anchor_dictionary,
            model_args,
            num_alternatives=args.num_alternatives,
            drop_splittable=False,  # cleaned once below, after merging with the other inputs
        )
        summary.update(
            chunks=report.num_chunks,
            extracted_terms=len(report.dictionary),
            skipped_lines=report.skipped_lines,
            terms_not_in_text=report.not_in_text,
        )
        if report.skipped_examples:
            summary["skipped_examples"] = report.skipped_examples[:3]
        sources.append(report.dictionary)
    merged = merge_anchor_dictionaries(*sources)
    seen = {" ".join(str(key).split()) for source in sources for key in source}
    summary["dropped_without_alternatives"] = len(seen - set(merged))  # keys whose only alternative was themselves
    summary["terms_before_cleaning"] = len(merged)
    dictionary = merged
    if args.drop_splittable or args.clean:
        dropped = splittable_keys(merged)
        dictionary = clean_anchor_dictionary(merged)
        summary["dropped_splittable"] = len(dropped)
    if not dictionary:
        raise ValueError(
            "no anchor terms were found"
            + (" (the model's replies could not be parsed; see --save_replies)" if args.target_text else "")
            + f"; nothing written to {args.output}"
        )
    save_anchor_dictionary(dictionary, args.output)
    summary.update(terms=len(dictionary), output=args.output)
    return summary



def anchors(args: AnchorsArguments, model_args: ModelConfig) -> int:
    """``geounlearn-trl anchors`` as a typed function: :func:`build_anchor_dictionary`, then its summary, one
    ``key: value`` line each. Returns the exit status: 0; 2 after one line on stderr when ``--import_npy`` needs
    ``--allow_pickle``; 1 after one line for a bad dictionary, a missing file or nothing found."""
    try:
        summary = build_anchor_dictionary(args, model_args)
    except PickleRefusedError as error:
        print(f"geounlearn-trl anchors: {error}", file=sys.stderr)
        return 2
    except (AnchorDictionaryError, ValueError, FileNotFoundError) as error:
        print(f"geounlearn-trl anchors: {error}", file=sys.stderr)
        return 1
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0
