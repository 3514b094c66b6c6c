"""Option log-likelihood scoring: pick a multiple-choice answer by what the model finds most likely, without generating.

For a prompt :math:`x` and an option text :math:`y = (y_1, \\dots, y_T)` (its tokens as a continuation of the prompt),

.. math::

    \\log p(y \\mid x) = \\sum_{t=1}^{T} \\log p_\\theta(y_t \\mid x, y_{<t})

How the option's score is made from it is the **scoring rule** (``normalize``), recorded in every output:

* ``"sum"``: :math:`\\log p(y \\mid x)` itself (lm-evaluation-harness's ``acc``);
* ``"mean"``: divided by :math:`T`, the mean log-probability per option token;
* ``"acc_norm"``: divided by the option text's length in characters (lm-evaluation-harness's ``acc_norm``);
* ``"acc_bytes"``: divided by its length in UTF-8 bytes (lm-evaluation-harness's ``acc_bytes``);
* ``"calibrated"``: :math:`\\log p(y \\mid x) - \\log p(y \\mid x_0)` with :math:`x_0` a content-free premise (the
  language's answer label alone): the domain-conditional PMI of Holtzman et al. 2021, "Surface Form Competition: Why
  the Highest Probability Answer Isn't Always Right". It removes each option's prior, so that a multi-token phrase whose
  later tokens are predictable (``"Not enough information"``) does not win on its form.

The default, :data:`DEFAULT_SCORING_RULE`, was chosen by measurement (``bench/bench_scoring_rules.py``, table in
``bench/RESULTS.md``). The option's first token is always scored: it is predicted from the prompt's last position.

Prompt and option become token ids exactly as the trainers see them (:mod:`geounlearn_trl.data.prompting`): the rendered
prompt (plain, or the user turn of the chat template with ``add_generation_prompt=True``) and the answer text (``" " +
option`` after a plain prompt, the assistant's content with a chat template) are tokenised separately and their ids
concatenated. A score therefore measures the very sequence gradient ascent pushed down or up, the option's first token
is always its own token (BPE cannot merge it into the prompt, Devanagari combining marks included), and the end-of-turn
marker is not scored, as EOS is not scored in plain mode.

Each prompt is run once (:func:`score_questions`): the token prefix common to all prompts of a call (template,
instruction) once, then one ``no_grad`` forward pass per batch in which each question's prompt and options lie side by
side in one row, ``[prompt][option 1][option 2]...``, under a 4D attention mask that lets every option see its prompt
and itself only, with ``position_ids`` restarting each option after its prompt; short questions share a row. No KV
cache is copied per option. Models whose attention takes no 4D mask score the options on per-option copies of the
prompt's KV cache instead; sliding-window models share prompts whenever prompt + option fit in the window; a model on
which neither reproduces scoring from scratch (checked once per architecture), or with a custom forward or longer
sequences, has every (prompt, option) pair scored from scratch. Which positions count comes from the recorded prompt
and option lengths, never from the pad id (EOS is often reused as padding). Only the hidden states at the positions
that predict option tokens go through the LM head and ``log_softmax`` (transformers' ``logits_to_keep`` mask), so
memory does not grow with ``batch x length x vocab``.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..data.collators import right_pad
from ..data.prompting import encode_answer, encode_prompt

SCORING_RULES = ("sum", "mean", "acc_norm", "acc_bytes", "calibrated")
NORMALIZATIONS = SCORING_RULES  # the rule is passed as ``normalize=`` (the name respond's flag always had)
DEFAULT_SCORING_RULE = "sum"  # chosen by bench/bench_scoring_rules.py: best control + disambiguated accuracy
MIN_SHARED_PREFIX = 4  # tokens; a shorter common prefix is not worth its extra forward call
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodedPair:
    """One (prompt, option) pair as token ids: ``input_ids[:prompt_length]`` is the prompt, the rest the option."""

    input_ids: list[int]
    prompt_length: int


def encode_pair(
    tokenizer: PreTrainedTokenizerBase,
    prompt: str,
    option: str,
    use_chat_template: bool,
    prompt_ids: list[int] | None = None,
) -> EncodedPair:
    """Token ids of prompt + option, encoded as in training (``prompt_ids`` may be passed to reuse the prompt's)."""
    if prompt_ids is None:
        prompt_ids = encode_prompt(tokenizer, prompt, use_chat_template)
    if not prompt_ids:
        # An empty prompt gives the first option token nothing to be predicted from: start from BOS (or EOS).
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        prompt_ids = [start]
    option_ids = encode_answer(tokenizer, option, use_chat_template)
    if not option_ids:
        raise ValueError(f"Option {option!r} tokenises to no tokens; it cannot be scored.")
    return EncodedPair(list(prompt_ids) + option_ids, len(prompt_ids))


def encode_options(
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    options: Sequence[Sequence[str]],
    use_chat_template: bool = False,
) -> list[list[EncodedPair]]:
    """Encode every (prompt, option) pair; ``result[i][j]`` is prompt ``i`` with option ``j``."""
    if len(prompts) != len(options):
        raise ValueError(f"{len(prompts)} prompts but {len(options)} option lists: they must pair up one to one.")
    encoded = []
    for index, (prompt, row_options) in enumerate(zip(prompts, options)):
        if not row_options:
            raise ValueError(f"Prompt {index} has no options to score.")
        prompt_ids = encode_prompt(tokenizer, prompt, use_chat_template)
        encoded.append(
            [encode_pair(tokenizer, prompt, option, use_chat_template, prompt_ids=prompt_ids) for option in row_options]
        )
    return encoded


def _model_device(model: PreTrainedModel) -> torch.device:
    try:
        return model.device
    except AttributeError:  # a bare nn.Module, or a wrapper without .device
        return next(model.parameters()).device


def _option_position_logits(
    model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor, needed: torch.Tensor
) -> torch.Tensor:
    """Logits at the ``needed`` positions, flattened row by row to ``(needed.sum(), vocab)``.

    transformers' ``logits_to_keep`` accepts a boolean ``(batch, length)`` mask and applies the LM head only there,
    which saves most of the ``batch x length x vocabulary`` logits. A model whose forward does not understand it
    (older or custom code) gets a full forward and the positions are selected afterwards.
    """
    expected = int(needed.sum())
    try:
        logits = model(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=needed.to(input_ids.device),
                       use_cache=False).logits
        if logits.dim() == 2 and logits.shape[0] == expected:
            return logits
    except (TypeError, ValueError, IndexError, RuntimeError):
        pass
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
    return logits[needed.to(logits.device)]


def _autocast(model: PreTrainedModel, dtype: torch.dtype | None):
    """``torch.autocast`` to ``dtype`` for the forward passes, or nothing when ``dtype`` is ``None`` (the model's own
    precision). Weight casts are cached for the whole ``with`` block, so a call pays them once, not per batch."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=_model_device(model).type, dtype=dtype)


@torch.no_grad()
def score_encoded_pairs(
    model: PreTrainedModel,
    pairs: Sequence[EncodedPair],
    batch_size: int = 16,
    pad_token_id: int = 0,
    autocast_dtype: torch.dtype | None = None,
) -> list[tuple[float, int]]:
    """``(sum of option-token log-probs, number of option tokens)`` for each pair, in the order given.

    Pairs are sorted by length so each batch pads little; the order of the result matches ``pairs``.
    ``autocast_dtype`` (e.g. ``torch.bfloat16``) runs the forward passes under ``torch.autocast``; ``None`` keeps the
    model's precision. Log-probabilities are always taken in fp32.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = _model_device(model)
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].input_ids), reverse=True)
    results: list[tuple[float, int] | None] = [None] * len(pairs)
    was_training = model.training
    model.eval()
    try:
        with _autocast(model, autocast_dtype):
            for start in range(0, len(order), batch_size):
                batch_indices = order[start : start + batch_size]
                batch = [pairs[i] for i in batch_indices]
                input_ids, attention_mask = right_pad([pair.input_ids for pair in batch], pad_token_id)
                # Position t - 1 predicts token t: the option tokens [prompt_length, length) need the logits at
                # [prompt_length - 1, length - 1). Only those go through the LM head.
                needed = torch.zeros_like(input_ids, dtype=torch.bool)
                for row, pair in enumerate(batch):
                    needed[row, pair.prompt_length - 1 : len(pair.input_ids) - 1] = True
                option_logits = _option_position_logits(model, input_ids.to(device), attention_mask.to(device), needed)
                targets = input_ids[:, 1:][needed[:, :-1]].to(option_logits.device)
                token_log_probs = torch.log_softmax(option_logits.float(), dim=-1).gather(-1, targets[:, None])[:, 0]
                counts = needed.sum(dim=1).tolist()
                for index, per_pair in zip(batch_indices, torch.split(token_log_probs.cpu(), counts)):
                    results[index] = (float(per_pair.sum()), int(per_pair.numel()))
    finally:
        model.train(was_training)
    return results  # type: ignore[return-value]


