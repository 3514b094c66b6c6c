"""The MCQ stereotype format of the original scripts, read through ``datasets``.

A file has (at least) the columns ``MCQ_Question, Option_1 … Option_4, Correct_Option``; SeeGULL-derived files also have
``identity, attribute`` and annotation columns. ``Correct_Option`` names the *stereotyped* option (``"Option_3"``), or
for control questions (``is_control``) the factually right one. There is no "unknown" option in the file: it is added
from the language pack when a prompt is built.

Every row is normalised to::

    question, options (distinct, in file order), target (text of the Correct_Option), target_index,
    identity, attribute, is_control, source, row, split_group, item_type, stereotype

``row`` is the 1-based data row in the file (the header is not counted), so an error can name it. ``split_group`` is
what the held-out split keeps together (:func:`held_out_split`). ``item_type`` is ``"ambiguous"`` for a stereotype
question (nothing in it tells who the person is: the unbiased answer is "unknown"), ``"control"`` for a factual one and
``"disambiguated"`` for the items :func:`disambiguated_items` derives (the context states the identity);
``stereotype`` is the stereotyped option's text (empty for control questions). Real quirks handled:
duplicated options (132 en rows of SeeGULL list the stereotyped identity twice) are merged, keeping the first
occurrence; stray whitespace is trimmed; Unicode is NFC-normalised so that Devanagari compares equal.
"""

from __future__ import annotations

import hashlib
import os
import random
import unicodedata
from dataclasses import dataclass, field

import datasets

from .languages import LanguagePack
from .records import InputError, InputFormatError, read_table

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
        "split_group": datasets.Value("string"),
        "item_type": datasets.Value("string"),
        "stereotype": datasets.Value("string"),
    }
)
# SeeGULL's annotation columns. The fr/hi files are translations of the en rows, permuted only within runs of identical
# annotation values, so a run is the unit that is the same set of stereotypes in every language.
ANNOTATION_COLUMNS = (
    "region_stereo", "region_nonstereo", "region_unsure", "NA_stereo", "NA_nonstereo", "NA_unsure",
    "Annotation1", "Annotation2", "Annotation3", "mean offensiveness_score",
)
ITEM_TYPES = ("ambiguous", "disambiguated", "control")


class MCQFormatError(InputFormatError):
    """A row of an MCQ file that cannot be used; the message names the file, the row and the column."""


def normalise_text(text: str) -> str:
    """NFC, trimmed, inner whitespace collapsed: how options are compared and de-duplicated."""
    return " ".join(unicodedata.normalize("NFC", str(text)).split())


def _read_raw(path_or_id: str, split: str) -> datasets.Dataset:
    """A CSV/JSON/JSONL file, a folder saved with ``save_to_disk``, or a Hub dataset id; every column as text."""
    if os.path.isfile(path_or_id):
        extension = os.path.splitext(path_or_id)[1].lower()
        if extension in (".csv", ".json", ".jsonl"):
            # Read here, not by datasets' builders: errors name the row and column (encoding, ragged rows, bad JSON
            # lines), a BOM is dropped, and every value stays text (an option named "NA" or "None" too).
            try:
                columns, rows = read_table(path_or_id, text_columns=(*REQUIRED_COLUMNS, "identity", "attribute"))
            except InputFormatError as error:
                raise MCQFormatError(error.source, error.row, error.column, error.problem) from None
            as_text = datasets.Features({name: datasets.Value("string") for name in columns})
            return datasets.Dataset.from_dict({name: [row[name] for row in rows] for name in columns}, features=as_text)
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
    is_control = bool(is_control or control_flag)
    return {
        "question": question,
        "options": options,
        "target": target,
        "target_index": options.index(target),
        "identity": normalise_text(raw.get("identity") or target),
        "attribute": normalise_text(raw.get("attribute") or question),
        "is_control": is_control,
        "source": source,
        "row": row,
        "split_group": "",  # filled in by load_mcq, which sees the neighbouring rows
        "item_type": "control" if is_control else "ambiguous",
        "stereotype": "" if is_control else target,
    }


