"""Familiarity with a target text, after Eldan & Russinovich (2023), "Who's Harry Potter? Approximate Unlearning in
LLMs".

Two measures, both computed by the model itself (no judge model):

* **Completion familiarity** — sample completions of prompts that a reader of the text could complete with one of
  the prompt's *references* (names, places, invented terms); a completion is *familiar* when it contains a reference.
  The paper has GPT-4 grade each completion; here the grade is a lexical match (casefold, NFC, word boundaries that
  hold in Devanagari too, see :mod:`geounlearn_trl.text`), which is reproducible and offline, and stricter: a
  paraphrase that avoids the reference words is not counted.
* **Probability familiarity** — the next-token probability mass the model puts on *target tokens* (the first token of
  each anchor term, with and without a leading space) right after prompts such as "Harry Potter's two best friends
  are"; unlearning should move that mass to generic continuations.

Prompt files are the WHP formats: ``completion_prompts.json`` is a list of
``{"prompt": {"prompt": str, "references": [str, ...], "subtlety": int}}`` and ``probability_prompts.json`` a list of
``{"prompt": str}``. :func:`load_completion_prompts` / :func:`load_probability_prompts` read and validate them, with
the file, index and field in every error; :func:`extract_completion_prompts` asks an instruct model for completion
prompts about a target text.

Two commands are typed functions here (TRL's ``main(script_args, ...)`` shape; ``geounlearn_trl.cli`` only parses
their flags): :func:`familiarity_prompts` (``geounlearn-trl prompts``: check prompt files, or write prompts from a
text, :func:`prepare_prompts`) and :func:`familiarity` (``geounlearn-trl familiarity``: models side by side on the
prompts, :func:`measure_familiarity`).
"""

from __future__ import annotations

import gc
import json
import os
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from tqdm.auto import tqdm

from ..text import search_whole
from ..files import write_json_atomic, write_text_atomic
from ..data.records import InputError, InputFormatError, read_text
from ..methods.selective.extraction import ExtractionArguments

if TYPE_CHECKING:
    from trl import ModelConfig

# ---------------------------------------------------------------------------------------------------------------------
# Prompt files
# ---------------------------------------------------------------------------------------------------------------------


class PromptFormatError(InputError):
    """A prompt file (or prompt list) does not have the WHP shape; the message names source, index and field."""

    def __init__(self, source: str, index: int | None, field_name: str | None, problem: str):
        self.source, self.index, self.field_name, self.problem = source, index, field_name, problem
        where = source
        if index is not None:
            where += f", prompt {index}"
        if field_name is not None:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {problem}")


@dataclass
class CompletionPrompt:
    """One completion-familiarity prompt: the text to complete, the words that betray familiarity, how subtle it is.

    ``subtlety`` (WHP: 1..10) says how little the prompt itself gives away; a familiar completion of a subtle prompt
    is stronger evidence of knowledge, so it weighs more in :func:`completion_familiarity`'s weighted score.
    """

    prompt: str
    references: list[str]
    subtlety: int = 1

    def to_whp(self) -> dict:
        return {"prompt": {"prompt": self.prompt, "references": list(self.references), "subtlety": int(self.subtlety)}}


