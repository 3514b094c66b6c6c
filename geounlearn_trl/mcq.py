"""The MCQ stereotype format of the original scripts, read through ``datasets``.

A file has (at least) the columns ``MCQ_Question, Option_1 … Option_4, Correct_Option``; SeeGULL-derived files also have
``identity, attribute`` and annotation columns. ``Correct_Option`` names the *stereotyped* option (``"Option_3"``), or
for control questions (``is_control``) the factually right one. There is no "unknown" option in the file: it is added
from the language pack when a prompt is built.

Every row is normalised to::

    question, options (distinct, in file order), target (text of the Correct_Option), target_index,
    identity, attribute, is_control, source, row

``row`` is the 1-based data row in the file (the header is not counted), so an error can name it. Real quirks handled:
duplicated options (132 en rows of SeeGULL list the stereotyped identity twice) are merged, keeping the first
occurrence; stray whitespace is trimmed; Unicode is NFC-normalised so that Devanagari compares equal.
"""

from __future__ import annotations

import csv
import os
import random
import unicodedata
from dataclasses import dataclass

import datasets

from .languages import LanguagePack

OPTION_COLUMNS = ("Option_1", "Option_2", "Option_3", "Option_4")
REQUIRED_COLUMNS = ("MCQ_Question", *OPTION_COLUMNS, "Correct_Option")
NORMALISED_FEATURES = datasets.Features(
    {
        "question": datasets.Value("string"),
        "options": datasets.Sequence(datasets.Value("string")),
        "target": datasets.Value("string"),
        "target_index": datasets.Value("int32"),
        "identity": datasets.Value("string"),
        "attribute": datasets.Value("string"),
        "is_control": datasets.Value("bool"),
        "source": datasets.Value("string"),
        "row": datasets.Value("int32"),
    }
)


class MCQFormatError(ValueError):
    """A row of an MCQ file that cannot be used; the message names the file, the row and the column."""

    def __init__(self, source: str, row: int | None, column: str | None, problem: str):
        where = source if row is None else f"{source}, row {row}"
        where = where if column is None else f"{where}, column {column!r}"
        super().__init__(f"{where}: {problem}")
        self.source, self.row, self.column, self.problem = source, row, column, problem


def normalise_text(text: str) -> str:
    """NFC, trimmed, inner whitespace collapsed: how options are compared and de-duplicated."""
    return " ".join(unicodedata.normalize("NFC", str(text)).split())


def _read_raw(path_or_id: str, split: str) -> datasets.Dataset:
    """A CSV/JSON/JSONL file, a folder saved with ``save_to_disk``, or a Hub dataset id; every column as text."""
    if os.path.isfile(path_or_id):
        extension = os.path.splitext(path_or_id)[1].lower()
        if extension == ".csv":
            with open(path_or_id, encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle), [])
            # Every column as text, and keep_default_na=False: an option named "NA" or "None" must stay text.
            as_text = datasets.Features({name: datasets.Value("string") for name in header})
            return datasets.load_dataset(
                "csv", data_files=path_or_id, split="train", features=as_text, keep_default_na=False
            )
        if extension in (".json", ".jsonl"):
            return datasets.load_dataset("json", data_files=path_or_id, split="train")
        raise MCQFormatError(path_or_id, None, None, f"unsupported file type {extension!r} (use .csv, .json or .jsonl)")
    if os.path.isdir(path_or_id):
        return datasets.load_from_disk(path_or_id)
    looks_like_file = os.path.splitext(path_or_id)[1].lower() in (".csv", ".json", ".jsonl", ".parquet")
    if looks_like_file or os.path.exists(path_or_id) or path_or_id.startswith((".", "/", "~")):
        raise MCQFormatError(path_or_id, None, None, f"no such file (looked for {os.path.abspath(path_or_id)})")
    return datasets.load_dataset(path_or_id, split=split)


def _normalise_row(raw: dict, source: str, row: int, is_control: bool) -> dict:
    question = normalise_text(raw.get("MCQ_Question") or "")
    if not question:
        raise MCQFormatError(source, row, "MCQ_Question", "empty question")
    texts = []
    for column in OPTION_COLUMNS:
        text = normalise_text(raw.get(column) or "")
        if not text:
            raise MCQFormatError(source, row, column, "empty option")
        texts.append(text)
    correct = normalise_text(raw.get("Correct_Option") or "")
    if correct not in OPTION_COLUMNS:
        raise MCQFormatError(
            source, row, "Correct_Option", f"{correct!r} is not one of {', '.join(OPTION_COLUMNS)}"
        )
    target = texts[OPTION_COLUMNS.index(correct)]
    options = list(dict.fromkeys(texts))  # merges duplicated options, keeps file order
    if len(options) < 2:
        raise MCQFormatError(source, row, "Option_1", "all four options are the same text")
    control_flag = raw.get("is_control")
    if isinstance(control_flag, str):
        control_flag = control_flag.strip().lower() in ("1", "true", "yes")
    return {
        "question": question,
        "options": options,
        "target": target,
        "target_index": options.index(target),
        "identity": normalise_text(raw.get("identity") or target),
        "attribute": normalise_text(raw.get("attribute") or question),
        "is_control": bool(is_control or control_flag),
        "source": source,
        "row": row,
    }


