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

Prompt and option become token ids exactly as the trainers see them (:mod:`geounlearn_trl.prompting`): the rendered
prompt (plain, or the user turn of the chat template with ``add_generation_prompt=True``) and the answer text (``" " +
option`` after a plain prompt, the assistant's content with a chat template) are tokenised separately and their ids
concatenated. A score therefore measures the very sequence gradient ascent pushed down or up, the option's first token
is always its own token (BPE cannot merge it into the prompt, Devanagari combining marks included), and the end-of-turn
marker is not scored, as EOS is not scored in plain mode.

Each prompt is run once and its options are scored on top of its KV cache (:func:`score_questions`), questions batched
by prompt length, in ``no_grad`` forward passes with right padding; sliding-window models share prompts too whenever
prompt + option fit in the window (the cache then holds every token); models whose cache does not allow it (custom
forward, longer sequences) fall back to scoring every (prompt, option) pair from scratch. Which positions count comes from the attention mask and the recorded prompt length, never
from the pad id (EOS is often reused as padding). Only the hidden states at option positions go through the LM head
and ``log_softmax`` (transformers' ``logits_to_keep`` mask), so memory does not grow with ``batch x length x vocab``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .collators import right_pad
from .prompting import encode_answer, encode_prompt

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
        logits = model(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=needed.to(input_ids.device)).logits
        if logits.dim() == 2 and logits.shape[0] == expected:
            return logits
    except (TypeError, ValueError, IndexError, RuntimeError):
        pass
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
    return logits[needed.to(logits.device)]


@torch.no_grad()
def score_encoded_pairs(
    model: PreTrainedModel,
    pairs: Sequence[EncodedPair],
    batch_size: int = 16,
    pad_token_id: int = 0,
) -> list[tuple[float, int]]:
    """``(sum of option-token log-probs, number of option tokens)`` for each pair, in the order given.

    Pairs are sorted by length so each batch pads little; the order of the result matches ``pairs``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = _model_device(model)
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].input_ids), reverse=True)
    results: list[tuple[float, int] | None] = [None] * len(pairs)
    was_training = model.training
    model.eval()
    try:
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
            for index, per_pair in zip(batch_indices, torch.split(token_log_probs, counts)):
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


def _score_questions_shared_prompt(
    model: PreTrainedModel, questions: Sequence[Sequence[EncodedPair]], pad_token_id: int
) -> list[list[tuple[float, int]]]:
    """Score the options of a batch of questions with each prompt run once (KV cache shared by its options).

    0. The prompts' common token prefix (template, system prompt, instruction) runs once, its cache copied per prompt.
    1. The rest of each prompt, right-padded, goes through the model once with ``use_cache=True``; the logits at each
       prompt's last token give every option's first token.
    2. The cache is gathered so that each (question, option) pair has its question's prompt, and the option tokens
       (right-padded) run on top of it with ``position_ids`` continuing each prompt and an attention mask of
       ``[prompt mask | option mask]``, so padding between prompt and option is never attended.
    """
    device = _model_device(model)
    prompt_rows = [pairs[0].input_ids[: pairs[0].prompt_length] for pairs in questions]
    # Stage 0: the batch's common prefix (chat template, system prompt, instruction: about half of each prompt here)
    # runs once. Each prompt keeps at least its last token for stage 1, whose logits give the first option token.
    common = _common_prefix_length(prompt_rows, limit=min(len(row) for row in prompt_rows) - 1)
    cache = None
    if len(prompt_rows) > 1 and common >= MIN_SHARED_PREFIX:
        prefix = torch.tensor([prompt_rows[0][:common]], dtype=torch.long, device=device)
        cache = model(input_ids=prefix, use_cache=True, logits_to_keep=1).past_key_values
        if cache is None or not hasattr(cache, "batch_select_indices"):
            raise ValueError("no batch-selectable KV cache")
        cache.batch_select_indices(torch.zeros(len(prompt_rows), dtype=torch.long, device=device))
    else:
        common = 0
    # Stage 1: the rest of every prompt, right-padded, on top of the shared prefix.
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


@torch.no_grad()
def score_questions(
    model: PreTrainedModel,
    encoded: Sequence[Sequence[EncodedPair]],
    batch_size: int = 16,
    pad_token_id: int = 0,
    share_prompt: bool = True,
) -> list[list[tuple[float, int]]]:
    """``(sum of option-token log-probs, number of option tokens)`` per option of each question.

    With ``share_prompt`` (and a model whose cache allows it), each prompt is run once and its options on top of its
    KV cache, about ``number of options`` times less work than scoring each (prompt, option) pair from scratch;
    questions are batched by prompt length, up to ``batch_size`` pairs per batch. Otherwise, or if the model's
    forward refuses the cache arguments, every pair is scored from scratch (:func:`score_encoded_pairs`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    longest = max((len(pair.input_ids) for pairs in encoded for pair in pairs), default=0)
    if share_prompt and _supports_prompt_sharing(model, longest):
        order = sorted(range(len(encoded)), key=lambda q: encoded[q][0].prompt_length, reverse=True)
        batches, current, current_pairs = [], [], 0
        for q in order:
            if current and current_pairs + len(encoded[q]) > batch_size:
                batches.append(current)
                current, current_pairs = [], 0
            current.append(q)
            current_pairs += len(encoded[q])
        if current:
            batches.append(current)
        results: list[list[tuple[float, int]] | None] = [None] * len(encoded)
        was_training = model.training
        model.eval()
        try:
            for batch in batches:
                for q, scores in zip(batch, _score_questions_shared_prompt(model, [encoded[q] for q in batch],
                                                                          pad_token_id)):
                    results[q] = scores
            return results  # type: ignore[return-value]
        except (TypeError, ValueError, AttributeError, NotImplementedError, IndexError) as error:
            logger.info("Prompt sharing unavailable for %s (%s); scoring every pair from scratch.",
                        type(model).__name__, error)
        finally:
            model.train(was_training)
    flat = [pair for pairs in encoded for pair in pairs]
    totals = score_encoded_pairs(model, flat, batch_size=batch_size, pad_token_id=pad_token_id)
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