def _check_string(value, source, index, name) -> str:
    if not isinstance(value, str):
        raise PromptFormatError(source, index, name, f"expected a string, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise PromptFormatError(source, index, name, "is empty")
    return value


def parse_completion_prompt(entry, index: int | None = None, source: str = "<prompts>") -> CompletionPrompt:
    """Validate one completion prompt: the WHP nesting ``{"prompt": {...}}`` or the flat ``{"prompt": str, ...}``.

    ``references`` must be a non-empty list of non-empty strings; ``subtlety`` a positive integer (1 when absent
    from a flat entry, i.e. unweighted; required in the WHP nesting, as in the released file).
    """
    if isinstance(entry, CompletionPrompt):
        return entry
    if not isinstance(entry, dict):
        raise PromptFormatError(source, index, None, f"expected an object, got {type(entry).__name__}")
    nested = isinstance(entry.get("prompt"), dict)
    body = entry["prompt"] if nested else entry
    prefix = "prompt." if nested else ""
    missing = [name for name in ("prompt", "references") if name not in body]
    if nested and "subtlety" not in body:
        missing.append("subtlety")
    if missing:
        raise PromptFormatError(source, index, prefix + missing[0], f"missing (has: {sorted(body)})")
    text = _check_string(body["prompt"], source, index, prefix + "prompt")
    references = body["references"]
    if not isinstance(references, list) or not references:
        raise PromptFormatError(
            source, index, prefix + "references", f"expected a non-empty list of strings, got {references!r}"
        )
    for position, reference in enumerate(references):
        _check_string(reference, source, index, f"{prefix}references[{position}]")
    subtlety = body.get("subtlety", 1)
    if isinstance(subtlety, bool) or not isinstance(subtlety, int) or subtlety < 1:
        raise PromptFormatError(source, index, prefix + "subtlety", f"expected a positive integer, got {subtlety!r}")
    return CompletionPrompt(prompt=text, references=list(references), subtlety=subtlety)


def _read_json_list(path: str | os.PathLike) -> tuple[list, str]:
    source = str(path)
    if not os.path.isfile(path):
        raise PromptFormatError(source, None, None, "no such file")
    try:
        text, _raw, _bom = read_text(path)  # UTF-8 (a BOM is dropped); a bad byte is named with its offset
        data = json.loads(text)
    except InputFormatError as error:
        raise PromptFormatError(source, None, None, error.problem) from None
    except json.JSONDecodeError as error:
        raise PromptFormatError(source, None, None, f"not valid JSON ({error})") from None
    if not isinstance(data, list):
        raise PromptFormatError(source, None, None, f"expected a JSON list of prompts, got {type(data).__name__}")
    if not data:
        raise PromptFormatError(source, None, None, "contains no prompts")
    return data, source


def load_completion_prompts(path: str | os.PathLike) -> list[CompletionPrompt]:
    """Read and validate a WHP ``completion_prompts.json`` (nested or flat entries)."""
    data, source = _read_json_list(path)
    return [parse_completion_prompt(entry, index, source) for index, entry in enumerate(data)]


def parse_probability_prompt(entry, index: int | None = None, source: str = "<prompts>") -> str:
    """``{"prompt": str}`` (WHP ``probability_prompts.json``) or a bare string."""
    if isinstance(entry, str):
        return _check_string(entry, source, index, None)
    if not isinstance(entry, dict):
        raise PromptFormatError(source, index, None, f"expected an object or a string, got {type(entry).__name__}")
    if "prompt" not in entry:
        raise PromptFormatError(source, index, "prompt", f"missing (has: {sorted(entry)})")
    return _check_string(entry["prompt"], source, index, "prompt")


def load_probability_prompts(path: str | os.PathLike) -> list[str]:
    """Read and validate a WHP ``probability_prompts.json``."""
    data, source = _read_json_list(path)
    return [parse_probability_prompt(entry, index, source) for index, entry in enumerate(data)]


def save_completion_prompts(prompts: Iterable[CompletionPrompt], path: str | os.PathLike) -> None:
    """Write prompts in the WHP completion format, indented and UTF-8 so that they can be reviewed and edited."""
    payload = [parse_completion_prompt(prompt).to_whp() for prompt in prompts]
    write_json_atomic(path, payload)  # a temporary file renamed over ``path``: ``path`` may be one of the inputs


# ---------------------------------------------------------------------------------------------------------------------
# Reference matching
# ---------------------------------------------------------------------------------------------------------------------

# Typographic apostrophes and quotes are folded so that "Hog’s Head" matches "Hog's Head".
_QUOTE_FOLDING = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})