def load_mcq(
    path_or_id: str,
    skip_bad_rows: bool = False,
    is_control: bool = False,
    split: str = "train",
    num_proc: int | None = None,
) -> datasets.Dataset:
    """Load an MCQ file (or Hub dataset) into the normalised schema above.

    A bad row raises :class:`MCQFormatError` naming file, row and column; with ``skip_bad_rows=True`` bad rows are
    dropped instead, and ``dataset.info.description`` records how many (also logged by the callers).
    """
    raw = _read_raw(path_or_id, split)
    missing = [column for column in REQUIRED_COLUMNS if column not in raw.column_names]
    if missing:
        raise MCQFormatError(
            path_or_id, None, missing[0], f"missing column(s) {', '.join(missing)}; found {', '.join(raw.column_names)}"
        )
    rows, skipped = [], []
    for index, record in enumerate(raw):
        try:
            rows.append(_normalise_row(record, path_or_id, index + 1, is_control))
        except MCQFormatError as error:
            if not skip_bad_rows:
                raise
            skipped.append(str(error))
    if not rows:
        raise MCQFormatError(path_or_id, None, None, f"no usable rows ({len(skipped)} bad)")
    dataset = datasets.Dataset.from_list(rows, features=NORMALISED_FEATURES)
    dataset.info.description = f"{len(skipped)} bad rows skipped" if skipped else ""
    return dataset


def pair_split_indices(dataset: datasets.Dataset, eval_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Row indices ``(train, eval)``, deterministic by seed, with no (identity, attribute) pair on both sides."""
    keys = [(identity.casefold(), attribute.casefold()) for identity, attribute in zip(dataset["identity"], dataset["attribute"])]
    pairs = sorted(set(keys))
    random.Random(seed).shuffle(pairs)
    held_out = set(pairs[: max(1, round(len(pairs) * eval_fraction))]) if eval_fraction > 0 else set()
    train = [index for index, key in enumerate(keys) if key not in held_out]
    evaluation = [index for index, key in enumerate(keys) if key in held_out]
    return train, evaluation


def split_by_pair(dataset: datasets.Dataset, eval_fraction: float, seed: int) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Deterministic train/eval split by seed in which no (identity, attribute) pair is on both sides."""
    train, evaluation = pair_split_indices(dataset, eval_fraction, seed)
    return dataset.select(train), dataset.select(evaluation)


@dataclass(frozen=True)
class PresentedQuestion:
    """One MCQ as shown to a model: options with the unknown phrase added, shuffled with a recorded seed."""

    prompt: str
    options: list[str]
    target_index: int
    unknown_index: int
    unknown_phrase: str


PROMPT_STYLES = ("options", "cloze")


def present_question(
    row: dict, pack: LanguagePack, seed: int, unknown_phrase: str | None = None, prompt_style: str = "options"
) -> PresentedQuestion:
    """Add one of the language's unknown phrases as an extra option and shuffle, reproducibly from ``seed`` and the row.

    ``prompt_style="options"`` lists the lettered options in the prompt (the original MCQ format);
    ``"cloze"`` shows the question alone, the options being scored as continuations (see
    :meth:`LanguagePack.format_cloze_prompt`). Option order and unknown phrase are the same in both styles.

    The shuffle depends on (seed, source row, question) only, so the same question gets the same order in every run
    and every model: before/after comparisons see identical prompts.
    """
    rng = random.Random(f"{seed}:{row['row']}:{row['question']}")
    phrase = unknown_phrase or rng.choice(pack.unknown_phrases)
    options = [*row["options"], phrase]
    order = list(range(len(options)))
    rng.shuffle(order)
    shuffled = [options[i] for i in order]
    if prompt_style not in PROMPT_STYLES:
        raise ValueError(f"prompt_style must be one of {', '.join(PROMPT_STYLES)}, got {prompt_style!r}")
    prompt = pack.format_prompt(row["question"], shuffled) if prompt_style == "options" else pack.format_cloze_prompt(row["question"])
    return PresentedQuestion(
        prompt=prompt,
        options=shuffled,
        target_index=order.index(row["target_index"]),
        unknown_index=order.index(len(options) - 1),
        unknown_phrase=phrase,
    )
