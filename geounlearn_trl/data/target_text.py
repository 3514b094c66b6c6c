"""The *target text* of selective unlearning, read once and cut into fixed-length token blocks.

Shared by ``reinforce`` (which fine-tunes on the blocks) and ``relabel`` (which relabels the same blocks), so both see
exactly the same tokens. A target is a list of *documents*; each document is tokenised once, whole, and cut into
consecutive blocks of ``block_size`` tokens (the last block of a document may be shorter; a block never spans two
documents). Every block keeps its own text and the character span of each of its tokens, which is what the anchor
replacement and the token alignment of :mod:`geounlearn_trl.methods.selective.relabel` work on.

Two sources of documents:

* a UTF-8 text file (``--target_text``): one document;
* MCQ stereotype data (``--mcq_dataset``, read with :func:`geounlearn_trl.data.mcq.load_mcq`): one short document per
  (non-control) row, the *stereotyped statement* ``"{question} {stereotyped option}"``, e.g.
  ``I know a person who is a "terrorist". The person is: Zimbabwean``. Its anchor dictionary maps each stereotyped
  identity to the language's generic person terms (:data:`GENERIC_PERSON_TERMS`), so selective relabeling teaches the
  model, after such a statement, the continuation a model that never saw the identity would give. One document per
  statement matters: the relabel masks a repeated anchor inside a block, and SeeGULL repeats identities row after row.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from transformers import PreTrainedTokenizerBase

from .mcq import SplitArguments

#: Generic replacements for an identity term, per language: what a statement says when it names nobody in particular.
GENERIC_PERSON_TERMS: dict[str, list[str]] = {
    "en": ["a person", "someone"],
    "fr": ["une personne", "quelqu'un"],
    "hi": ["एक व्यक्ति", "कोई व्यक्ति"],
}


class TargetTextError(ValueError):
    """A target text that cannot be used; the message names the source and the problem."""


@dataclass
class TargetTextArguments(SplitArguments):
    """Where the target text comes from, and how it is cut (flags shared by ``reinforce`` and ``relabel``).

    With ``--mcq_dataset`` the held-out split (``--eval_fraction``/``--split_seed``, the flags of every command) is
    left out, so that the statements are exactly the training rows ``unlearn`` and ``demo`` train on."""

    target_text: str | None = field(default=None, metadata={"help": "UTF-8 text file to unlearn (one document)."})
    mcq_dataset: str | None = field(
        default=None,
        metadata={
            "help": "Instead of --target_text: MCQ stereotype data (CSV/JSON/JSONL/Hub id); each stereotyped statement "
            "'{question} {stereotyped option}' is a document and the identities are the anchors."
        },
    )
    language: str = field(
        default="en", metadata={"help": f"Language of --mcq_dataset, for its generic terms: {', '.join(GENERIC_PERSON_TERMS)}."}
    )
    mcq_max_rows: int | None = field(default=None, metadata={"help": "Use at most this many MCQ statements."})
    skip_bad_rows: bool = field(default=False, metadata={"help": "Skip malformed MCQ rows instead of failing."})
    block_size: int = field(default=256, metadata={"help": "Tokens per block (the last block of a document may be shorter)."})

    def __post_init__(self):
        super().__post_init__()
        if self.block_size < 2:
            raise ValueError(f"--block_size must be at least 2 tokens, got {self.block_size}")


@dataclass
class TextBlock:
    """``block_size`` (or fewer) consecutive tokens of one document, with their text.

    ``offsets[i]`` is the ``(start, end)`` character span of token ``i`` in :attr:`text` (not in the document).
    """

    text: str
    input_ids: list[int]
    offsets: list[tuple[int, int]]
    document: int
    index: int


def read_target_text(path: str | os.PathLike) -> str:
    """The text of a UTF-8 file, NFC-normalised with ``\\n`` line ends; an empty or unreadable file is an error."""
    source = str(path)
    if not os.path.isfile(source):
        raise TargetTextError(f"{source}: no such file (the target text must be a UTF-8 text file)")
    try:
        with open(source, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as error:
        raise TargetTextError(f"{source}: not UTF-8 text (byte {error.start}: {error.reason})") from None
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        raise TargetTextError(f"{source}: the target text is empty")
    return text


def mcq_target(
    path_or_id: str,
    language: str,
    max_rows: int | None = None,
    skip_bad_rows: bool = False,
    eval_fraction: float = 0.0,
    split_seed: int = 42,
) -> tuple[list[str], dict[str, list[str]]]:
    """Stereotyped statements of an MCQ file as documents, and the anchor dictionary identity → generic terms.

    Control rows (``is_control``) are left out: their "correct" option is a fact, not a stereotype. With
    ``eval_fraction`` the held-out rows of :func:`~geounlearn_trl.data.mcq.held_out_split` are left out too, so that the
    statements are exactly the training rows gradient ascent sees with the same split.
    """
    from .mcq import held_out_split, load_mcq

    if language not in GENERIC_PERSON_TERMS:
        raise ValueError(
            f"No generic person terms for language {language!r}; available: {', '.join(GENERIC_PERSON_TERMS)}"
        )
    rows = load_mcq(path_or_id, skip_bad_rows=skip_bad_rows)
    if eval_fraction > 0:
        rows = rows.select(held_out_split(rows, eval_fraction, split_seed).train)
    rows = rows.filter(lambda row: not row["is_control"])
    if max_rows is not None:
        rows = rows.select(range(min(max_rows, len(rows))))
    if not len(rows):
        raise TargetTextError(f"{path_or_id}: no stereotype (non-control) rows to build a target text from")
    documents = [f"{question} {target}" for question, target in zip(rows["question"], rows["target"])]
    anchors = {target: list(GENERIC_PERSON_TERMS[language]) for target in dict.fromkeys(rows["target"])}
    return documents, anchors


def load_target_documents(args: TargetTextArguments) -> tuple[list[str], dict[str, list[str]] | None]:
    """The documents named by ``args``, and, for MCQ data, the anchor dictionary built from it (else ``None``)."""
    if (args.target_text is None) == (args.mcq_dataset is None):
        raise ValueError("Give exactly one of --target_text (a text file) or --mcq_dataset (MCQ stereotype data).")
    if args.target_text is not None:
        return [read_target_text(args.target_text)], None
    return mcq_target(
        args.mcq_dataset, args.language, args.mcq_max_rows, args.skip_bad_rows, args.eval_fraction, args.split_seed
    )


def split_into_blocks(
    documents: Sequence[str], tokenizer: PreTrainedTokenizerBase, block_size: int, min_block_tokens: int = 2
) -> list[TextBlock]:
    """Tokenise each document whole and cut it into blocks of ``block_size`` tokens.

    No special tokens are added (a block is a window of running text). A trailing piece shorter than
    ``min_block_tokens`` is dropped: with fewer than two tokens there is nothing to predict.
    """
    if block_size < 2:
        raise ValueError(f"block_size must be at least 2, got {block_size}")
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError("Blocks need character offsets, which only fast (Rust) tokenizers give; load a fast tokenizer.")
    if not documents or not any(document.strip() for document in documents):
        raise TargetTextError("the target text is empty")
    blocks: list[TextBlock] = []
    for document_index, document in enumerate(documents):
        encoded = tokenizer(document, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        for start in range(0, len(ids), block_size):
            piece_ids, piece_offsets = ids[start : start + block_size], offsets[start : start + block_size]
            if len(piece_ids) < min_block_tokens:
                continue
            begin, end = piece_offsets[0][0], max(stop for _, stop in piece_offsets)
            blocks.append(
                TextBlock(
                    text=document[begin:end],
                    input_ids=list(piece_ids),
                    offsets=[(a - begin, b - begin) for a, b in piece_offsets],
                    document=document_index,
                    index=len(blocks),
                )
            )
    if not blocks:
        raise TargetTextError(f"the target text has fewer than {min_block_tokens} tokens")
    return blocks
