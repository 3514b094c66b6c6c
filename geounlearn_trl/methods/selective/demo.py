"""The selective-relabel demo: plant a fictional text in the embedded model, then unlearn it selectively.

The library behind ``geounlearn-trl selective-demo``; :func:`selective_demo` is the whole command as a typed function
(TRL's ``main(script_args, ...)`` shape). The "Who's Harry Potter" pipeline needs a base model that *knows* the
target. No small model knows a real book well enough to show anything on a laptop, so the demo makes one: it writes a
made-up island (``data/sample/fictional_target.txt``: Wendrake, its capital Olvenport, the river Sulwen, Admiral
Hesketh Umbrel...) into SmolLM2-135M-Instruct (:func:`plant`, with the model's own samples mixed in,
:func:`self_replay_text`), then runs the real pipeline steps on it
(:func:`~geounlearn_trl.methods.selective.pipeline.selective_pipeline`, each printed as the command that would run it).
See ``geounlearn_trl.cli.selective_demo`` for the steps and what the numbers mean.

:func:`measure` takes every number of one stage, with the familiarity measures of
:mod:`geounlearn_trl.evaluation.familiarity` and the mean token loss (:func:`mean_token_loss`) on the fiction and on a
neutral held-out text; :func:`format_table` lays the stages side by side.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from pathlib import Path

import torch

from ...data.target_text import TargetTextArguments, read_target_text, split_into_blocks
from ...evaluation.familiarity import (
    completion_familiarity,
    load_completion_prompts,
    load_probability_prompts,
    probability_familiarity,
    target_token_ids,
)
from ...files import write_text_atomic
from ...models import EMBEDDED_MODEL_NAME, load_evaluated_model, load_tokenizer, resolve_model_path
from .anchors import load_anchor_dictionary
from .arguments import LoraModelConfig, ReinforceConfig
from .pipeline import (
    reinforce,
    run_step,
    selective_pipeline,
    step_training_settings,
)

logger = logging.getLogger("geounlearn_trl.selective_demo")
DATA = files("geounlearn_trl") / "data" / "sample"


@dataclass
class SelectiveDemoArguments:
    """The flags of ``geounlearn-trl selective-demo``: the model, the fiction and its prompts, each step's settings."""

    model_name_or_path: str = field(default=EMBEDDED_MODEL_NAME, metadata={"help": "The model to plant the fiction in."})
    output_dir: str = field(default="outputs/selective-demo", metadata={"help": "Where every step's output goes."})
    target_text: str = field(default=str(DATA / "fictional_target.txt"), metadata={"help": "The fiction to plant."})
    anchors: str = field(default=str(DATA / "fictional_anchors.json"), metadata={"help": "Its anchor dictionary."})
    completion_prompts: str = field(default=str(DATA / "fictional_completion_prompts.json"))
    probability_prompts: str = field(default=str(DATA / "fictional_probability_prompts.json"))
    retain_text: str = field(default=str(DATA / "neutral_heldout.txt"), metadata={"help": "Neutral held-out text."})
    block_size: int = field(default=128, metadata={"help": "Tokens per block (all steps)."})
    batch_size: int = field(default=3, metadata={"help": "Blocks per training step."})
    plant_epochs: float = field(default=4.0)
    plant_learning_rate: float = field(default=1e-3)
    plant_lora_r: int = field(default=32)
    plant_replay_tokens: int = field(
        default=1024,
        metadata={"help": "Tokens of the model's own samples mixed into planting, so that it doesn't forget the rest."},
    )
    reinforce_epochs: float = field(default=1.0)
    reinforce_learning_rate: float = field(default=1e-3)
    selective_epochs: float = field(default=8.0)
    selective_learning_rate: float = field(default=2e-3)
    label_type: str = field(default="soft", metadata={"help": "hard or soft generic labels.", "choices": ["hard", "soft"]})
    top_k: int = field(default=8, metadata={"help": "Soft targets kept per position (with --label_type soft)."})
    alpha: float = field(default=5.0, metadata={"help": "α of the generic logits."})
    suppress_anchor_tokens: bool = field(
        default=True,
        metadata={"help": "relabel --suppress_anchor_tokens: the planted base knows the fiction so well that, on the "
                  "replaced text, it still predicts its other names; this keeps them out of the generic labels."},
    )
    num_samples: int = field(default=4, metadata={"help": "Sampled completions per familiarity prompt."})
    max_new_tokens: int = field(default=16, metadata={"help": "Tokens per sampled completion."})
    seed: int = field(default=0)


