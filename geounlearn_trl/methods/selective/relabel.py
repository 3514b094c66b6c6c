"""Generic labels for selective unlearning (Eldan & Russinovich 2023, "Who's Harry Potter?", section 3).

Idea: the model should continue the target text the way a model that never read it would. Two views of each block of
the target give that "generic" continuation:

* the **base** model reads the *replaced* block, where every anchor term (``"Hogwarts"``) was swapped for a generic
  alternative (``"Mystic Academy"``), so it can only draw on generic knowledge;
* the **reinforced** model (the base with an adapter fine-tuned further on the target) reads the *original* block; the
  tokens whose logits it raises above the base's are the ones that betray the target.

For the prediction of the token after original position ``p``, aligned with replaced position ``j`` (below),

.. math::

    v_{generic} = v_{base}[j] - \\alpha \\cdot \\mathrm{ReLU}\\big(v_{reinforced}[p] - v_{base}[j]\\big), \\qquad \\alpha = 5

and the label is ``argmax v_generic`` (hard), or the top-``k`` tokens of ``softmax(v_generic)`` with their
probabilities renormalised to sum to 1 (soft). Both views come from **one** :class:`~peft.PeftModel`: the reinforced
adapter enabled for the original block, disabled (``with model.disable_adapter():``) for the replaced one, so the
weights are in memory once.

Anchor replacement (:class:`AnchorReplacer`). Anchors match as whole terms (not inside a longer word), with or without
a leading space (``"Harry"`` at the start of a line and ``" Harry"`` after a word both match; the space is kept), the
longest key first at any position (``"Harry Potter"`` before ``"Harry"``), case-sensitively. In each block, each key
gets *one* alternative, drawn with ``random.Random(f"{seed}:{block}")``, and all its occurrences use it.

Token alignment (:func:`align_tokens`). Original token ``i`` is aligned with replaced token ``j`` when the two prefixes
that end with them say the same thing modulo the replacements, i.e. their next-token predictions are comparable:

1. by characters: token ``i`` ends at a character boundary ``e`` (the next token starts at or after ``e``) that is not
   strictly inside an anchor, and replaced token ``j`` ends exactly at the image of ``e`` (``e`` shifted by the length
   changes of the replacements before it; an anchor's end maps to its replacement's end), at a boundary too;
2. by identity, where a token splits a character (byte-level BPE on Devanagari, emoji): ``i - 1`` is aligned with
   ``j - 1``, tokens ``i`` and ``j`` are the same id, and neither touches an anchor or a replacement.

Masking. Position ``p`` (``0 ≤ p < n-1``) predicts original token ``p+1``; it gets a label unless, in this order:

* ``inside_anchor``: token ``p`` ends strictly inside an anchor occurrence. Anchor tokens are masked *but the last*:
  inside "Harry Potter" nothing generic can be said about the next piece of the name, while after its last token the
  replaced text has ended its replacement too and the prediction is comparable;
* ``repeated_anchor``: token ``p+1`` overlaps an occurrence of an anchor key already seen earlier in the block. The
  original says "Harry" again, the replaced text says "Jon" again; predicting a name the context already holds is
  consistency, not knowledge, so it is not taught either way;
* ``unaligned``: token ``p`` has no aligned replaced token (tokenisation boundaries differ around a replacement).

A generic term must not be taught after it appeared: once the replaced text holds an alternative ``g`` (from the end of
its first insertion on), the first token of ``g`` — tokenised bare and after a space — gets ``-inf`` in ``v_generic``,
since the original context, which the fine-tuned model will read, never mentioned ``g``. A first token that the
original block itself already holds before the position (``" the"`` of ``"the village"``, ``" a"`` of ``"a person"``)
is left alone: predicting it is consistent with the original context. Vocabulary rows beyond the tokenizer's length
(padded embeddings) are ``-inf`` too.

Option ``suppress_anchor_tokens`` (off by default, an addition to the paper): the first token of every anchor term
(bare and after a space) gets ``-inf`` at every labeled position, so a generic label is never the start of a term that
is being unlearned. It matters when the base model knows the target so well that, reading the replaced text, it still
predicts *other* anchor terms (a fact of the story from its context), and for stereotypes, where no identity should be
the generic continuation. Its cost: a common word that starts an anchor (``"Mount"`` of ``"Mount Corvath"``) is never
taught either.

Output (:func:`build_relabeled_dataset`): a :class:`datasets.Dataset` with the original ``input_ids``,
``attention_mask`` and ``labels`` in the causal-LM convention of ``transformers`` (``labels[t]`` is the token taught
at position ``t``, predicted from positions ``< t``; ``labels[0]`` and masked positions are ``-100``), and with
``--top_k`` also ``soft_label_ids`` / ``soft_label_probs`` (``n × k``, row ``t`` aligned with ``labels[t]``, zero rows
where masked), plus ``text``, ``replaced_text`` and ``replacements`` for review.
"""