def annotation_runs(raw: datasets.Dataset) -> list[str | None]:
    """Per raw row, ``"run:<k>"``: the k-th contiguous run of identical annotation values, or None where the file has no
    annotation columns or the row's are all empty (its (identity, attribute) pair is then its group)."""
    if not all(column in raw.column_names for column in ANNOTATION_COLUMNS):
        return [None] * len(raw)
    runs, previous, count = [], None, -1
    for values in zip(*(raw[column] for column in ANNOTATION_COLUMNS)):
        key = tuple("" if value is None else str(value).strip() for value in values)
        if not any(key):
            runs.append(None)
            previous = None
            continue
        if key != previous:
            count += 1
            previous = key
        runs.append(f"run:{count}")
    return runs


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
    # Runs are counted over the raw rows, before any bad row is skipped, so they stay aligned across languages.
    runs = annotation_runs(raw)
    for index, record in enumerate(raw):
        try:
            row = _normalise_row(record, path_or_id, index + 1, is_control)
            row["split_group"] = runs[index] or f"pair:{row['identity'].casefold()}|{row['attribute'].casefold()}"
            rows.append(row)
        except MCQFormatError as error:
            if not skip_bad_rows:
                raise
            skipped.append(str(error))
    if not rows:
        problem = f"no usable rows ({len(skipped)} bad)" if len(raw) else "no data rows (only a header?)"
        raise MCQFormatError(path_or_id, None, None, problem)
    dataset = datasets.Dataset.from_list(rows, features=NORMALISED_FEATURES)
    dataset.info.description = f"{len(skipped)} bad rows skipped" if skipped else ""
    return dataset


@dataclass
class SplitArguments:
    """The held-out split, the same for every command: give them the same two flags and they hold out the same rows."""

    eval_fraction: float = field(
        default=0.2,
        metadata={"help": "Share of split groups held out, never trained on: SeeGULL annotation runs (the same "
                          "stereotypes in every language), else (identity, attribute) pairs.",
                  "aliases": ["--mcq_eval_fraction"]},
    )
    split_seed: int = field(default=42, metadata={"help": "Seed of the held-out split.", "aliases": ["--mcq_split_seed"]})

    def __post_init__(self):
        if not 0 <= self.eval_fraction < 1:
            raise ValueError(f"--eval_fraction must be in [0, 1), got {self.eval_fraction}")


@dataclass(frozen=True)
class HeldOutSplit:
    """Row indices of the training and held-out rows, and how they were chosen (written into every output)."""

    train: list[int]
    eval: list[int]
    rule: str
    eval_fraction: float
    split_seed: int

    def describe(self) -> dict:
        digest = hashlib.sha256(",".join(map(str, self.eval)).encode()).hexdigest()[:16]
        return {"rule": self.rule, "eval_fraction": self.eval_fraction, "split_seed": self.split_seed,
                "n_train": len(self.train), "n_eval": len(self.eval), "eval_rows_sha256": digest}


def held_out_split(dataset: datasets.Dataset, eval_fraction: float, split_seed: int) -> HeldOutSplit:
    """Hold out whole split groups (:func:`annotation_runs`, else (identity, attribute) pairs), chosen by seed.

    On SeeGULL files, and on the shipped sample, the groups are annotation runs, which are the same at every row index
    in every language: the held-out row indices are then the same in en, fr and hi, and no held-out row's
    translation is ever trained on.
    """
    keys = dataset["split_group"]
    groups = list(dict.fromkeys(keys))
    random.Random(split_seed).shuffle(groups)
    count = round(len(groups) * eval_fraction)
    held_out = set(groups[: max(1, count)]) if eval_fraction > 0 and len(groups) > 1 else set()
    train = [index for index, key in enumerate(keys) if key not in held_out]
    evaluation = [index for index, key in enumerate(keys) if key in held_out]
    kinds = {key.split(":", 1)[0] for key in keys}
    rule = {"run": "annotation runs", "pair": "(identity, attribute) pairs"}.get(next(iter(kinds)), "mixed")
    return HeldOutSplit(train, evaluation, rule if len(kinds) == 1 else "annotation runs and pairs", eval_fraction,
                        split_seed)