def _supports_prompt_sharing(model: PreTrainedModel, longest: int) -> bool:
    """Prompt caching needs a KV cache that keeps every prompt token: a sliding-window cache does so only while the
    whole sequence (``longest`` tokens, prompt + option) fits in its window."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(model, "forward"):
        return False
    window = getattr(config, "sliding_window", None)
    has_sliding_layers = "sliding_attention" in (getattr(config, "layer_types", None) or [])
    if (window or has_sliding_layers) and not (window and longest <= window):
        return False
    return not getattr(config, "is_encoder_decoder", False)


def _common_prefix_length(rows: Sequence[Sequence[int]], limit: int) -> int:
    length = 0
    while length < limit and all(row[length] == rows[0][length] for row in rows):
        length += 1
    return length


@dataclass
class _Prefix:
    """The KV cache of the token prefix that every prompt of a call starts with (template, instruction), run once."""

    cache: object
    length: int

    def for_batch(self, size: int):
        """A copy of the cache with ``size`` rows; the original stays as it is for the next batch."""
        cache = copy.copy(self.cache)
        cache.layers = [copy.copy(layer) for layer in self.cache.layers]
        cache.batch_repeat_interleave(size)  # new tensors per layer; the shared ones are only read
        return cache


def _run_common_prefix(
    model: PreTrainedModel, prompt_rows: Sequence[Sequence[int]], length: int | None = None
) -> _Prefix | None:
    """Run the prompts' common token prefix once (each prompt keeps at least its last token out of it, whose logits
    give the first option token); ``None`` when it is too short to be worth a call or the cache cannot be copied.
    ``length`` runs exactly that many of the first prompt's tokens instead."""
    if length is None:
        if len(prompt_rows) < 2:
            return None
        length = _common_prefix_length(prompt_rows, limit=min(len(row) for row in prompt_rows) - 1)
        if length < MIN_SHARED_PREFIX:
            return None
    common = length
    prefix = torch.tensor([list(prompt_rows[0][:common])], dtype=torch.long, device=_model_device(model))
    cache = model(input_ids=prefix, use_cache=True, logits_to_keep=1).past_key_values
    if cache is None or not hasattr(cache, "batch_repeat_interleave") or not hasattr(cache, "layers"):
        return None
    return _Prefix(cache, common)