from __future__ import annotations

import bisect
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import datasets
import torch
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase

from .anchors import AnchorDictionaryError, load_anchor_dictionary, validate_anchor_dictionary  # noqa: F401 (re-exported)
from ...data.collators import right_pad
from ...data.target_text import TextBlock
from ...text import whole_word_regex

IGNORE_INDEX = -100
LABEL, INSIDE_ANCHOR, REPEATED_ANCHOR, UNALIGNED = "label", "inside_anchor", "repeated_anchor", "unaligned"


# ---------------------------------------------------------------------------------------------------------------------
# Anchor replacement
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorOccurrence:
    """One anchor found in a block: ``text[start:end] == key``, ``replaced_text[replaced_start:replaced_end] == replacement``."""

    key: str
    replacement: str
    start: int
    end: int
    replaced_start: int
    replaced_end: int
    repeated: bool  # the same key occurred earlier in the block


@dataclass
class ReplacedBlock:
    text: str
    replaced_text: str
    occurrences: list[AnchorOccurrence]
    _starts: list[int] = field(init=False, repr=False)

    def __post_init__(self):
        self._starts = [occurrence.start for occurrence in self.occurrences]

    def map_position(self, position: int) -> int | None:
        """Where the prefix ``text[:position]`` ends in :attr:`replaced_text`; ``None`` strictly inside an anchor."""
        index = bisect.bisect_left(self._starts, position) - 1  # the last occurrence starting before `position`
        if index < 0:
            return position
        occurrence = self.occurrences[index]
        if position < occurrence.end:
            return None
        return position + occurrence.replaced_end - occurrence.end

    def replacements(self) -> list[str]:
        return [f"{key} → {replacement}" for key, replacement in self.chosen().items()]

    def chosen(self) -> dict[str, str]:
        return {occurrence.key: occurrence.replacement for occurrence in self.occurrences}


class AnchorReplacer:
    """Replace anchor terms by generic alternatives, one alternative per key per block (see the module docstring)."""

    def __init__(self, anchors: Mapping[str, Sequence[str]], seed: int = 42):
        checked = validate_anchor_dictionary(anchors)
        # Keys and alternatives are matched and inserted as written, minus stray spaces and repeated alternatives.
        self.anchors = {key.strip(): list(dict.fromkeys(a.strip() for a in values)) for key, values in checked.items()}
        self.seed = seed
        keys = sorted(self.anchors, key=lambda key: (-len(key), key))  # longest first: "Harry Potter" before "Harry"
        # Whole terms by the word boundaries of geounlearn_trl.text (a Devanagari vowel sign continues a word).
        self.pattern = re.compile(whole_word_regex(keys))

    def replace(self, text: str, block_index: int = 0) -> ReplacedBlock:
        rng = random.Random(f"{self.seed}:{block_index}")
        chosen: dict[str, str] = {}
        pieces, occurrences, cursor, replaced_length = [], [], 0, 0
        for match in self.pattern.finditer(text):
            key = match.group(0)
            repeated = key in chosen
            if not repeated:
                chosen[key] = rng.choice(self.anchors[key])
            replacement = chosen[key]
            pieces.append(text[cursor : match.start()])
            replaced_start = replaced_length + match.start() - cursor
            pieces.append(replacement)
            replaced_length = replaced_start + len(replacement)
            occurrences.append(
                AnchorOccurrence(key, replacement, match.start(), match.end(), replaced_start, replaced_length, repeated)
            )
            cursor = match.end()
        pieces.append(text[cursor:])
        return ReplacedBlock(text=text, replaced_text="".join(pieces), occurrences=occurrences)


