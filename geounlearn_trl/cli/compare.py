"""``geounlearn-trl compare``: gradient ascent vs selective relabeling on the same stereotype questions, same metrics.

Both methods unlearn the same training rows of the shipped sample MCQ set (the pair-disjoint split of ``demo``) from
the same base model, and both are measured by the same :class:`~geounlearn_trl.cli.demo.Evaluator` on the same
held-out stereotype questions, control questions and retain texts, in every language of ``--eval_languages``:

1. **gradient ascent**: ``geounlearn-trl demo --config <--gradient_ascent_recipe>`` (it also measures the base model,
   with its adapter disabled: the "base" column);
2. **selective relabeling**: ``reinforce`` → ``relabel`` → ``selective`` on the stereotyped statements of the same
   training rows (``--mcq_dataset`` with ``--mcq_eval_fraction``/``--mcq_split_seed``), identities as anchors with
   the language's generic person terms ("a person", "someone") as replacements; then measured.

The table puts the three side by side, the cost columns (control accuracy, control "unknown", retain perplexity)
beside the stereotype ones: a method that lowers stereotype picks by making the model answer "unknown" to everything
shows up as broken. ``compare_results.json`` in ``--output_dir`` holds every number.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..familiarity import load_evaluated_model
from ..mcq import load_mcq, pair_split_indices
from ..prompting import wants_chat_template
from ..unlearn_data import parse_languages, sample_mcq_path
from . import demo as demo_command
from . import reinforce as reinforce_command
from . import relabel as relabel_command
from . import selective as selective_command
from .common import parse_flags, setup_logging
from .demo import DemoArguments, Evaluator, Measurement, build_eval_sets
from .selective_demo import run_command, training_flags

logger = logging.getLogger("geounlearn_trl.compare")
CHECKOUT_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "gradient_ascent" / "smollm2_cpu_lora.yaml"


@dataclass
class CompareArguments:
    output_dir: str = field(default="outputs/compare", metadata={"help": "Where both methods' outputs go."})
    model_name_or_path: str = field(default="smollm2-135m-instruct", metadata={"help": "The base model of both."})
    language: str = field(default="en", metadata={"help": "Language unlearned (sample data of this language)."})
    eval_languages: str = field(default="en,fr,hi", metadata={"help": "Languages measured."})
    eval_fraction: float = field(default=0.2, metadata={"help": "Fraction of (identity, attribute) pairs held out."})
    seed: int = field(default=42, metadata={"help": "Split, option shuffling and training seed of both methods."})
    prompt_style: str = field(default="cloze", metadata={"help": "How questions are shown when measuring (and to GA)."})
    eval_batch_size: int = field(default=32, metadata={"help": "(prompt, option) pairs per scoring forward pass."})
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


def run_selective(args: CompareArguments, out: Path) -> Path:
    """reinforce → relabel → selective on the training rows' stereotyped statements; returns the adapter folder."""
    target = [
        "--mcq_dataset", str(sample_mcq_path(args.language)), "--language", args.language,
        "--mcq_eval_fraction", str(args.eval_fraction), "--mcq_split_seed", str(args.seed),
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


COLUMNS = [
    ("stereotype picks (↓)", "stereotype_rate", "{:.0%}"),
    ("unknown (↑)", "unknown_rate", "{:.0%}"),
    ("control accuracy (≈ base)", "control_accuracy", "{:.0%}"),
    ("control unknown (≈ base)", "control_unknown_rate", "{:.0%}"),
    ("retain perplexity (≈ base)", "retain_perplexity", "{:.2f}"),
]


def format_table(results: dict[str, dict[str, Measurement]], trained_language: str) -> str:
    """One row per language, each cell ``base / gradient ascent / selective``."""
    methods = list(results)
    lines = [
        "| language | n (stereo/control) | " + " | ".join(name for name, _, _ in COLUMNS) + " |",
        "|" + "---|" * (len(COLUMNS) + 2),
    ]
    for language in results[methods[0]]:
        first = results[methods[0]][language]
        cells = [" / ".join(pattern.format(getattr(results[m][language], key)) for m in methods) for _, key, pattern in COLUMNS]
        tag = " (trained)" if language == trained_language else ""
        lines.append(f"| {language}{tag} | {first.n_stereotype}/{first.n_control} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    setup_logging(logging.WARNING)
    (args,) = parse_flags((CompareArguments,), argv)
    if not Path(args.gradient_ascent_recipe).is_file():
        raise FileNotFoundError(
            f"--gradient_ascent_recipe {args.gradient_ascent_recipe} not found (the recipes ship in the source "
            "checkout: recipes/gradient_ascent/smollm2_cpu_lora.yaml)."
        )
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    shared = [
        "--model_name_or_path", args.model_name_or_path, "--language", args.language, "--seed", str(args.seed),
        "--eval_fraction", str(args.eval_fraction), "--prompt_style", args.prompt_style,
    ]  # fmt: skip
    run_command(
        "demo", demo_command,
        ["--config", args.gradient_ascent_recipe, *shared, "--eval_languages", args.eval_languages,
         "--eval_batch_size", str(args.eval_batch_size), "--output_dir", str(out / "gradient_ascent")],
    )  # fmt: skip
    with open(out / "gradient_ascent" / "demo_results.json", encoding="utf-8") as handle:
        ga_results = json.load(handle)
    adapter = run_selective(args, out)

    print(f"\n== measuring: selective relabeling ({adapter})", flush=True)
    evaluated = load_evaluated_model(str(adapter))
    tokenizer = evaluated.tokenizer
    mcq = load_mcq(sample_mcq_path(args.language))
    _, held_out_indices = pair_split_indices(mcq, args.eval_fraction, args.seed)
    eval_sets = build_eval_sets(
        parse_languages(args.eval_languages), held_out_indices, DemoArguments(eval_batch_size=args.eval_batch_size)
    )
    evaluator = Evaluator(tokenizer, args.seed, wants_chat_template(tokenizer, None), args.eval_batch_size, args.prompt_style)
    selective = evaluator.measure_all(evaluated.model, eval_sets, "selective")

    results = {
        "base": {language: Measurement(**values) for language, values in ga_results["before"].items()},
        "gradient ascent": {language: Measurement(**values) for language, values in ga_results["after"].items()},
        "selective relabeling": selective,
    }
    table = format_table(results, args.language)
    elapsed = time.time() - started
    print(f"\nUnlearning {args.language} stereotypes, base / gradient ascent / selective relabeling "
          f"({args.model_name_or_path}, {elapsed / 60:.1f} min; held-out stereotype questions, control questions, "
          f"retain text):\n\n{table}\n")
    with open(out / "compare_results.json", "w", encoding="utf-8") as handle:
        json.dump(
            {"arguments": asdict(args), "elapsed_seconds": elapsed,
             "results": {method: {language: asdict(m) for language, m in by_language.items()}
                         for method, by_language in results.items()}},
            handle, indent=2, ensure_ascii=False,
        )  # fmt: skip
    (out / "compare_results.md").write_text(table + "\n", encoding="utf-8")
    print(f"Details: {out / 'compare_results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