def _question_prompt(pairs: Sequence[EncodedPair]) -> list[int]:
    prompt = pairs[0].input_ids[: pairs[0].prompt_length]
    for pair in pairs[1:]:
        if pair.prompt_length != len(prompt) or pair.input_ids[: pair.prompt_length] != prompt:
            raise ValueError("the options of a question must follow the same prompt to share it")
    return prompt


def _score_questions_packed(
    model: PreTrainedModel, questions: Sequence[Sequence[EncodedPair]], pad_token_id: int, prefix: _Prefix | None = None
) -> list[list[tuple[float, int]]]:
    """Score the options of a batch of questions in one forward pass, each prompt once and no cache copying.

    Each question becomes one span ``[prompt][option 1][option 2]...`` (the prompt without the shared ``prefix``, whose
    KV cache is prepended); spans are packed into rows as long as the longest span, several short ones to a row, the
    rest right-padded. A 4D attention mask lets a prompt attend causally to itself and each option to its prompt and
    to its own earlier tokens only, never to another option or another question; ``position_ids`` restart every option
    right after its prompt. Each option is therefore computed exactly as after its prompt alone, with the prompt run
    once. The LM head runs at the prompt's last position (every option's first token) and at each option's positions
    but its last (its later tokens), nowhere else.
    """
    device = _model_device(model)
    common = prefix.length if prefix is not None else 0
    spans = []  # per question: ids, part (0: prompt, j + 1: option j), positions, [(column, target, pair)]
    counts: list[int] = []
    for pairs in questions:
        prompt = _question_prompt(pairs)
        ids, part, position = list(prompt[common:]), [0] * (len(prompt) - common), list(range(common, len(prompt)))
        scored = []
        for j, pair in enumerate(pairs):
            option = pair.input_ids[pair.prompt_length :]
            start = len(ids)
            # option[0] is predicted at the prompt's last column, option[k + 1] at the option's column k.
            predicted_at = [len(prompt) - common - 1] + list(range(start, start + len(option) - 1))
            scored += [(column, target, len(counts)) for column, target in zip(predicted_at, option)]
            counts.append(len(option))
            ids += option
            part += [j + 1] * len(option)
            position += range(len(prompt), len(prompt) + len(option))
        spans.append((ids, part, position, scored))
    # First-fit decreasing: rows as wide as the longest span, a span where it still fits.
    width = max(len(span[0]) for span in spans)
    row_of, offset_of, free = [0] * len(spans), [0] * len(spans), []
    for q in sorted(range(len(spans)), key=lambda q: len(spans[q][0]), reverse=True):
        row = next((r for r, room in enumerate(free) if room >= len(spans[q][0])), None)
        if row is None:
            row = len(free)
            free.append(width)
        row_of[q], offset_of[q] = row, width - free[row]
        free[row] -= len(spans[q][0])
    input_ids = torch.full((len(free), width), pad_token_id, dtype=torch.long)
    group = torch.full((len(free), width), -1, dtype=torch.long)  # padding: a group of its own, seen by no question
    part_ids = torch.full((len(free), width), -1, dtype=torch.long)
    position_ids = torch.zeros((len(free), width), dtype=torch.long)
    scored_rows, scored_columns, scored_targets, scored_pairs = [], [], [], []
    for q, (ids, part, position, scored) in enumerate(spans):
        row, offset = row_of[q], offset_of[q]
        columns = slice(offset, offset + len(ids))
        input_ids[row, columns] = torch.tensor(ids)
        group[row, columns] = q
        part_ids[row, columns] = torch.tensor(part)
        position_ids[row, columns] = torch.tensor(position)
        for column, target, pair in scored:
            scored_rows.append(row)
            scored_columns.append(offset + column)
            scored_targets.append(target)
            scored_pairs.append(pair)
    column = torch.arange(width)
    causal = column[None, :, None] >= column[None, None, :]  # (1, query, key)
    same_question = group[:, None, :] == group[:, :, None]
    prompt_or_same_part = (part_ids[:, None, :] == 0) | (part_ids[:, None, :] == part_ids[:, :, None])
    allowed = causal & same_question & prompt_or_same_part  # (rows, query, key); a query always sees itself
    if common:
        allowed = torch.cat([torch.ones((len(free), width, common), dtype=torch.bool), allowed], dim=2)
    attention_mask = allowed[:, None].to(device)
    if getattr(model.config, "_attn_implementation", None) == "eager":  # eager adds the mask to the scores
        dtype = next(model.parameters()).dtype
        attention_mask = torch.zeros(attention_mask.shape, dtype=dtype, device=device).masked_fill_(
            ~attention_mask, torch.finfo(dtype).min)
    rows_index, columns_index = torch.tensor(scored_rows), torch.tensor(scored_columns)
    needed = torch.zeros((len(free), width), dtype=torch.bool)
    needed[rows_index, columns_index] = True
    # logits_to_keep flattens the kept positions row by row: position (r, c) is entry (cumulative count - 1).
    flat_index = (needed.flatten().cumsum(0) - 1)[rows_index * width + columns_index]
    cache = prefix.for_batch(len(free)) if prefix is not None else None
    logits = model(input_ids=input_ids.to(device), attention_mask=attention_mask, position_ids=position_ids.to(device),
                   past_key_values=cache, use_cache=cache is not None, logits_to_keep=needed.to(device)).logits
    if logits.dim() != 2 or logits.shape[0] != int(needed.sum()):
        raise ValueError("logits_to_keep mask not supported")
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    token_log_probs = log_probs[flat_index.to(log_probs.device), torch.tensor(scored_targets, device=log_probs.device)]
    totals = torch.zeros(len(counts), dtype=torch.float32).index_add_(
        0, torch.tensor(scored_pairs), token_log_probs.cpu()).tolist()
    per_question, cursor = [], 0
    for pairs in questions:
        per_question.append([(totals[cursor + j], counts[cursor + j]) for j in range(len(pairs))])
        cursor += len(pairs)
    return per_question