# ---------------------------------------------------------------------------------------------------------------------
# Token alignment and masks
# ---------------------------------------------------------------------------------------------------------------------


def _boundary_ends(offsets: Sequence[tuple[int, int]]) -> list[bool]:
    """Whether each token ends at a character boundary: the next token starts at or after its end."""
    return [end > start and (i + 1 == len(offsets) or offsets[i + 1][0] >= end) for i, (start, end) in enumerate(offsets)]


def _touches(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> list[bool]:
    """Whether each token overlaps one of ``spans`` (sorted, disjoint)."""
    starts = [start for start, _ in spans]
    touching = []
    for start, end in offsets:
        index = bisect.bisect_left(starts, end) - 1  # the last span starting before the token ends
        touching.append(index >= 0 and spans[index][1] > start)
    return touching


def align_tokens(
    original_ids: Sequence[int],
    original_offsets: Sequence[tuple[int, int]],
    replaced_ids: Sequence[int],
    replaced_offsets: Sequence[tuple[int, int]],
    replaced: ReplacedBlock,
) -> list[int | None]:
    """For each original token, the replaced token whose prefix corresponds to its own, or ``None`` (rules 1-2 of the
    module docstring)."""
    original_clean = _boundary_ends(original_offsets)
    replaced_clean = _boundary_ends(replaced_offsets)
    end_to_replaced = {replaced_offsets[j][1]: j for j in range(len(replaced_ids)) if replaced_clean[j]}
    original_plain = [not touch for touch in _touches(original_offsets, [(o.start, o.end) for o in replaced.occurrences])]
    replaced_plain = [
        not touch for touch in _touches(replaced_offsets, [(o.replaced_start, o.replaced_end) for o in replaced.occurrences])
    ]
    alignment: list[int | None] = []
    for i, token in enumerate(original_ids):
        j = None
        if original_clean[i]:
            image = replaced.map_position(original_offsets[i][1])
            if image is not None:
                j = end_to_replaced.get(image)
        if j is None and original_plain[i]:
            candidate = 0 if i == 0 else (alignment[i - 1] + 1 if alignment[i - 1] is not None else None)
            if (
                candidate is not None
                and candidate < len(replaced_ids)
                and replaced_plain[candidate]
                and replaced_ids[candidate] == token
            ):
                j = candidate
        alignment.append(j)
    return alignment


@lru_cache(maxsize=65536)
def _first_tokens(tokenizer: PreTrainedTokenizerBase, term: str) -> tuple[int, ...]:
    ids = set()
    for form in (term, " " + term):
        tokens = tokenizer(form, add_special_tokens=False)["input_ids"]
        if tokens:
            ids.add(int(tokens[0]))
    return tuple(sorted(ids))


def anchor_first_token_ids(tokenizer: PreTrainedTokenizerBase, anchors) -> list[int]:
    """The first token of every anchor term, bare and after a space (for ``suppress_anchor_tokens``)."""
    return sorted({token for key in anchors for token in _first_tokens(tokenizer, key)})


@dataclass
class PreparedBlock:
    """A block with everything the logits are not needed for: replacement, alignment, masks, suppressed tokens.

    ``status[p]`` says whether prediction position ``p`` (predicting original token ``p+1``) gets a label or why not;
    ``label_positions`` lists the ``p`` that do, ``replaced_positions`` their aligned replaced positions, and
    ``suppressed_ids`` the token ids forced to ``-inf`` at each of them (first tokens of generic terms already used).
    """

    block: TextBlock
    replaced: ReplacedBlock
    replaced_ids: list[int]
    alignment: list[int | None]
    status: list[str]
    label_positions: list[int]
    replaced_positions: list[int]
    suppressed_ids: list[tuple[int, ...]]


def prepare_block(block: TextBlock, replacer: AnchorReplacer, tokenizer: PreTrainedTokenizerBase) -> PreparedBlock:
    """Replace the anchors of ``block``, tokenise the replaced text, align, and decide every position's mask."""
    replaced = replacer.replace(block.text, block.index)
    encoded = tokenizer(replaced.replaced_text, add_special_tokens=False, return_offsets_mapping=True)
    replaced_ids, replaced_offsets = list(encoded["input_ids"]), list(encoded["offset_mapping"])
    offsets = block.offsets
    alignment = align_tokens(block.input_ids, offsets, replaced_ids, replaced_offsets, replaced)

    repeated_spans = [(o.start, o.end) for o in replaced.occurrences if o.repeated]
    targets_repeated = _touches(offsets, repeated_spans)
    # Where each generic term was first inserted (its end in the replaced text) and the tokens that would start it.
    first_insertion: dict[str, int] = {}
    for occurrence in replaced.occurrences:
        first_insertion.setdefault(occurrence.replacement, occurrence.replaced_end)
    suppression = [(end, _first_tokens(tokenizer, term)) for term, end in first_insertion.items()]

    status, label_positions, replaced_positions, suppressed_ids = [], [], [], []
    seen_in_original: set[int] = set()  # the original tokens 0..p: what the fine-tuned model's context holds
    for p in range(len(block.input_ids) - 1):
        seen_in_original.add(block.input_ids[p])
        end = offsets[p][1]
        if replaced.map_position(end) is None:  # strictly inside an anchor occurrence
            status.append(INSIDE_ANCHOR)
        elif targets_repeated[p + 1]:
            status.append(REPEATED_ANCHOR)
        elif alignment[p] is None:
            status.append(UNALIGNED)
        else:
            status.append(LABEL)
            j = alignment[p]
            label_positions.append(p)
            replaced_positions.append(j)
            replaced_end = replaced_offsets[j][1]
            suppressed_ids.append(
                tuple(
                    sorted(
                        {t for term_end, ids in suppression if replaced_end >= term_end for t in ids}
                        - seen_in_original
                    )
                )
            )
    return PreparedBlock(
        block, replaced, replaced_ids, alignment, status, label_positions, replaced_positions, suppressed_ids
    )


# ---------------------------------------------------------------------------------------------------------------------
# Generic labels from logits
# ---------------------------------------------------------------------------------------------------------------------


def generic_logits(base_logits: torch.Tensor, reinforced_logits: torch.Tensor, alpha: float = 5.0) -> torch.Tensor:
    """``v_base − α·ReLU(v_reinforced − v_base)``: the base's logits, pushed down where the reinforced model's rise."""
    base_logits, reinforced_logits = base_logits.float(), reinforced_logits.float()
    return base_logits - alpha * torch.relu(reinforced_logits - base_logits)


def generic_labels_from_rows(
    base_rows: torch.Tensor,
    reinforced_rows: torch.Tensor,
    suppressed_ids: Sequence[Sequence[int]],
    alpha: float = 5.0,
    top_k: int | None = None,
    vocab_size: int | None = None,
    suppressed_columns: Sequence[int] = (),
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Hard labels ``(N,)`` and, with ``top_k``, soft targets ``(N, k)`` ids and probabilities, for ``N`` aligned rows.

    Row ``r`` of ``base_rows``/``reinforced_rows`` is one prediction (vocabulary logits); ``suppressed_ids[r]`` are
    forced to ``-inf`` first, as are ``suppressed_columns`` in every row and ids ``>= vocab_size``. Soft probabilities
    are ``softmax(v_generic)`` over the top ``k`` ids, renormalised to sum to 1.
    """
    generic = generic_logits(base_rows, reinforced_rows, alpha)
    if vocab_size is not None and vocab_size < generic.size(-1):
        generic[:, vocab_size:] = float("-inf")
    if len(suppressed_columns):
        generic[:, torch.as_tensor(list(suppressed_columns), dtype=torch.long, device=generic.device)] = float("-inf")
    rows = [r for r, ids in enumerate(suppressed_ids) for _ in ids]
    if rows:
        columns = [t for ids in suppressed_ids for t in ids]
        generic[torch.tensor(rows), torch.tensor(columns)] = float("-inf")
    hard = generic.argmax(dim=-1)
    if not top_k:
        return hard, None, None
    top_values, top_ids = generic.topk(top_k, dim=-1)
    # softmax over the kept k is softmax(v_generic) restricted to them and renormalised
    return hard, top_ids, torch.softmax(top_values, dim=-1)


def assemble_row(
    prepared: PreparedBlock, hard: torch.Tensor, soft_ids: torch.Tensor | None, soft_probs: torch.Tensor | None
) -> dict:
    """The dataset row of a block from its per-label-position results (``labels[p + 1]`` holds position ``p``'s label)."""
    length = len(prepared.block.input_ids)
    labels = [IGNORE_INDEX] * length
    for k, p in enumerate(prepared.label_positions):
        labels[p + 1] = int(hard[k])
    row = {
        "input_ids": list(prepared.block.input_ids),
        "attention_mask": [1] * length,
        "labels": labels,
        "text": prepared.block.text,
        "replaced_text": prepared.replaced.replaced_text,
        "replacements": prepared.replaced.replacements(),
        "document": prepared.block.document,
        "block": prepared.block.index,
    }
    if soft_ids is not None:
        k = soft_ids.size(-1)
        ids, probs = [[0] * k for _ in range(length)], [[0.0] * k for _ in range(length)]
        for index, p in enumerate(prepared.label_positions):
            ids[p + 1], probs[p + 1] = soft_ids[index].tolist(), soft_probs[index].tolist()
        row["soft_label_ids"], row["soft_label_probs"] = ids, probs
    return row


def relabel_block(
    prepared: PreparedBlock,
    base_logits: torch.Tensor,
    reinforced_logits: torch.Tensor,
    alpha: float = 5.0,
    top_k: int | None = None,
    vocab_size: int | None = None,
    suppressed_columns: Sequence[int] = (),
) -> dict:
    """One block's dataset row from the base logits on its replaced tokens ``(m, V)`` and the reinforced logits on its
    original tokens ``(n, V)``."""
    base_rows = base_logits[prepared.replaced_positions]
    reinforced_rows = reinforced_logits[prepared.label_positions]
    results = generic_labels_from_rows(
        base_rows, reinforced_rows, prepared.suppressed_ids, alpha, top_k, vocab_size, suppressed_columns
    )
    return assemble_row(prepared, *results)


# ---------------------------------------------------------------------------------------------------------------------
# Running the model
# ---------------------------------------------------------------------------------------------------------------------


def _padded(sequences: Sequence[Sequence[int]], pad_token_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    input_ids, attention_mask = right_pad(sequences, pad_token_id)
    return input_ids.to(device), attention_mask.to(device)


def _gathered_logits(model, sequences, positions, pad_token_id, device) -> torch.Tensor:
    """The logits rows ``positions[b]`` of each sequence ``b``, concatenated: ``(Σ_b |positions[b]|, V)``.

    The full ``(B, L, V)`` logits of one forward are dropped as soon as the needed rows are copied out.
    """
    input_ids, attention_mask = _padded(sequences, pad_token_id, device)
    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
    rows = torch.tensor([b for b, kept in enumerate(positions) for _ in kept], dtype=torch.long, device=logits.device)
    columns = torch.tensor([p for kept in positions for p in kept], dtype=torch.long, device=logits.device)
    return logits[rows, columns].float()


def _keep_in_step(model, batch: Sequence[PreparedBlock], pad_token_id: int, device) -> None:
    """The two forwards of a batch whose results are not needed, so that the other shards' owners are not left waiting."""
    input_ids, attention_mask = _padded([p.block.input_ids for p in batch], pad_token_id, device)
    model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
    with model.disable_adapter():
        input_ids, attention_mask = _padded([p.replaced_ids for p in batch], pad_token_id, device)
        model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)


def _check_adapter_model(model) -> None:
    if not callable(getattr(model, "disable_adapter", None)):
        raise TypeError(
            "relabel needs the base model with the reinforced adapter loaded (a peft.PeftModel, e.g. "
            "PeftModel.from_pretrained(base, reinforced_adapter)): the base logits come from the same weights with "
            "the adapter disabled."
        )


def iter_relabeled_rows(
    model,
    tokenizer: PreTrainedTokenizerBase,
    prepared_blocks: Sequence[PreparedBlock],
    alpha: float = 5.0,
    top_k: int | None = None,
    batch_size: int = 4,
    show_progress: bool = True,
    suppressed_columns: Sequence[int] = (),
    lockstep: bool = False,
) -> Iterator[dict]:
    """Dataset rows of ``prepared_blocks``, ``batch_size`` blocks per pair of forward passes of ``model``.

    ``model`` is a :class:`~peft.PeftModel` whose active adapter is the reinforced one: the original blocks go through
    it as is, the replaced blocks with the adapter disabled. Both forwards run under ``torch.inference_mode``.
    ``lockstep=True`` (a ZeRO-3 sharded model) runs both forwards for every batch, even one with nothing to label,
    because each forward is a collective that every process must join.
    """
    _check_adapter_model(model)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    vocab_size = len(tokenizer)
    progress = tqdm(total=sum(len(p.block.input_ids) for p in prepared_blocks), unit="tok", desc="relabel",
                    disable=not show_progress, file=sys.stderr)
    try:
        for start in range(0, len(prepared_blocks), batch_size):
            batch = prepared_blocks[start : start + batch_size]
            labeled = [p for p in batch if p.label_positions]  # a block may have nothing to label (all masked)
            results = {}
            if labeled:
                with torch.inference_mode():
                    reinforced_rows = _gathered_logits(
                        model, [p.block.input_ids for p in labeled], [p.label_positions for p in labeled], pad_token_id, device
                    )
                    with model.disable_adapter():
                        base_rows = _gathered_logits(
                            model, [p.replaced_ids for p in labeled], [p.replaced_positions for p in labeled], pad_token_id, device
                        )
                    suppressed = [ids for p in labeled for ids in p.suppressed_ids]
                    hard, soft_ids, soft_probs = generic_labels_from_rows(
                        base_rows, reinforced_rows, suppressed, alpha, top_k, vocab_size, suppressed_columns
                    )
                sizes = [len(p.label_positions) for p in labeled]
                parts = [[None] * len(labeled) if t is None else t.cpu().split(sizes) for t in (hard, soft_ids, soft_probs)]
                results = {id(prepared): per_block for prepared, per_block in zip(labeled, zip(*parts))}
            elif lockstep:
                with torch.inference_mode():
                    _keep_in_step(model, batch, pad_token_id, device)
            for prepared in batch:
                empty = (
                    torch.empty(0, dtype=torch.long),
                    torch.empty(0, top_k, dtype=torch.long) if top_k else None,
                    torch.empty(0, top_k) if top_k else None,
                )
                yield assemble_row(prepared, *results.get(id(prepared), empty))
                progress.update(len(prepared.block.input_ids))
    finally:
        progress.close()
        model.train(was_training)


def relabel_features(top_k: int | None) -> datasets.Features:
    features = {
        "input_ids": datasets.Sequence(datasets.Value("int32")),
        "attention_mask": datasets.Sequence(datasets.Value("int8")),
        "labels": datasets.Sequence(datasets.Value("int32")),
        "text": datasets.Value("string"),
        "replaced_text": datasets.Value("string"),
        "replacements": datasets.Sequence(datasets.Value("string")),
        "document": datasets.Value("int32"),
        "block": datasets.Value("int32"),
    }
    if top_k:
        features["soft_label_ids"] = datasets.Sequence(datasets.Sequence(datasets.Value("int32")))
        features["soft_label_probs"] = datasets.Sequence(datasets.Sequence(datasets.Value("float32")))
    return datasets.Features(features)


def relabel_statistics(prepared_blocks: Sequence[PreparedBlock], rows: Sequence[dict]) -> dict:
    """Counts for the log and the dataset card: positions per mask reason, anchors, and how many labels changed."""
    status = Counter(s for prepared in prepared_blocks for s in prepared.status)
    changed = sum(
        label != token
        for row in rows
        for label, token in zip(row["labels"][1:], row["input_ids"][1:])
        if label != IGNORE_INDEX
    )
    labeled = status[LABEL]
    return {
        "blocks": len(prepared_blocks),
        "tokens": sum(len(p.block.input_ids) for p in prepared_blocks),
        "anchor_occurrences": sum(len(p.replaced.occurrences) for p in prepared_blocks),
        "blocks_with_anchors": sum(bool(p.replaced.occurrences) for p in prepared_blocks),
        "positions": dict(status),
        "labels_differing_from_text": changed,
        "labels_differing_fraction": changed / labeled if labeled else 0.0,
    }


def build_relabeled_dataset(
    model,
    tokenizer: PreTrainedTokenizerBase,
    blocks: Sequence[TextBlock],
    replacer: AnchorReplacer,
    alpha: float = 5.0,
    top_k: int | None = None,
    batch_size: int = 4,
    show_progress: bool = True,
    suppress_anchor_tokens: bool = False,
    lockstep: bool = False,
) -> tuple[datasets.Dataset, dict]:
    """The relabeled dataset of ``blocks`` and its statistics (also stored, as JSON, in ``dataset.info.description``).

    Under ``accelerate launch`` each process labels a contiguous share of the blocks and the rows are gathered back in
    order (``gather_object``), so every process returns the whole dataset; a single process labels everything.
    ``lockstep=True`` (a ZeRO-3 sharded model) pads the shares to equal length, so that every process runs the same
    number of forwards; the padding rows are dropped when gathering.
    """
    from accelerate import PartialState
    from accelerate.utils import gather_object

    if alpha < 0:
        raise ValueError(f"alpha must be non-negative, got {alpha}")
    if top_k is not None and top_k < 0:
        raise ValueError(f"top_k must be positive (or 0 for hard labels only), got {top_k}")
    if top_k and top_k > len(tokenizer):
        raise ValueError(f"top_k {top_k} is larger than the vocabulary ({len(tokenizer)} tokens)")
    if not blocks:
        raise ValueError("no blocks to relabel")
    prepared = [prepare_block(block, replacer, tokenizer) for block in blocks]
    suppressed_columns = anchor_first_token_ids(tokenizer, replacer.anchors) if suppress_anchor_tokens else []
    state = PartialState()
    with state.split_between_processes(list(range(len(prepared))), apply_padding=lockstep) as local_indices:
        local_rows = iter_relabeled_rows(
            model, tokenizer, [prepared[i] for i in local_indices], alpha, top_k, batch_size,
            show_progress and state.is_main_process, suppressed_columns, lockstep,
        )  # fmt: skip
        indexed_rows = list(zip(local_indices, local_rows))
    if state.num_processes > 1:
        indexed_rows = gather_object(indexed_rows)
    by_index = dict(indexed_rows)  # padding repeats an index with an identical row
    rows = [by_index[index] for index in range(len(prepared))]
    statistics = relabel_statistics(prepared, rows)
    dataset = datasets.Dataset.from_list(rows, features=relabel_features(top_k))
    dataset.info.description = json.dumps(
        {"alpha": alpha, "top_k": top_k or 0, "suppress_anchor_tokens": suppress_anchor_tokens, **statistics}
    )
    return dataset, statistics