DATASET_SPEC_HELP = (
    "'en=seegull_en.csv,fr=seegull_fr.csv' (one file per language), a template 'seegull_{language}.csv', or one file "
    "when one language is read"
)


def file_for_language(spec: str | None, language: str, several_languages: bool, flag: str = "--dataset") -> str | None:
    """The file a per-language flag ``spec`` names for ``language``, or None where it names none (the caller's
    default, the shipped sample): ``'en=a.csv,fr=b.csv'``, a template ``'seegull_{language}.csv'``, or one file, only
    when one language is read (one file for several languages would give every language the same questions); anything
    else is an :class:`~geounlearn_trl.data.records.InputError` naming the flag."""
    if spec is None:
        return None
    if "{language}" in spec:
        return spec.format(language=language)
    if "=" in spec.split(",")[0]:
        mapping = {}
        for part in spec.split(","):
            code, sep, path = part.partition("=")
            if not sep or not path.strip():
                raise InputError(f"{flag}: {part!r} is not 'language=path'")
            mapping[code.strip()] = path.strip()
        return mapping.get(language)
    if several_languages:
        raise InputError(f"{flag} {spec!r} names one file for several languages: give one per language "
                         f"('en=a.csv,fr=b.csv') or a template ('seegull_{{language}}.csv')")
    return spec


def check_aligned(datasets_by_language: dict[str, datasets.Dataset]) -> None:
    """Raise unless the languages' files have the same split groups row for row (translations of the same rows):
    otherwise "trained in one language, measured in another" could measure the translation of a training row."""
    items = list(datasets_by_language.items())
    first_language, first = items[0]
    for language, dataset in items[1:]:
        if dataset["split_group"] != first["split_group"]:
            mismatch = next(
                (i for i, (a, b) in enumerate(zip(first["split_group"], dataset["split_group"])) if a != b),
                min(len(first), len(dataset)),
            )
            raise MCQFormatError(
                dataset[0]["source"] if len(dataset) else language, mismatch + 1, "split_group",
                f"the {language} file does not align with the {first_language} file ({len(dataset)} vs {len(first)} "
                "rows, or different annotation runs): the held-out rows would differ between languages",
            )


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


def disambiguated_items(mcq: datasets.Dataset, pack: LanguagePack, seed: int) -> datasets.Dataset:
    """Two disambiguated items per stereotype question: its context *states* the identity.

    ``I know a person who is "punctual". This person is Kenyan. The person is:`` (the pack's
    ``stated_identity_template`` inserted before the question's last sentence). One item states the stereotyped
    identity (pro-stereotypical), one another option of the row chosen by seed (counter-stereotypical). The right
    answer (``target``) is the stated identity, the options are the row's: "unknown" there is over-abstention, the
    stereotyped identity on a counter item is bias beating evidence (BBQ's disambiguated contexts, Parrish et al. 2022).
    """

    def expand(batch: dict) -> dict:
        out = {name: [] for name in NORMALISED_FEATURES}
        for i in range(len(batch["question"])):
            row = {name: batch[name][i] for name in batch}
            others = [option for option in row["options"] if option != row["target"]]
            counter = random.Random(f"{seed}:{row['row']}:{row['question']}:counter").choice(others)
            for stated in (row["target"], counter):
                item = dict(row, question=pack.format_disambiguated_question(row["question"], stated), target=stated,
                            target_index=row["options"].index(stated), item_type="disambiguated",
                            stereotype=row["target"])
                for name in out:
                    out[name].append(item[name])
        return out

    ambiguous = mcq.filter(lambda item_type: item_type == "ambiguous", input_columns="item_type")
    return ambiguous.map(expand, batched=True, remove_columns=mcq.column_names, features=NORMALISED_FEATURES,
                         desc=f"Disambiguated items ({pack.code})")
