"""``geounlearn-trl compare``: gradient ascent vs selective relabeling on the same stereotype questions, same metrics.

Both methods unlearn the same training rows of the shipped sample MCQ set (the held-out split of every command,
``--eval_fraction``/``--split_seed``) from the same base model, and the base and both methods are measured by
:mod:`geounlearn_trl.evaluation` on the same held-out stereotype questions, disambiguated items, control questions and
retain texts, in every language of ``--eval_languages``, each method paired against the base:

1. **gradient ascent**: ``geounlearn-trl demo --config <--gradient_ascent_recipe>`` (it also measures the base model,
   with its adapter disabled: the "base" column);
2. **selective relabeling**: ``reinforce`` → ``relabel`` → ``selective`` on the stereotyped statements of the same
   training rows (``--mcq_dataset`` with the same split flags), identities as anchors with
   the language's generic person terms ("a person", "someone") as replacements; then measured.

The tables put each method's paired change beside the base, the cost columns (disambiguated accuracy, control
accuracy, retain perplexity) beside the stereotype ones: a method that lowers stereotype picks by making the model answer "unknown" to everything
shows up as broken. ``compare_results.json`` in ``--output_dir`` holds every number.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..evaluation import (
    MeasurementArguments,
    ScoringSettings,
    build_eval_set,
    format_report,
    measure_model,
    summarise,
    verdicts,
)
from ..familiarity import load_evaluated_model
from ..files import write_json_atomic, write_text_atomic
from ..mcq import SplitArguments, held_out_split, load_mcq
from ..prompting import wants_chat_template
from ..unlearn_data import hold_out_retain, load_retain, parse_languages, sample_control_path, sample_mcq_path, sample_retain_path
from . import demo as demo_command
from . import reinforce as reinforce_command
from . import relabel as relabel_command
from . import selective as selective_command
from .common import parse_flags, setup_logging
from .selective_demo import run_command, training_flags

logger = logging.getLogger("geounlearn_trl.compare")
CHECKOUT_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "gradient_ascent" / "gemma3_270m_cpu_lora.yaml"


@dataclass
class CompareArguments:
    output_dir: str = field(default="outputs/compare", metadata={"help": "Where both methods' outputs go."})
    model_name_or_path: str = field(default="gemma-3-270m", metadata={"help": "The base model of both."})
    language: str = field(default="en", metadata={"help": "Language unlearned (sample data of this language)."})
    seed: int = field(default=42, metadata={"help": "Option shuffling and training seed of both methods."})
    prompt_style: str = field(default="cloze", metadata={"help": "How questions are shown when measuring (and to GA)."})
    gradient_ascent_recipe: str = field(
        default=str(CHECKOUT_RECIPE), metadata={"help": "Recipe of the gradient-ascent run (the `make demo` one)."}
    )
    block_size: int = field(default=64, metadata={"help": "Tokens per block (a statement is one short block)."})
    batch_size: int = field(default=8, metadata={"help": "Blocks per step of reinforce and selective."})
    # One untuned setting (its measured result is in bench/RESULTS.md); the gradient-ascent side is the tuned demo.
    reinforce_epochs: float = field(default=2.0, metadata={"help": "Epochs of reinforce on the statements."})
    reinforce_learning_rate: float = field(default=5e-4)
    selective_epochs: float = field(default=2.0, metadata={"help": "Epochs of selective on the relabeled statements."})
    selective_learning_rate: float = field(default=5e-4)
    alpha: float = field(default=5.0, metadata={"help": "α of the generic logits."})
    label_type: str = field(default="hard", metadata={"help": "hard or soft generic labels.", "choices": ["hard", "soft"]})
    top_k: int = field(default=8, metadata={"help": "Soft targets kept per position (with --label_type soft)."})


def run_selective(args: CompareArguments, split_args: SplitArguments, out: Path) -> Path:
    """reinforce → relabel → selective on the training rows' stereotyped statements; returns the adapter folder."""
    target = [
        "--mcq_dataset", str(sample_mcq_path(args.language)), "--language", args.language,
        "--eval_fraction", str(split_args.eval_fraction), "--split_seed", str(split_args.split_seed),
        "--block_size", str(args.block_size),
    ]  # fmt: skip
    run_command(
        "reinforce", reinforce_command,
        ["--model_name_or_path", args.model_name_or_path, *target, "--output_dir", str(out / "reinforced"),
         *training_flags(args, args.reinforce_epochs, args.reinforce_learning_rate)],
    )  # fmt: skip
    run_command(
        "relabel", relabel_command,
        ["--model_name_or_path", args.model_name_or_path, "--reinforced_adapter", str(out / "reinforced"), *target,
         "--alpha", str(args.alpha), "--top_k", str(args.top_k if args.label_type == "soft" else 0),
         "--seed", str(args.seed), "--output_dir", str(out / "relabeled"), "--overwrite_output_dir", "true"],
    )  # fmt: skip
    run_command(
        "selective", selective_command,
        ["--model_name_or_path", args.model_name_or_path, "--relabeled_dataset", str(out / "relabeled"),
         "--label_type", args.label_type, "--output_dir", str(out / "selective"),
         *training_flags(args, args.selective_epochs, args.selective_learning_rate)],
    )  # fmt: skip
    return out / "selective"


