"""Datasets for gradient-ascent unlearning: MCQ questions paired with retain text, tokenised once with ``datasets.map``.

Each row holds three sequences for :class:`~geounlearn_trl.collators.PairedUnlearningCollator`:

* ``forget``: the MCQ prompt (options + the language's unknown phrase, shuffled by seed) followed by the stereotyped
  option's text; the loss mask covers that answer;
* ``unknown``: the same prompt followed by the unknown phrase that was shown; the loss mask covers it;
* ``retain``: a retain question and answer (or a plain ``text``), paired round-robin after a seeded shuffle; the KL
  covers every token of it. The question is shown in the language pack's ``Question: … / Answer:`` format, the
  context in which "unknown" is being taught, so that the KL guards answering there and not only on other text.
"""

from __future__ import annotations

import os
from importlib.resources import files

import datasets
from transformers import PreTrainedTokenizerBase

from .languages import load_language_pack
from .mcq import load_mcq, present_question
from .prompting import encode_prompt_answer

SAMPLE_DATA = files("geounlearn_trl") / "data"


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


def load_retain(path_or_id: str, split: str = "train") -> datasets.Dataset:
    """A retain set with ``question``/``answer`` columns or a ``text`` column: JSON/JSONL/CSV file or Hub dataset."""
    if os.path.isfile(path_or_id):
        builder = {".csv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}.get(
            os.path.splitext(path_or_id)[1].lower()
        )
        if builder is None:
            raise ValueError(f"{path_or_id}: unsupported retain file type (use .jsonl, .json, .csv or .parquet)")
        retain = datasets.load_dataset(builder, data_files=path_or_id, split="train")
    elif os.path.isdir(path_or_id):
        retain = datasets.load_from_disk(path_or_id)
    else:
        retain = datasets.load_dataset(path_or_id, split=split)
    columns = set(retain.column_names)
    if not ({"question", "answer"} <= columns or "text" in columns):
        raise ValueError(
            f"{path_or_id}: a retain set needs 'question' and 'answer' columns or a 'text' column; "
            f"found {', '.join(sorted(columns))}"
        )
    for index, row in enumerate(retain):
        text = row.get("text") if "text" in columns else row.get("answer")
        if not text or not str(text).strip():
            field = "text" if "text" in columns else "answer"
            raise ValueError(f"{path_or_id}, row {index + 1}, column {field!r}: empty retain text")
    return retain


def build_gradient_ascent_dataset(
    mcq: datasets.Dataset,
    retain: datasets.Dataset,
    tokenizer: PreTrainedTokenizerBase,
    language: str,
    seed: int,
    use_chat_template: bool,
    max_length: int | None = 512,
    prompt_style: str = "options",
) -> datasets.Dataset:
    """Tokenise ``mcq`` (rows of :func:`~geounlearn_trl.mcq.load_mcq`) into forget/unknown/retain triples."""
    pack = load_language_pack(language)
    retain = retain.shuffle(seed=seed)

    def encode(row: dict, index: int) -> dict:
        question = present_question(row, pack, seed, prompt_style=prompt_style)
        forget_ids, forget_mask = encode_prompt_answer(
            tokenizer, question.prompt, question.options[question.target_index], use_chat_template, max_length
        )
        unknown_ids, unknown_mask = encode_prompt_answer(
            tokenizer, question.prompt, question.unknown_phrase, use_chat_template, max_length
        )
        retain_row = retain[index % len(retain)]
        if "text" in retain_row:
            retain_ids = tokenizer(retain_row["text"], truncation=max_length is not None, max_length=max_length)["input_ids"]
        else:
            retain_ids, _ = encode_prompt_answer(
                tokenizer, pack.format_cloze_prompt(retain_row["question"]), retain_row["answer"], use_chat_template,
                max_length,
            )
        return {
            "forget_input_ids": forget_ids,
            "forget_loss_mask": forget_mask,
            "unknown_input_ids": unknown_ids,
            "unknown_loss_mask": unknown_mask,
            "retain_input_ids": retain_ids,
            "retain_loss_mask": [1] * len(retain_ids),
            "language": language,
        }

    return mcq.map(encode, with_indices=True, remove_columns=mcq.column_names, desc=f"Tokenising ({language})")


def load_language_mcq(dataset: str | None, language: str, skip_bad_rows: bool) -> datasets.Dataset:
    """``dataset`` for one language, or the shipped sample when none is given."""
    return load_mcq(dataset or sample_mcq_path(language), skip_bad_rows=skip_bad_rows)


def hold_out_retain(retain: datasets.Dataset, count: int) -> tuple[datasets.Dataset, datasets.Dataset]:
    """``(train, held_out)``: the last ``count`` retain texts are kept for the retain perplexity and never trained on
    (the KL term would otherwise pin the very texts the perplexity is measured on)."""
    count = min(count, len(retain) - 1)
    if count < 1:
        raise ValueError(f"a retain set of {len(retain)} texts is too small to hold any out for the perplexity")
    return retain.select(range(len(retain) - count)), retain.select(range(len(retain) - count, len(retain)))