def _score_questions_shared_prompt(
    model: PreTrainedModel, questions: Sequence[Sequence[EncodedPair]], pad_token_id: int, prefix: _Prefix | None = None
) -> list[list[tuple[float, int]]]:
    """Score the options of a batch of questions on KV caches: for models whose attention takes no 4D mask.

    1. Each prompt (past the shared ``prefix``, whose cache is prepended), right-padded, goes through the model once
       with ``use_cache=True``; the logits at each prompt's last token give every option's first token.
    2. The cache is gathered so that each (question, option) pair has its question's prompt, and the option tokens
       (right-padded) run on top of it with ``position_ids`` continuing each prompt and an attention mask of
       ``[prompt mask | option mask]``, so padding between prompt and option is never attended.
    """
    device = _model_device(model)
    prompt_rows = [_question_prompt(pairs) for pairs in questions]
    common = prefix.length if prefix is not None else 0
    cache = prefix.for_batch(len(prompt_rows)) if prefix is not None else None
    suffix_ids, suffix_mask = right_pad([row[common:] for row in prompt_rows], pad_token_id)
    prompt_mask = torch.cat([torch.ones((len(prompt_rows), common), dtype=torch.long), suffix_mask], dim=1)
    prompt_lengths = prompt_mask.sum(dim=1)
    last = torch.zeros_like(suffix_mask, dtype=torch.bool)
    last[torch.arange(len(prompt_rows)), suffix_mask.sum(dim=1) - 1] = True
    output = model(input_ids=suffix_ids.to(device), attention_mask=prompt_mask.to(device),
                   position_ids=(common + torch.arange(suffix_ids.shape[1]))[None, :].expand_as(suffix_ids).to(device),
                   past_key_values=cache, use_cache=True, logits_to_keep=last.to(device))
    first_logits = output.logits
    if first_logits.dim() != 2 or first_logits.shape[0] != len(prompt_rows):
        raise ValueError("logits_to_keep mask not supported")
    first_log_probs = torch.log_softmax(first_logits.float(), dim=-1)
    cache = output.past_key_values
    if cache is None or not hasattr(cache, "batch_select_indices"):
        raise ValueError("no batch-selectable KV cache")

    owners = [q for q, pairs in enumerate(questions) for _ in pairs]
    options = [pair.input_ids[pair.prompt_length :] for pairs in questions for pair in pairs]
    owner_index = torch.tensor(owners, dtype=torch.long)
    first_targets = torch.tensor([option[0] for option in options], dtype=torch.long)
    first_scores = first_log_probs[owner_index.to(first_log_probs.device), first_targets.to(first_log_probs.device)]
    rest_scores = torch.zeros(len(options), dtype=torch.float32)
    if max(len(option) for option in options) > 1:
        cache.batch_select_indices(owner_index.to(device))
        option_ids, option_mask = right_pad(options, pad_token_id)
        attention_mask = torch.cat([prompt_mask[owner_index], option_mask], dim=1)
        position_ids = prompt_lengths[owner_index][:, None] + torch.arange(option_ids.shape[1])[None, :]
        # Option token k + 1 is predicted at option position k: positions [0, length - 1) of each option.
        needed = torch.zeros_like(option_mask, dtype=torch.bool)
        for i, option in enumerate(options):
            needed[i, : len(option) - 1] = True
        logits = model(input_ids=option_ids.to(device), attention_mask=attention_mask.to(device),
                       position_ids=position_ids.to(device), past_key_values=cache, use_cache=True,
                       logits_to_keep=needed.to(device)).logits
        if logits.dim() != 2 or logits.shape[0] != int(needed.sum()):
            raise ValueError("logits_to_keep mask not supported")
        targets = option_ids[:, 1:][needed[:, :-1]].to(logits.device)
        token_log_probs = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets[:, None])[:, 0]
        counts = needed.sum(dim=1).tolist()
        rest_scores = torch.stack([chunk.sum() for chunk in torch.split(token_log_probs.cpu(), counts)])
    totals = (first_scores.float().cpu() + rest_scores).tolist()
    cursor = 0
    per_question = []
    for pairs in questions:
        per_question.append([(totals[cursor + j], len(options[cursor + j])) for j in range(len(pairs))])
        cursor += len(pairs)
    return per_question