def questions_digest(measured) -> str:
    shown = [[a.presented.prompt, a.presented.options] for a in measured.answers]
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    setup_logging(logging.WARNING)
    args, split_args, measure_args = parse_flags((CompareArguments, SplitArguments, MeasurementArguments), argv)
    if not Path(args.gradient_ascent_recipe).is_file():
        raise FileNotFoundError(
            f"--gradient_ascent_recipe {args.gradient_ascent_recipe} not found (the recipes ship in the source "
            "checkout: recipes/gradient_ascent/gemma3_270m_cpu_lora.yaml)."
        )
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    shared = [
        "--model_name_or_path", args.model_name_or_path, "--language", args.language, "--seed", str(args.seed),
        "--eval_fraction", str(split_args.eval_fraction), "--split_seed", str(split_args.split_seed),
        "--prompt_style", args.prompt_style,
    ]  # fmt: skip
    run_command(
        "demo", demo_command,
        ["--config", args.gradient_ascent_recipe, *shared, "--eval_languages", args.language,
         "--eval_batch_size", str(measure_args.eval_batch_size), "--scoring_rule", measure_args.scoring_rule,
         "--output_dir", str(out / "gradient_ascent")],
    )  # fmt: skip
    adapters = {"gradient ascent": out / "gradient_ascent", "selective relabeling": run_selective(args, split_args, out)}

    split = held_out_split(load_mcq(sample_mcq_path(args.language)), split_args.eval_fraction, split_args.split_seed)
    eval_sets = [
        build_eval_set(language, load_mcq(sample_mcq_path(language)).select(split.eval),
                       load_mcq(sample_control_path(language), is_control=True),
                       hold_out_retain(load_retain(sample_retain_path(language)), measure_args.max_retain_texts)[1],
                       args.seed, measure_args)
        for language in parse_languages(measure_args.eval_languages)
    ]  # fmt: skip
    measured = {}
    for name, path in {"base": args.model_name_or_path, **{k: str(v) for k, v in adapters.items()}}.items():
        print(f"\n== measuring: {name} ({path})", flush=True)
        evaluated = load_evaluated_model(path)
        settings = ScoringSettings(args.seed, args.prompt_style, measure_args.scoring_rule,
                                   wants_chat_template(evaluated.tokenizer, None), measure_args.eval_batch_size)
        measured[name] = [measure_model(evaluated.model, evaluated.tokenizer, eval_set, settings) for eval_set in eval_sets]
    summaries = {name: summarise(measured[name], measured["base"], measure_args, seed=args.seed) for name in adapters}
    elapsed = time.time() - started
    report = [f"Unlearning {args.language} stereotypes ({args.model_name_or_path}, {elapsed / 60:.1f} min; scoring rule "
              f"{measure_args.scoring_rule}, held-out split {split.describe()}); each method paired against the base:"]
    for name, summary in summaries.items():
        report += [f"\n### {name}\n", format_report(summary, [args.language]), "", *verdicts(summary, [args.language])]
    text = "\n".join(report)
    print("\n" + text + "\n")
    write_json_atomic(out / "compare_results.json", {
        "arguments": asdict(args), "split": split.describe(), "elapsed_seconds": elapsed, "results": summaries,
        # What each model was asked, per language: equal digests mean the very same prompts and options.
        "questions_sha256": {name: {m.language: questions_digest(m) for m in by_language}
                             for name, by_language in measured.items()},
    })
    write_text_atomic(out / "compare_results.md", text + "\n")
    print(f"Details: {out / 'compare_results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
