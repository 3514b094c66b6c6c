"""Datasets for unlearning: MCQ questions paired with a retain item, tokenised once with ``datasets.map``.

Each row holds three sequences for :class:`~geounlearn_trl.data.collators.PairedUnlearningCollator`:

* ``forget``: the MCQ prompt (options + the language's unknown phrase, shuffled by seed) followed by the stereotyped
  option's text; the loss mask covers that answer;
* ``unknown``: the same prompt followed by the unknown phrase that was shown; the loss mask covers it;
* ``retain``, paired round-robin after a seeded shuffle, from one of two sources (``--retain_source``):

  - ``text`` (the original's): a retain question and answer (or a plain ``text``); the retain term covers every
    token of it. The question is shown in the language pack's ``Question: … / Answer:`` format, the context in which
    "unknown" is being taught, so that the term guards answering there and not only on other text;
  - ``disambiguated``: a disambiguated item of the training rows (:func:`~geounlearn_trl.data.mcq.disambiguated_items`:
    the context *states* the identity, pro- or counter-stereotypical) in the same prompt style, followed by the stated
    identity; the retain term covers that answer. A method then learns "unknown" only where nothing is stated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib.resources import files

import datasets
from transformers import PreTrainedTokenizerBase

from .languages import load_language_pack
from .mcq import disambiguated_items, file_for_language, load_mcq, present_question
from .prompting import encode_prompt_answer
from .records import InputFormatError, read_table

SAMPLE_DATA = files("geounlearn_trl") / "data" / "sample"
RETAIN_SOURCES = ("text", "disambiguated")


def sample_mcq_path(language: str) -> str:
    return str(SAMPLE_DATA / f"sample_mcq_{language}.csv")


def sample_control_path(language: str) -> str:
    return str(SAMPLE_DATA / f"control_mcq_{language}.csv")


def sample_retain_path(language: str) -> str:
    return str(SAMPLE_DATA / f"retain_{language}.jsonl")


def parse_languages(language: str) -> list[str]:
    """``"en"`` or ``"en,fr,hi"``; each must have a language pack (the error lists those available)."""
    codes = [code.strip() for code in language.split(",") if code.strip()]
    if not codes:
        raise ValueError("--language is empty")
    for code in codes:
        load_language_pack(code)
    return codes


@dataclass
class RetainArguments:
    """Where the retain set comes from and which columns hold what; the flags of every command that takes one.

    The original retain set was TruthfulQA's questions and best answers, which these flags load as it did::

        --retain_dataset truthful_qa --retain_config generation --retain_split validation \\
        --retain_answer_column best_answer
    """

    retain_dataset: str | None = field(
        default=None,
        metadata={
            "help": "Retain set: a JSON/JSONL/CSV/Parquet file, a folder (datasets' save_to_disk, or data files laid out "
            "as on the Hub, with their README configs) or a Hub id (e.g. truthful_qa, the original's). Rows hold a "
            "question and an answer, or a text. Default: the shipped retain sample of each language."
        },
    )
    retain_config: str | None = field(
        default=None, metadata={"help": "Configuration of --retain_dataset (folder or Hub id), e.g. generation."}
    )
    retain_split: str | None = field(
        default=None, metadata={"help": "Split of --retain_dataset, e.g. validation. Default: its only split, or train."}
    )
    retain_question_column: str = field(default="question", metadata={"help": "Column holding the retain question."})
    retain_answer_column: str = field(
        default="answer", metadata={"help": "Column holding the retain answer (TruthfulQA: best_answer)."}
    )
    retain_text_column: str = field(
        default="text", metadata={"help": "Column holding a plain retain text; used instead of question/answer if present."}
    )
    retain_source: str = field(
        default="text",
        metadata={"help": "'text': the retain set above (the original's); 'disambiguated': the disambiguated items of the "
                          "training questions (the context states the identity, the answer is the stated identity).",
                  "choices": list(RETAIN_SOURCES)},
    )

    def __post_init__(self):
        if self.retain_source not in RETAIN_SOURCES:
            raise ValueError(f"retain_source must be one of {', '.join(RETAIN_SOURCES)}, got {self.retain_source!r}")

    def load_retain(self, language: str) -> datasets.Dataset:
        """The retain set of these flags, or the shipped sample of ``language`` when no --retain_dataset is given."""
        if self.retain_dataset is None:
            return load_retain(sample_retain_path(language))
        return load_retain(
            self.retain_dataset,
            split=self.retain_split,
            config_name=self.retain_config,
            question_column=self.retain_question_column,
            answer_column=self.retain_answer_column,
            text_column=self.retain_text_column,
        )


def _is_saved_dataset(folder: str) -> bool:
    return any(os.path.isfile(os.path.join(folder, name)) for name in ("dataset_dict.json", "state.json"))


def _one_split(loaded, split: str | None, where: str) -> datasets.Dataset:
    if not isinstance(loaded, datasets.DatasetDict):
        return loaded
    if split is not None:
        if split not in loaded:
            raise InputFormatError(where, None, "retain_split", f"no split {split!r} (has: {', '.join(loaded)})")
        return loaded[split]
    if len(loaded) == 1:
        return next(iter(loaded.values()))
    if "train" in loaded:
        return loaded["train"]
    raise InputFormatError(where, None, "retain_split", f"several splits ({', '.join(loaded)}); choose one with "
                           "--retain_split")


def load_retain(
    path_or_id: str,
    split: str | None = None,
    config_name: str | None = None,
    question_column: str = "question",
    answer_column: str = "answer",
    text_column: str = "text",
) -> datasets.Dataset:
    """A retain set as ``question``/``answer`` columns, or a ``text`` column, whatever its own columns are called.

    ``path_or_id``: a JSON/JSONL/CSV/Parquet file, a ``save_to_disk`` folder, a folder of data files (as a Hub dataset
    repository: ``config_name`` picks a configuration of its README) or a Hub id. ``split``: default the only split, or
    ``train``. The text column is used when present, else the question and answer columns are required.
    """
    if os.path.isfile(path_or_id):
        builder = {".csv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}.get(
            os.path.splitext(path_or_id)[1].lower()
        )
        if builder is None:
            raise InputFormatError(path_or_id, None, None,
                                   "unsupported retain file type (use .jsonl, .json, .csv or .parquet)")
        if config_name is not None:
            raise InputFormatError(path_or_id, None, "retain_config",
                                   f"a file has no configurations (--retain_config {config_name})")
        if builder == "parquet":
            split = split or "train"
            retain = datasets.load_dataset(builder, data_files={split: path_or_id}, split=split)
        else:  # read here: errors name the row and column (encoding, ragged rows, bad JSON lines), a BOM is dropped
            columns, rows = read_table(path_or_id, text_columns=(question_column, answer_column, text_column))
            retain = datasets.Dataset.from_dict(
                {name: [row[name] for row in rows] for name in columns},
                features=datasets.Features({name: datasets.Value("string") for name in columns}),
            )
    elif os.path.isdir(path_or_id) and _is_saved_dataset(path_or_id):
        if config_name is not None:
            raise InputFormatError(path_or_id, None, "retain_config",
                                   f"a saved dataset has no configurations (--retain_config {config_name})")
        retain = _one_split(datasets.load_from_disk(path_or_id), split, path_or_id)
    else:  # a folder of data files or a Hub id, as datasets.load_dataset(path, name, split=...) reads them
        retain = _one_split(datasets.load_dataset(path_or_id, config_name, split=split), split, path_or_id)

    columns = set(retain.column_names)
    if len(retain) == 0:
        raise InputFormatError(path_or_id, None, None, "the retain set has no rows")
    if text_column in columns:
        renames = {text_column: "text"}
    elif {question_column, answer_column} <= columns:
        renames = {question_column: "question", answer_column: "answer"}
    else:
        hint = " (TruthfulQA's answer column is best_answer: --retain_answer_column best_answer)" if (
            "best_answer" in columns and answer_column != "best_answer"
        ) else ""
        missing = text_column if question_column in columns or answer_column in columns else None
        missing = answer_column if question_column in columns else question_column if answer_column in columns else missing
        raise InputFormatError(
            path_or_id, None, missing or question_column,
            f"a retain set needs {question_column!r} and {answer_column!r} columns or a {text_column!r} column; found "
            f"{', '.join(sorted(columns))}{hint}",
        )
    retain = retain.select_columns(list(renames))
    retain = retain.rename_columns({old: new for old, new in renames.items() if old != new})
    checked = {"text": text_column} if "text" in renames.values() else {"question": question_column,
                                                                         "answer": answer_column}
    for name, source in checked.items():
        for index, text in enumerate(retain[name]):
            if not isinstance(text, str):
                if text is not None:
                    raise InputFormatError(path_or_id, index + 1, source, f"expected text, got {type(text).__name__}")
            if not text or not text.strip():
                raise InputFormatError(path_or_id, index + 1, source, "empty retain text")
    return retain


def build_unlearning_dataset(
    mcq: datasets.Dataset,
    retain: datasets.Dataset | None,
    tokenizer: PreTrainedTokenizerBase,
    language: str,
    seed: int,
    use_chat_template: bool,
    max_length: int | None = 512,
    prompt_style: str = "options",
    retain_source: str = "text",
) -> datasets.Dataset:
    """Tokenise ``mcq`` (rows of :func:`~geounlearn_trl.data.mcq.load_mcq`) into forget/unknown/retain triples.

    ``retain``: the retain set for ``retain_source='text'``; unused (may be None) with ``'disambiguated'``, whose retain
    items are derived from ``mcq`` itself."""
    pack = load_language_pack(language)
    if retain_source == "disambiguated":
        retain = disambiguated_items(mcq, pack, seed).shuffle(seed=seed)
    elif retain_source == "text":
        retain = retain.shuffle(seed=seed)
    else:
        raise ValueError(f"retain_source must be one of {', '.join(RETAIN_SOURCES)}, got {retain_source!r}")

    def encode(row: dict, index: int) -> dict:
        question = present_question(row, pack, seed, prompt_style=prompt_style)
        forget_ids, forget_mask = encode_prompt_answer(
            tokenizer, question.prompt, question.options[question.target_index], use_chat_template, max_length
        )
        unknown_ids, unknown_mask = encode_prompt_answer(
            tokenizer, question.prompt, question.unknown_phrase, use_chat_template, max_length
        )
        retain_row = retain[index % len(retain)]
        if retain_source == "disambiguated":
            stated = present_question(retain_row, pack, seed, prompt_style=prompt_style)
            retain_ids, retain_mask = encode_prompt_answer(
                tokenizer, stated.prompt, stated.options[stated.target_index], use_chat_template, max_length
            )
        elif "text" in retain_row:
            retain_ids = tokenizer(retain_row["text"], truncation=max_length is not None, max_length=max_length)["input_ids"]
            retain_mask = [1] * len(retain_ids)
        else:
            retain_ids, _ = encode_prompt_answer(
                tokenizer, pack.format_cloze_prompt(retain_row["question"]), retain_row["answer"], use_chat_template,
                max_length,
            )
            retain_mask = [1] * len(retain_ids)
        return {
            "forget_input_ids": forget_ids,
            "forget_loss_mask": forget_mask,
            "unknown_input_ids": unknown_ids,
            "unknown_loss_mask": unknown_mask,
            "retain_input_ids": retain_ids,
            "retain_loss_mask": retain_mask,
            "language": language,
        }

    return mcq.map(encode, with_indices=True, remove_columns=mcq.column_names, desc=f"Tokenising ({language})")


def load_language_mcq(
    dataset: str | None, language: str, skip_bad_rows: bool = False, several_languages: bool = False
) -> datasets.Dataset:
    """The MCQ file ``dataset`` names for ``language`` (:func:`~geounlearn_trl.data.mcq.file_for_language`: one per
    language, a template, or one file when one language is read), or the shipped sample where it names none."""
    path = file_for_language(dataset, language, several_languages)
    return load_mcq(path or sample_mcq_path(language), skip_bad_rows=skip_bad_rows)


def hold_out_retain(retain: datasets.Dataset, count: int) -> tuple[datasets.Dataset, datasets.Dataset]:
    """``(train, held_out)``: the last ``count`` retain texts are kept for the retain perplexity and never trained on
    (the KL term would otherwise pin the very texts the perplexity is measured on)."""
    count = min(count, len(retain) - 1)
    if count < 1:
        raise ValueError(f"a retain set of {len(retain)} texts is too small to hold any out for the perplexity")
    return retain.select(range(len(retain) - count)), retain.select(range(len(retain) - count, len(retain)))