# (model class, attention implementation, with a prefix cache) -> the shared-prompt path that reproduced scoring from
# scratch there ("packed", "kv_cache"), or None. An architecture honours a 4D mask and explicit position ids or it does
# not, whatever its weights, so each is checked once per process.
_SHARED_PATH_CHECKED: dict[tuple[str, str, bool], str | None] = {}


def _shared_path(
    model: PreTrainedModel, sample: Sequence[Sequence[EncodedPair]], pad_token_id: int, prefix: _Prefix | None
) -> str | None:
    """The fastest prompt-sharing path that scores ``sample`` (questions of different prompt lengths) as scoring
    from scratch does: ``"packed"`` (:func:`_score_questions_packed`), else ``"kv_cache"``
    (:func:`_score_questions_shared_prompt`), else ``None`` (score from scratch). Position biases computed from a 2D
    mask (ALiBi), attention kernels without 4D masks (FlashAttention 2) and forwards that drop ``position_ids`` are
    caught here. The check runs in the model's own precision, outside any autocast."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    attention = str(getattr(model.config, "_attn_implementation", None))
    key = (f"{type(base).__module__}.{type(base).__qualname__}", attention, prefix is not None)
    if key in _SHARED_PATH_CHECKED:
        return _SHARED_PATH_CHECKED[key]
    paths = {"packed": _score_questions_packed, "kv_cache": _score_questions_shared_prompt}
    if attention not in ("sdpa", "eager"):  # other kernels take no arbitrary 4D mask
        del paths["packed"]
    half = next(model.parameters()).dtype in (torch.float16, torch.bfloat16)
    with torch.autocast(device_type=_model_device(model).type, enabled=False):
        if prefix is not None:  # the caller's may have been run under autocast
            prefix = _run_common_prefix(model, [_question_prompt(pairs) for pairs in sample], prefix.length)
        flat = [pair for pairs in sample for pair in pairs]
        scratch = [total for total, _ in score_encoded_pairs(model, flat, len(flat), pad_token_id)]
        chosen = None
        for name, score_batch in paths.items():
            try:
                shared = [total for row in score_batch(model, sample, pad_token_id, prefix) for total, _ in row]
            except (TypeError, ValueError, AttributeError, NotImplementedError, IndexError, RuntimeError) as error:
                logger.info("%s prompt sharing unavailable for %s (%s).", name, key[0], error)
                continue
            # fp32: batched and unbatched sums agree to ~1e-5 relative; a position or mask error moves them far more.
            if all(abs(a - b) <= (0.1 + 1e-2 * abs(b) if half else 1e-4 + 1e-5 * abs(b)) for a, b in zip(shared, scratch)):
                chosen = name
                break
            logger.warning("%s prompt sharing does not reproduce scoring from scratch on %s (%s attention); not used.",
                           name, key[0], attention)
    _SHARED_PATH_CHECKED[key] = chosen
    return chosen


def _batches(sizes: Sequence[int], lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Question indices grouped longest first, at most ``batch_size`` pairs per group (a question is never split)."""
    order = sorted(range(len(sizes)), key=lambda q: lengths[q], reverse=True)
    batches, current, current_pairs = [], [], 0
    for q in order:
        if current and current_pairs + sizes[q] > batch_size:
            batches.append(current)
            current, current_pairs = [], 0
        current.append(q)
        current_pairs += sizes[q]
    if current:
        batches.append(current)
    return batches