def normalise_for_matching(text: str) -> str:
    """NFC, typographic quotes folded, casefolded, whitespace collapsed: both sides of a reference match."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTE_FOLDING).casefold()
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def _reference_pattern(reference: str) -> re.Pattern:
    # Any run of whitespace may separate the reference's words; the word boundaries are checked by search_whole.
    return re.compile(r"\s+".join(map(re.escape, normalise_for_matching(reference).split())))


def find_reference(text: str, references: Sequence[str]) -> str | None:
    """The first of ``references`` found in ``text`` as whole words (casefolded, NFC), else ``None``."""
    normalised = normalise_for_matching(text)
    for reference in references:
        # Word boundaries that hold in every script (geounlearn_trl.text: a Devanagari vowel sign continues a word,
        # so "राम" is not found inside "रामायण"), checked only at an end of the reference that is a word character,
        # so references that start or end with punctuation ("Platform 9 3/4", "Mr.") still match.
        if reference.strip() and search_whole(_reference_pattern(reference), normalised):
            return reference
    return None


# ---------------------------------------------------------------------------------------------------------------------
# Completion familiarity
# ---------------------------------------------------------------------------------------------------------------------


def _model_device(model) -> torch.device:
    device = getattr(model, "device", None)
    if isinstance(device, torch.device):
        return device
    parameter = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
    return parameter.device if parameter is not None else torch.device("cpu")


def completion_familiarity(
    model,
    tokenizer,
    prompts: Sequence[dict | CompletionPrompt],
    num_samples: int = 5,
    max_new_tokens: int = 32,
    seed: int = 0,
    batch_size: int = 8,
    temperature: float = 1.0,
    top_p: float = 1.0,
    show_progress: bool = True,
) -> dict:
    """Sample ``num_samples`` completions per prompt and count those that contain one of the prompt's references.

    Let prompt ``i`` have subtlety ``s_i`` and ``k_i`` familiar completions out of ``n`` (``num_samples``), and
    ``f_i = k_i / n``. Returned:

    * ``familiar_rate = Σ_i k_i / (N·n)`` — the fraction of all completions that are familiar;
    * ``weighted_score = Σ_i s_i·f_i / Σ_i s_i`` — the WHP-style score: each prompt weighs by its subtlety, since a
      familiar completion of a prompt that gives little away says more about what the model knows. Both lie in [0, 1];
      with equal subtleties they coincide;
    * ``prompt_familiar_rate`` — the fraction of prompts with at least one familiar completion;
    * ``per_prompt`` — every prompt with its completions, which were familiar, and the reference found.

    Generation samples (``do_sample=True``, ``temperature``, ``top_p``, no top-k) at most ``max_new_tokens`` tokens
    from the raw prompt text, ``batch_size`` prompts (× ``num_samples`` sequences) per ``generate`` call with left
    padding. The RNG is seeded with ``seed`` inside a forked RNG state, so the caller's RNG is untouched and the same
    (seed, batch_size) gives the same completions. ``prompts`` are WHP entries, flat dicts or :class:`CompletionPrompt`.
    """
    if num_samples < 1 or max_new_tokens < 1 or batch_size < 1:
        raise ValueError("num_samples, max_new_tokens and batch_size must be positive")
    parsed = [parse_completion_prompt(entry, index) for index, entry in enumerate(prompts)]
    if not parsed:
        raise ValueError("completion_familiarity needs at least one prompt")
    device = _model_device(model)
    was_training = getattr(model, "training", False)
    model.eval()
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation continues from the last position, so pad on the left
    pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    completions: list[list[str]] = []
    try:
        with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []), torch.no_grad():
            torch.manual_seed(seed)
            batches = range(0, len(parsed), batch_size)
            for start in tqdm(batches, desc="completion familiarity", disable=not show_progress):
                batch = parsed[start : start + batch_size]
                encoded = tokenizer([p.prompt for p in batch], return_tensors="pt", padding=True).to(device)
                output = model.generate(
                    **encoded,
                    do_sample=True,
                    temperature=temperature,
                    top_p=top_p,
                    top_k=0,
                    max_new_tokens=max_new_tokens,
                    num_return_sequences=num_samples,
                    pad_token_id=pad_token_id,
                )
                new_tokens = output[:, encoded["input_ids"].shape[1] :]
                texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
                completions += [texts[i * num_samples : (i + 1) * num_samples] for i in range(len(batch))]
    finally:
        tokenizer.padding_side = padding_side
        model.train(was_training)
    return score_completions(parsed, completions)


def score_completions(prompts: Sequence[dict | CompletionPrompt], completions: Sequence[Sequence[str]]) -> dict:
    """The scores of :func:`completion_familiarity` for given completions (``completions[i]`` follow ``prompts[i]``)."""
    parsed = [parse_completion_prompt(entry, index) for index, entry in enumerate(prompts)]
    if len(parsed) != len(completions):
        raise ValueError(f"{len(parsed)} prompts but {len(completions)} lists of completions")
    per_prompt, familiar_total, completion_total, weighted_sum, weight_sum, prompts_familiar = [], 0, 0, 0.0, 0, 0
    for prompt, samples in zip(parsed, completions, strict=True):
        if not samples:
            raise ValueError(f"prompt {prompt.prompt!r} has no completions")
        matched = [find_reference(text, prompt.references) for text in samples]
        familiar = [reference is not None for reference in matched]
        fraction = sum(familiar) / len(samples)
        familiar_total += sum(familiar)
        completion_total += len(samples)
        weighted_sum += prompt.subtlety * fraction
        weight_sum += prompt.subtlety
        prompts_familiar += any(familiar)
        per_prompt.append(
            {
                "prompt": prompt.prompt,
                "references": prompt.references,
                "subtlety": prompt.subtlety,
                "completions": list(samples),
                "familiar": familiar,
                "matched_reference": matched,
                "familiar_fraction": fraction,
            }
        )
    return {
        "num_prompts": len(parsed),
        "num_completions": completion_total,
        "familiar_rate": familiar_total / completion_total,
        "weighted_score": weighted_sum / weight_sum,
        "prompt_familiar_rate": prompts_familiar / len(parsed),
        "per_prompt": per_prompt,
    }


# ---------------------------------------------------------------------------------------------------------------------
# Probability familiarity
# ---------------------------------------------------------------------------------------------------------------------


def target_token_ids(tokenizer, terms: Iterable[str], exclude_words: Iterable[str] = ()) -> list[int]:
    """First token of each term, tokenised both bare (``"Harry"``) and after a space (``" Harry"``); sorted, unique.

    Both forms, because a term continues a prompt either right after it (``... series "``) or after a space. A first
    token that is only whitespace (``"31 October"`` → ``" "`` + ``"3"``...) says nothing about the term and is left out,
    and so is one whose text (stripped, casefolded) is in ``exclude_words``: with the WHP dictionary, keys such as
    ``"the Dursleys"`` make ``" the"`` a target, which then dominates the measure, so ``exclude_words=["the", "a"]``
    is worth a look. A term whose first token is a common piece (``"Harry"`` → ``"H"`` + ``"arry"`` in SmolLM2's
    vocabulary) still makes that piece a target: the measure is an upper bound on the mass the model gives to the terms.
    """
    excluded = {word.strip().casefold() for word in exclude_words}
    ids: set[int] = set()
    for term in terms:
        term = term.strip()
        if not term:
            continue
        for form in (term, " " + term):
            tokens = tokenizer(form, add_special_tokens=False)["input_ids"]
            if not tokens:
                continue
            text = tokenizer.decode(tokens[:1]).strip().casefold()
            if text and text not in excluded:
                ids.add(int(tokens[0]))
    return sorted(ids)


def probability_familiarity(
    model,
    tokenizer,
    prompts: Sequence[str | dict],
    target_token_ids: Sequence[int],
    batch_size: int = 8,
    top_k_targets: int = 5,
    show_progress: bool = True,
) -> dict:
    """Mean next-token probability mass on the target tokens right after each prompt.

    For prompt ``j`` with next-token distribution ``p_j = softmax(logits at its last token)`` and the set ``T`` of
    target token ids, ``mass_j = Σ_{t∈T} p_j(t)``; returned ``mean_target_probability = (1/M) Σ_j mass_j``, with
    ``per_prompt`` giving each ``mass_j`` and its ``top_k_targets`` most probable target tokens. Prompts are batched
    with right padding and the logits read at each prompt's own last token, so padding changes nothing.
    """
    texts = [parse_probability_prompt(entry, index) for index, entry in enumerate(prompts)]
    if not texts:
        raise ValueError("probability_familiarity needs at least one prompt")
    targets = sorted({int(t) for t in target_token_ids})
    if not targets:
        raise ValueError("probability_familiarity needs at least one target token id")
    vocab_size = len(tokenizer)
    if targets[0] < 0 or targets[-1] >= vocab_size:
        raise ValueError(f"target token ids must lie in [0, {vocab_size}); got {targets[0]}..{targets[-1]}")
    device = _model_device(model)
    target_index = torch.tensor(targets, device=device)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "right"
    per_prompt = []
    try:
        with torch.no_grad():
            batches = range(0, len(texts), batch_size)
            for start in tqdm(batches, desc="probability familiarity", disable=not show_progress):
                batch = texts[start : start + batch_size]
                encoded = tokenizer(batch, return_tensors="pt", padding=True).to(device)
                logits = model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).logits
                last = encoded["attention_mask"].sum(dim=1) - 1
                next_token_logits = logits[torch.arange(len(batch), device=device), last].float()
                # Slice to the tokenizer's vocabulary: padded embedding rows are never real tokens.
                probabilities = next_token_logits[:, :vocab_size].softmax(dim=-1)
                target_probabilities = probabilities.index_select(1, target_index)
                masses = target_probabilities.sum(dim=1)
                k = min(top_k_targets, len(targets))
                top_values, top_positions = target_probabilities.topk(k, dim=1)
                for row, text in enumerate(batch):
                    top = [
                        {"token": tokenizer.decode([targets[p]]), "token_id": targets[p], "probability": v}
                        for p, v in zip(top_positions[row].tolist(), top_values[row].tolist(), strict=True)
                    ]
                    per_prompt.append({"prompt": text, "target_probability": masses[row].item(), "top_targets": top})
    finally:
        tokenizer.padding_side = padding_side
        if hasattr(model, "train"):
            model.train(was_training)
    return {
        "num_prompts": len(texts),
        "num_target_tokens": len(targets),
        "mean_target_probability": sum(p["target_probability"] for p in per_prompt) / len(per_prompt),
        "per_prompt": per_prompt,
    }


# ---------------------------------------------------------------------------------------------------------------------
# Prompts from a target text
# ---------------------------------------------------------------------------------------------------------------------

PROMPTS_INSTRUCTION = (
    "Write {num_prompts} sentence openings about this text that only a reader who knows it could complete. Each "
    "opening stops right before a name, place or term from the text. Write one per line, as 'opening | completing "
    "words | subtlety', where subtlety goes from 1 (the opening gives the answer away) to 10 (it gives nothing "
    "away).\n\nText: {chunk}"
)
# A worked example on a made-up text, as an earlier conversation turn (see geounlearn_trl.methods.selective.anchors.ANCHOR_EXAMPLE).
PROMPTS_EXAMPLE = (
    "Captain Ilsa Marrow sailed the Greywind out of Port Kessel to find the Amber Crown, the jewel of the drowned "
    "kings.",
    "The captain who sailed out of Port Kessel was called | Ilsa Marrow | 3\n"
    "Ilsa Marrow's ship was named the | Greywind | 5\n"
    "The jewel of the drowned kings is known as the | Amber Crown | 8",
)


@dataclass
class PromptExtractionReport:
    """What :func:`extract_completion_prompts` found: the prompts and how the model's replies parsed."""

    prompts: list[CompletionPrompt]
    num_chunks: int = 0
    skipped_lines: int = 0
    not_in_text: int = 0
    replies: list[str] = field(default_factory=list)
    skipped_examples: list[str] = field(default_factory=list)


def extract_completion_prompts(
    model,
    tokenizer,
    text: str,
    chunk_tokens: int = 384,
    prompts_per_chunk: int = 5,
    default_subtlety: int = 5,
    max_chunks: int | None = None,
    **generation_kwargs,
) -> PromptExtractionReport:
    """Ask ``model`` for familiarity prompts chunk by chunk (WHP completion format), parsed robustly.

    Each reply is read by :func:`~geounlearn_trl.methods.selective.extraction.parse_prompt_output`; a prompt the model gave no subtlety
    for gets ``default_subtlety``; prompts with the same text are kept once. ``generation_kwargs`` go to
    :func:`~geounlearn_trl.methods.selective.extraction.chat_generate`.
    """
    from geounlearn_trl.methods.selective.extraction import ask_about_chunks, parse_prompt_output

    if not text.strip():
        raise ValueError("the target text is empty: there is nothing to write familiarity prompts about")
    question = partial(PROMPTS_INSTRUCTION.format, num_prompts=prompts_per_chunk)
    example_text, example_answer = PROMPTS_EXAMPLE
    example = (PROMPTS_INSTRUCTION.format(chunk=example_text, num_prompts=3), example_answer)
    chunks, replies = ask_about_chunks(
        model, tokenizer, text, question, example, chunk_tokens, max_chunks, "familiarity prompts", **generation_kwargs
    )
    prompts: list[CompletionPrompt] = []
    seen: set[str] = set()
    skipped, not_in_text, examples = 0, 0, []
    for chunk, reply in zip(chunks, replies, strict=True):
        parsed = parse_prompt_output(reply, default_subtlety=default_subtlety)
        skipped += parsed.skipped
        examples += parsed.skipped_examples
        for entry in parsed.entries:
            # A reference must occur in the chunk: this drops the example's prompts and anything made up.
            references = [r for r in entry["references"] if find_reference(chunk, [r])]
            if not references:
                not_in_text += 1
                continue
            if entry["prompt"] not in seen:
                seen.add(entry["prompt"])
                prompts.append(CompletionPrompt(entry["prompt"], references, entry["subtlety"]))
    return PromptExtractionReport(
        prompts=prompts,
        num_chunks=len(chunks),
        skipped_lines=skipped,
        not_in_text=not_in_text,
        replies=replies,
        skipped_examples=examples[:10],
    )


# ---------------------------------------------------------------------------------------------------------------------
# The `prompts` command: check prompt files, or write prompts from a target text
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class PromptsArguments(ExtractionArguments):
    """The flags of ``geounlearn-trl prompts``: generate completion prompts from a text, or check prompt files."""

    target_text: str | None = field(
        default=None, metadata={"help": "UTF-8 text to write familiarity prompts about with the instruct model."}
    )
    output: str | None = field(
        default=None,
        metadata={
            "help": "Where to write completion prompts (WHP format): the generated ones, or a normalised copy "
            "of --completion_prompts."
        },
    )
    completion_prompts: str | None = field(
        default=None, metadata={"help": "A WHP completion_prompts.json to validate (and with --output, normalise)."}
    )
    probability_prompts: str | None = field(
        default=None, metadata={"help": "A WHP probability_prompts.json to validate."}
    )
    prompts_per_chunk: int = field(default=5, metadata={"help": "Sentence openings to ask for per chunk."})
    default_subtlety: int = field(
        default=5, metadata={"help": "Subtlety (1..10) of a generated prompt when the model gives none."}
    )


def prepare_prompts(args: PromptsArguments, model_args: ModelConfig) -> dict:
    """Check the prompt files of ``args`` (writing a normalised copy to ``--output`` when asked) and/or write
    completion prompts generated from ``--target_text`` by the model of ``model_args``; returns a summary.

    Every check on the flags runs before any file is read or model loaded."""
    if not (args.target_text or args.completion_prompts or args.probability_prompts):
        raise ValueError("nothing to do: give --target_text, --completion_prompts and/or --probability_prompts")
    if args.target_text and args.completion_prompts:
        raise ValueError("give either --target_text (generate) or --completion_prompts (validate), not both")
    if args.target_text and not args.output:
        raise ValueError("--target_text needs --output, the file to write the generated prompts to")
    if not 1 <= args.default_subtlety <= 10:
        raise ValueError(f"--default_subtlety must lie in 1..10, got {args.default_subtlety}")
    summary: dict = {}
    if args.completion_prompts:
        prompts = load_completion_prompts(args.completion_prompts)
        subtleties = Counter(p.subtlety for p in prompts)
        summary.update(
            completion_prompts=len(prompts),
            references=sum(len(p.references) for p in prompts),
            subtlety_counts=dict(sorted(subtleties.items())),
        )
        if args.output:
            save_completion_prompts(prompts, args.output)
            summary["output"] = args.output
    if args.probability_prompts:
        summary["probability_prompts"] = len(load_probability_prompts(args.probability_prompts))
    if args.target_text:
        report = args.extract_from_target_text(
            extract_completion_prompts,
            model_args,
            prompts_per_chunk=args.prompts_per_chunk,
            default_subtlety=args.default_subtlety,
        )
        summary.update(
            chunks=report.num_chunks, skipped_lines=report.skipped_lines, prompts_not_in_text=report.not_in_text
        )
        if report.skipped_examples:
            summary["skipped_examples"] = report.skipped_examples[:3]
        if not report.prompts:
            raise ValueError(
                "the model's replies held no usable prompt (see --save_replies); nothing written to " + args.output
            )
        save_completion_prompts(report.prompts, args.output)
        summary.update(completion_prompts=len(report.prompts), output=args.output)
    return summary



def familiarity_prompts(args: PromptsArguments, model_args: ModelConfig) -> int:
    """``geounlearn-trl prompts`` as a typed function: :func:`prepare_prompts`, then its summary, one ``key: value``
    line each. Returns the exit status: 0, or 1 after one line on stderr for a bad prompt file, a missing file or
    flags that don't fit together."""
    try:
        summary = prepare_prompts(args, model_args)
    except (PromptFormatError, ValueError, FileNotFoundError) as error:
        print(f"geounlearn-trl prompts: {error}", file=sys.stderr)
        return 1
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


# ---------------------------------------------------------------------------------------------------------------------
# The `familiarity` command: models compared on the prompts
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class FamiliarityArguments:
    """The flags of ``geounlearn-trl familiarity``: the models to compare, the prompt files, the sampling."""

    model: list[str] = field(
        default_factory=lambda: ["smollm2-135m-instruct"],
        metadata={
            "help": "Models to compare, first = before: Hub ids, folders, smollm2-135m-instruct, or adapter "
            "folders (with adapter_config.json, loaded with PEFT on their base)."
        },
    )
    completion_prompts: str | None = field(
        default=None, metadata={"help": "WHP completion prompts JSON (prompt, references, subtlety)."}
    )
    probability_prompts: str | None = field(default=None, metadata={"help": "WHP probability prompts JSON."})
    anchor_dictionary: str | None = field(
        default=None,
        metadata={
            "help": "Anchor dictionary JSON: its keys' first tokens (with and without a leading space) are the "
            "target tokens of probability familiarity."
        },
    )
    target_terms: list[str] | None = field(
        default=None,
        metadata={
            "help": "Explicit target terms for probability familiarity (instead of, or with, --anchor_dictionary)."
        },
    )
    exclude_target_words: list[str] | None = field(
        default=None,
        metadata={
            "help": "Leave out target tokens whose text is one of these words (e.g. --exclude_target_words the a): "
            "anchor terms such as 'the Dursleys' otherwise make ' the' a target."
        },
    )
    output_dir: str = field(default="familiarity", metadata={"help": "Where familiarity.json and .md are written."})
    num_samples: int = field(default=5, metadata={"help": "Sampled completions per completion prompt."})
    max_new_tokens: int = field(default=32, metadata={"help": "Longest completion, in tokens."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature of completions."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling of completions (1.0: off)."})
    seed: int = field(default=0, metadata={"help": "Seed of the sampled completions (same for every model)."})
    batch_size: int = field(default=8, metadata={"help": "Prompts per forward / generate call."})
    max_prompts: int | None = field(default=None, metadata={"help": "Only the first N prompts of each file."})
    dtype: str = field(default="float32", metadata={"help": "Model dtype: float32, bfloat16, float16 or auto."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow models' own code (off unless asked)."})


# The rows of the familiarity table: (section of a result, key, title).
FAMILIARITY_ROWS = [
    ("completion", "familiar_rate", "completion: familiar completions"),
    ("completion", "weighted_score", "completion: WHP weighted score"),
    ("completion", "prompt_familiar_rate", "completion: prompts with a familiar completion"),
    ("probability", "mean_target_probability", "probability: mass on target tokens"),
]


def format_familiarity_table(results: list[dict]) -> str:
    """Markdown table: one row per measure, one column per model (first = before)."""
    header = ["measure"] + [result["model"] for result in results]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for section, key, title in FAMILIARITY_ROWS:
        if any(section in result for result in results):
            cells = [f"{result[section][key]:.4f}" if section in result else "-" for result in results]
            lines.append("| " + " | ".join([title] + cells) + " |")
    return "\n".join(lines)


def measure_familiarity(args: FamiliarityArguments) -> list[dict]:
    """Measure every model of ``args`` (one in memory at a time), write ``familiarity.json`` (settings, results with
    every completion) and ``familiarity.md`` (the table) into ``args.output_dir``; returns the per-model results.

    Every input is read and checked before the first model is loaded."""
    # Imported here: geounlearn_trl.methods.selective.anchors imports this module (find_reference), and the model
    # loader brings in transformers and TRL, which reading and checking prompt files does not need.
    from ..methods.selective.anchors import load_anchor_dictionary
    from ..models import load_evaluated_model

    if not (args.completion_prompts or args.probability_prompts):
        raise ValueError("nothing to measure: give --completion_prompts and/or --probability_prompts")
    if args.probability_prompts and not (args.anchor_dictionary or args.target_terms):
        raise ValueError("--probability_prompts needs target tokens: give --anchor_dictionary or --target_terms")
    if not args.model:
        raise ValueError("give at least one --model")
    # Read and validate every input before loading any model.
    completion_prompts = load_completion_prompts(args.completion_prompts) if args.completion_prompts else None
    probability_prompts = load_probability_prompts(args.probability_prompts) if args.probability_prompts else None
    if args.max_prompts is not None:
        completion_prompts = completion_prompts[: args.max_prompts] if completion_prompts else completion_prompts
        probability_prompts = probability_prompts[: args.max_prompts] if probability_prompts else probability_prompts
    terms = list(load_anchor_dictionary(args.anchor_dictionary)) if args.anchor_dictionary else []
    terms += list(args.target_terms or [])
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    results = []
    for name in args.model:
        evaluated = load_evaluated_model(name, dtype=args.dtype, trust_remote_code=args.trust_remote_code)
        print(f"== {evaluated.description}", flush=True)
        result: dict = {"model": name, "description": evaluated.description}
        if completion_prompts:
            result["completion"] = completion_familiarity(
                evaluated.model,
                evaluated.tokenizer,
                completion_prompts,
                num_samples=args.num_samples,
                max_new_tokens=args.max_new_tokens,
                seed=args.seed,
                batch_size=args.batch_size,
                temperature=args.temperature,
                top_p=args.top_p,
            )
        if probability_prompts:
            ids = target_token_ids(evaluated.tokenizer, terms, exclude_words=args.exclude_target_words or ())
            result["probability"] = probability_familiarity(
                evaluated.model, evaluated.tokenizer, probability_prompts, ids, batch_size=args.batch_size
            )
        results.append(result)
        del evaluated
        gc.collect()  # one model in memory at a time

    table = format_familiarity_table(results)
    payload = {"settings": asdict(args), "results": results}
    write_text_atomic(output_dir / "familiarity.json", json.dumps(payload, ensure_ascii=False, indent=2))
    write_text_atomic(output_dir / "familiarity.md", table + "\n")
    print(table)
    print(f"results: {output_dir / 'familiarity.json'}")
    return results


def familiarity(args: FamiliarityArguments) -> int:
    """``geounlearn-trl familiarity`` as a typed function: :func:`measure_familiarity`. Returns the exit status: 0, or
    1 after one line on stderr for a bad prompt or anchor file, a missing file or flags that don't fit together."""
    # Imported here: geounlearn_trl.methods.selective.anchors imports this module.
    from ..methods.selective.anchors import AnchorDictionaryError

    try:
        measure_familiarity(args)
    except (PromptFormatError, AnchorDictionaryError, ValueError, FileNotFoundError) as error:
        print(f"geounlearn-trl familiarity: {error}", file=sys.stderr)
        return 1
    return 0