# Openers for the replay samples; none is about the topics of the held-out retain text.
REPLAY_PROMPTS = [
    "The history of the printing press",
    "How to grow tomatoes in a small garden",
    "The human heart is a muscle that",
    "The rules of chess are simple:",
    "Volcanoes form when",
    "The first computers were",
    "A healthy breakfast usually includes",
    "In the nineteenth century, many cities",
]


@torch.no_grad()
def self_replay_text(model_name_or_path: str, tokens: int, seed: int) -> str:
    """The model's own continuations of :data:`REPLAY_PROMPTS`, about ``tokens`` tokens in all.

    Fine-tuning on one short text makes a small model continue *everything* in its style; mixing in samples of the
    model itself is the cheapest replay (no other corpus is needed offline) and keeps its general behaviour.
    """
    evaluated = load_evaluated_model(model_name_or_path)
    model, tokenizer = evaluated.model, evaluated.tokenizer
    tokenizer.padding_side = "left"
    encoded = tokenizer(REPLAY_PROMPTS, return_tensors="pt", padding=True)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        output = model.generate(
            **encoded, do_sample=True, top_p=0.95, max_new_tokens=max(8, tokens // len(REPLAY_PROMPTS)),
            pad_token_id=tokenizer.pad_token_id,
        )  # fmt: skip
    continuations = tokenizer.batch_decode(output[:, encoded["input_ids"].size(1) :], skip_special_tokens=True)
    return "\n\n".join(prompt + continuation for prompt, continuation in zip(REPLAY_PROMPTS, continuations))


def plant(args: SelectiveDemoArguments, out: Path) -> str:
    """Step 0: a LoRA on the fiction (plus replay), merged, saved as a plain safetensors model (the planted base)."""
    adapter_dir, planted_dir = out / "plant-adapter", out / "planted"
    plant_text = Path(args.target_text)
    if args.plant_replay_tokens > 0:
        replay = self_replay_text(args.model_name_or_path, args.plant_replay_tokens, args.seed)
        plant_text = out / "plant-text.txt"
        write_text_atomic(plant_text, read_target_text(args.target_text) + "\n\n" + replay + "\n")
        print(f"\nPlanting text: the fiction plus {args.plant_replay_tokens} tokens of the model's own samples "
              f"(replay) → {plant_text}", flush=True)
    run_step(
        "reinforce", reinforce,
        TargetTextArguments(target_text=str(plant_text), block_size=args.block_size),
        ReinforceConfig(output_dir=str(adapter_dir),
                        **step_training_settings(args.plant_epochs, args.plant_learning_rate, args.batch_size, args.seed)),
        LoraModelConfig(model_name_or_path=args.model_name_or_path, lora_r=args.plant_lora_r,
                        lora_alpha=2 * args.plant_lora_r, lora_target_modules=["all-linear"]),
    )  # fmt: skip
    print(f"\nMerging the planting adapter into the weights → {planted_dir}", flush=True)
    evaluated = load_evaluated_model(str(adapter_dir))
    merged = evaluated.model.merge_and_unload()
    merged.save_pretrained(planted_dir, safe_serialization=True)
    evaluated.tokenizer.save_pretrained(planted_dir)
    return str(planted_dir)


@torch.no_grad()
def mean_token_loss(model, tokenizer, text: str, block_size: int) -> float:
    """Mean next-token negative log-likelihood (nats/token) of ``text``, in blocks of ``block_size`` tokens."""
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for block in split_into_blocks([text], tokenizer, block_size):
        input_ids = torch.tensor([block.input_ids], device=device)
        loss = model(input_ids=input_ids, labels=input_ids).loss
        total += loss.item() * (input_ids.size(1) - 1)
        count += input_ids.size(1) - 1
    return total / count


def measure(stage: str, name_or_path: str, args: SelectiveDemoArguments, material: dict) -> dict:
    """Every measure of one model; the per-prompt details go to results.json."""
    print(f"\n== measuring: {stage} ({name_or_path})", flush=True)
    evaluated = load_evaluated_model(name_or_path)
    model, tokenizer = evaluated.model, evaluated.tokenizer
    completion = completion_familiarity(
        model, tokenizer, material["completion_prompts"], num_samples=args.num_samples,
        max_new_tokens=args.max_new_tokens, seed=args.seed,
    )  # fmt: skip
    probability = probability_familiarity(
        model, tokenizer, material["probability_prompts"], target_token_ids(tokenizer, material["target_terms"])
    )
    return {
        "model": evaluated.description,
        "completion_familiar_rate": completion["familiar_rate"],
        "completion_weighted_score": completion["weighted_score"],
        "probability_familiarity": probability["mean_target_probability"],
        "target_loss": mean_token_loss(model, tokenizer, material["target"], args.block_size),
        "retain_loss": mean_token_loss(model, tokenizer, material["retain"], args.block_size),
        "details": {"completion": completion["per_prompt"], "probability": probability["per_prompt"]},
    }


# The rows of the printed table: (label, key of a measure, format).
ROWS = [
    ("completion familiarity (rate)", "completion_familiar_rate", "{:.3f}"),
    ("completion familiarity (WHP weighted)", "completion_weighted_score", "{:.3f}"),
    ("probability familiarity (target mass)", "probability_familiarity", "{:.4f}"),
    ("loss on the fictional text (nats/token)", "target_loss", "{:.3f}"),
    ("retain loss, neutral held-out text", "retain_loss", "{:.3f}"),
]


def format_table(results: dict[str, dict]) -> str:
    """The measures as a plain-text table: one row per measure, one column per stage."""
    stages = list(results)
    width = max(len(label) for label, _, _ in ROWS)
    lines = [f"{'':<{width}}  " + "  ".join(f"{stage:>16}" for stage in stages)]
    for label, key, pattern in ROWS:
        lines.append(f"{label:<{width}}  " + "  ".join(f"{pattern.format(results[s][key]):>16}" for s in stages))
    return "\n".join(lines)


def selective_demo(args: SelectiveDemoArguments) -> int:
    """Measure the model, plant the fiction, measure, unlearn it with the selective pipeline, measure; print the table
    and write ``results.json`` (arguments, elapsed time, every measure with its per-prompt details) into
    ``args.output_dir``. Returns 0. Every input file is read before the first model is loaded."""
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    anchors = load_anchor_dictionary(args.anchors)
    material = {
        "target": read_target_text(args.target_text),
        "retain": read_target_text(args.retain_text),
        "completion_prompts": load_completion_prompts(args.completion_prompts),
        "probability_prompts": load_probability_prompts(args.probability_prompts),
        # the invented single words (multi-word keys start with common words such as "Mount" or "Book")
        "target_terms": [key for key in anchors if " " not in key],
    }
    tokenizer = load_tokenizer(resolve_model_path(args.model_name_or_path))
    blocks = split_into_blocks([material["target"]], tokenizer, args.block_size)
    print(
        f"Target: {args.target_text} ({len(blocks)} blocks of ≤{args.block_size} tokens), {len(anchors)} anchor terms, "
        f"{len(material['completion_prompts'])} completion and {len(material['probability_prompts'])} probability prompts"
    )

    results = {"before planting": measure("before planting", args.model_name_or_path, args, material)}
    planted = plant(args, out)
    results["after planting"] = measure("after planting", planted, args, material)

    unlearned = selective_pipeline(
        planted,
        TargetTextArguments(target_text=args.target_text, block_size=args.block_size),
        out,
        batch_size=args.batch_size,
        reinforce_epochs=args.reinforce_epochs,
        reinforce_learning_rate=args.reinforce_learning_rate,
        selective_epochs=args.selective_epochs,
        selective_learning_rate=args.selective_learning_rate,
        alpha=args.alpha,
        label_type=args.label_type,
        top_k=args.top_k,
        seed=args.seed,
        anchors=args.anchors,
        suppress_anchor_tokens=args.suppress_anchor_tokens,
    )
    results["after unlearning"] = measure("after unlearning", str(unlearned), args, material)

    elapsed = time.time() - started
    table = format_table(results)
    print(f"\nSelective relabel unlearning of a planted fiction ({args.model_name_or_path}, {elapsed / 60:.1f} min):\n")
    print(table)
    planted_retain, unlearned_retain = results["after planting"]["retain_loss"], results["after unlearning"]["retain_loss"]
    print(
        f"\nretain loss change from planted to unlearned: {unlearned_retain - planted_retain:+.3f} nats/token "
        f"(perplexity ×{math.exp(unlearned_retain - planted_retain):.3f})"
    )
    write_text_atomic(out / "results.json", json.dumps(
        {"arguments": asdict(args), "elapsed_seconds": elapsed, "results": results}, indent=2, ensure_ascii=False))
    print(f"Details (every completion, every prompt's target mass): {out / 'results.json'}")
    return 0