@torch.no_grad()
def score_questions(
    model: PreTrainedModel,
    encoded: Sequence[Sequence[EncodedPair]],
    batch_size: int = 16,
    pad_token_id: int = 0,
    share_prompt: bool = True,
    autocast_dtype: torch.dtype | None = None,
) -> list[list[tuple[float, int]]]:
    """``(sum of option-token log-probs, number of option tokens)`` per option of each question.

    With ``share_prompt`` (and a model whose cache allows it), each prompt is run once and its options on top of it,
    about ``number of options`` times less work than scoring each (prompt, option) pair from scratch: the prefix
    common to all prompts once for the call, then one forward pass per batch, each question's prompt and options
    packed in one row under a 4D attention mask (:func:`_score_questions_packed`); models whose attention takes no
    such mask use per-option KV caches (:func:`_score_questions_shared_prompt`). Questions are batched by length, up
    to ``batch_size`` (prompt, option) pairs per batch. Otherwise, or if the model's forward refuses the arguments,
    every pair is scored from scratch (:func:`score_encoded_pairs`), the reference the shared paths match.

    ``autocast_dtype`` (e.g. ``torch.bfloat16``) runs the forward passes under ``torch.autocast``: faster matmuls on
    hardware with bf16 units, at a small cost in precision (``bench/RESULTS.md``, "Scoring speed"); ``None``, the
    default, keeps the model's own precision.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    longest = max((len(pair.input_ids) for pairs in encoded for pair in pairs), default=0)
    if share_prompt and encoded and _supports_prompt_sharing(model, longest):
        results: list[list[tuple[float, int]] | None] = [None] * len(encoded)
        was_training = model.training
        model.eval()
        try:
            with _autocast(model, autocast_dtype):
                prefix = _run_common_prefix(model, [_question_prompt(pairs) for pairs in encoded])
                sizes = [len(pairs) for pairs in encoded]
                packed_lengths = [len(pairs[0].input_ids) + sum(len(p.input_ids) - p.prompt_length for p in pairs[1:])
                                  for pairs in encoded]
                batches = _batches(sizes, packed_lengths, batch_size)
                shortest = min(range(len(encoded)), key=lambda q: encoded[q][0].prompt_length)
                sample = [encoded[q] for q in dict.fromkeys([batches[0][0], shortest])]
                path = _shared_path(model, sample, pad_token_id, prefix)
                if path is None:
                    raise ValueError("no prompt-sharing path reproduces scoring from scratch on this model")
                score_batch = _score_questions_packed
                if path == "kv_cache":
                    score_batch = _score_questions_shared_prompt
                    batches = _batches(sizes, [pairs[0].prompt_length for pairs in encoded], batch_size)
                for batch in batches:
                    for q, scores in zip(batch, score_batch(model, [encoded[q] for q in batch], pad_token_id, prefix)):
                        results[q] = scores
            return results  # type: ignore[return-value]
        except (TypeError, ValueError, AttributeError, NotImplementedError, IndexError) as error:
            logger.info("Prompt sharing unavailable for %s (%s); scoring every pair from scratch.",
                        type(model).__name__, error)
        finally:
            model.train(was_training)
    flat = [pair for pairs in encoded for pair in pairs]
    totals = score_encoded_pairs(model, flat, batch_size=batch_size, pad_token_id=pad_token_id,
                                 autocast_dtype=autocast_dtype)
    per_question, cursor = [], 0
    for pairs in encoded:
        per_question.append(totals[cursor : cursor + len(pairs)])
        cursor += len(pairs)
    return per_question


def option_loglikelihoods(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    options: Sequence[Sequence[str]],
    batch_size: int = 16,
    use_chat_template: bool = False,
    normalize: str = "sum",
    share_prompt: bool = True,
    content_free_prompts: str | Sequence[str] | None = None,
) -> list[list[float]]:
    """Score of each option's text as the continuation of its prompt, under the scoring rule ``normalize``.

    Args:
        model: a causal LM (plain, PEFT-wrapped or quantised); it is put in eval mode for the call and restored.
        tokenizer: its tokenizer.
        prompts: one prompt per question.
        options: ``options[i]`` are the option texts of ``prompts[i]`` (any number per prompt).
        batch_size: (prompt, option) pairs per forward pass.
        use_chat_template: score the option as the assistant turn after the prompt as the user turn.
        normalize: a rule of :data:`SCORING_RULES` (module docstring); the measuring commands use
            :data:`DEFAULT_SCORING_RULE` with the language pack's premise.
        share_prompt: run each prompt once and its options on its KV cache (same numbers, several times faster);
            ``False`` scores every (prompt, option) pair from scratch.
        content_free_prompts: the premise of the ``"calibrated"`` rule, one for all questions or one per question
            (:attr:`LanguagePack.content_free_prompt`); required by that rule only.

    Returns:
        ``scores[i][j]``: the score of option ``j`` of prompt ``i``; higher is more likely.
    """
    if normalize not in SCORING_RULES:
        raise ValueError(f"normalize must be one of {SCORING_RULES}, got {normalize!r}")
    encoded = encode_options(tokenizer, prompts, options, use_chat_template)
    pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    totals = score_questions(model, encoded, batch_size=batch_size, pad_token_id=pad_token_id, share_prompt=share_prompt)
    unconditional = None
    if normalize == "calibrated":
        if content_free_prompts is None:
            raise ValueError("the 'calibrated' rule needs content_free_prompts (e.g. the language pack's answer label)")
        premises = [content_free_prompts] * len(prompts) if isinstance(content_free_prompts, str) else content_free_prompts
        unconditional = content_free_loglikelihoods(
            model, tokenizer, premises, options, batch_size, use_chat_template, pad_token_id, share_prompt
        )
    return [
        [apply_scoring_rule(normalize, total, count, option, unconditional[i][j] if unconditional else None)
         for j, ((total, count), option) in enumerate(zip(row, row_options))]
        for i, (row, row_options) in enumerate(zip(totals, options))
    ]


def apply_scoring_rule(rule: str, total: float, tokens: int, option: str, unconditional: float | None = None) -> float:
    """One option's score from its summed log-probability ``total`` over ``tokens`` tokens (module docstring)."""
    if rule == "sum":
        return total
    if rule == "mean":
        return total / tokens
    if rule == "acc_norm":
        return total / max(len(option), 1)
    if rule == "acc_bytes":
        return total / max(len(option.encode("utf-8")), 1)
    if rule == "calibrated":
        if unconditional is None:
            raise ValueError("the 'calibrated' rule needs the option's log-likelihood after the content-free prompt")
        return total - unconditional
    raise ValueError(f"scoring rule must be one of {SCORING_RULES}, got {rule!r}")


def content_free_loglikelihoods(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    premises: Sequence[str],
    options: Sequence[Sequence[str]],
    batch_size: int = 16,
    use_chat_template: bool = False,
    pad_token_id: int = 0,
    share_prompt: bool = True,
) -> list[list[float]]:
    """``log p(option | premise)`` per option, each distinct (premise, option) scored once: across a benchmark the
    same few identities and unknown phrases recur, so this costs a small fraction of the conditional pass."""
    by_premise: dict[str, dict[str, None]] = {}
    for premise, row in zip(premises, options):
        by_premise.setdefault(premise, {}).update(dict.fromkeys(row))
    groups = [  # at most batch_size options per premise and forward pass
        (premise, list(texts)[start : start + batch_size])
        for premise, texts in by_premise.items()
        for start in range(0, len(texts), batch_size)
    ]
    encoded = encode_options(tokenizer, [p for p, _ in groups], [texts for _, texts in groups], use_chat_template)
    totals = score_questions(model, encoded, batch_size=batch_size, pad_token_id=pad_token_id, share_prompt=share_prompt)
    lookup = {
        (premise, text): total for (premise, texts), row in zip(groups, totals) for text, (total, _) in zip(texts, row)
    }
    return [[lookup[(premise, text)] for text in row] for premise, row in zip(premises, options)]


def choose_options(scores: Sequence[Sequence[float]]) -> list[int]:
    """Index of the highest-scoring option per question (the first one on a tie)."""
    chosen = []
    for index, row in enumerate(scores):
        if not row:
            raise ValueError(f"Question {index} has no option scores.")
        chosen.append(max(range(len(row)), key=lambda j: (row[j], -j)))
    return chosen
