"""Methods compared on the very same held-out questions: one base measurement, each method paired against it.

Every method of ``--methods`` unlearns the same training rows (the held-out split of every command) of the shipped
sample of ``--language`` from the same base model, with its recipe ``recipes/<method>/<--recipe_name>`` and the shared
settings (model, language, seed, split, prompt style) forced to be the same; the base is measured once, each method
after, by :mod:`geounlearn_trl.evaluation.measurement` on the same stereotype questions, disambiguated items, control
questions and retain texts. Selective relabeling (``selective_relabel``, or ``selective``) runs its reinforce →
relabel → selective pipeline on the stereotyped statements of the same training rows.

The result is one table (each method's paired changes beside its costs, with CIs) and one plot, forgetting against
what it cost: a method that lowers stereotype picks by answering "unknown" to everything shows up as broken.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trl import TrlParser

from ..data.mcq import SplitArguments
from ..data.target_text import TargetTextArguments
from ..data.unlearning import RETAIN_SOURCES, sample_mcq_path
from ..files import write_json_atomic, write_text_atomic
from ..methods import METHODS, PAIRED_METHODS
from ..methods.checkpoints import save_model_atomically
from ..methods.training import apply_original_flags
from ..models import EMBEDDED_MODEL_NAME
from ..models import load_evaluated_model
from .measurement import MeasurementArguments, format_methods_table, format_report, summarise, verdicts
from .plots import plot_forgetting_vs_cost
from .unlearning_run import measure_all, prepare_run, run_and_measure, run_argument_types

logger = logging.getLogger("geounlearn_trl.compare")
CHECKOUT_RECIPES = Path(__file__).resolve().parents[2] / "recipes"
METHOD_ALIASES = {"selective": "selective_relabel"}
COST_METRICS = ("disambiguated_accuracy", "control_accuracy")


@dataclass
class CompareArguments:
    output_dir: str = field(default="outputs/compare", metadata={"help": "Where every method's outputs go."})
    methods: str = field(
        default="gradient_ascent,npo,simnpo,idk_dpo,selective",
        metadata={"help": f"Comma-separated methods ({', '.join(METHODS)}; 'selective' = selective_relabel); "
                          "'method@disambiguated' or 'method@text' runs a method with that retain source (both may "
                          "appear: the retain sets compared)."},
    )
    model_name_or_path: str = field(default=EMBEDDED_MODEL_NAME, metadata={"help": "The base model of every method."})
    language: str = field(default="en", metadata={"help": "Language unlearned (sample data of this language)."})
    seed: int = field(default=42, metadata={"help": "Option shuffling and training seed of every method."})
    prompt_style: str = field(default="cloze", metadata={"help": "How questions are shown (training and measuring)."})
    recipes_dir: str = field(default=str(CHECKOUT_RECIPES), metadata={"help": "Folder of recipes/<method>/ files."})
    recipe_name: str = field(default="gemma3_270m_cpu_lora.yaml", metadata={"help": "Recipe file in each method's folder."})
    retain_source: str | None = field(
        default=None, metadata={"help": "Override every recipe's retain source (text or disambiguated)."}
    )
    max_steps: int | None = field(default=None, metadata={"help": "Override every recipe's max_steps."})
    block_size: int = field(default=64, metadata={"help": "selective: tokens per block (a statement is one block)."})
    batch_size: int = field(default=8, metadata={"help": "selective: blocks per step of reinforce and selective."})
    # One untuned setting (its measured result is in bench/RESULTS.md).
    reinforce_epochs: float = field(default=2.0, metadata={"help": "selective: epochs of reinforce on the statements."})
    reinforce_learning_rate: float = field(default=5e-4)
    selective_epochs: float = field(default=2.0, metadata={"help": "selective: epochs on the relabeled statements."})
    selective_learning_rate: float = field(default=5e-4)
    alpha: float = field(default=5.0, metadata={"help": "selective: α of the generic logits."})
    label_type: str = field(default="hard", metadata={"help": "selective: hard or soft generic labels.",
                                                      "choices": ["hard", "soft"]})
    top_k: int = field(default=8, metadata={"help": "selective: soft targets kept per position (label_type soft)."})


def split_entry(entry: str) -> tuple[str, str | None]:
    """``"npo@disambiguated"`` → ``("npo", "disambiguated")``; ``"npo"`` → ``("npo", None)``."""
    method, _, retain_source = entry.partition("@")
    return method, retain_source or None


def requested_methods(args: CompareArguments) -> list[str]:
    """The entries of ``--methods`` (aliases resolved), paired methods first: the first one measures the base."""
    names = []
    for name in (name.strip() for name in args.methods.split(",")):
        if name:
            method, retain_source = split_entry(name)
            method = METHOD_ALIASES.get(method, method)
            if retain_source is not None and (retain_source not in RETAIN_SOURCES or method not in PAIRED_METHODS):
                raise ValueError(f"--methods {name}: '@' takes one of {', '.join(RETAIN_SOURCES)}, after one of "
                                 f"{', '.join(PAIRED_METHODS)}")
            names.append(f"{method}@{retain_source}" if retain_source else method)
    unknown = [name for name in names if split_entry(name)[0] not in METHODS]
    if unknown:
        raise ValueError(f"--methods: unknown {', '.join(unknown)}; known: {', '.join(METHODS)} (and 'selective')")
    if not any(split_entry(name)[0] in PAIRED_METHODS for name in names):
        raise ValueError(f"--methods needs at least one of {', '.join(PAIRED_METHODS)}: it measures the base and "
                         "builds the held-out items every method is measured on")
    # Paired methods first: the first one measures the base.
    return sorted(dict.fromkeys(names), key=lambda name: split_entry(name)[0] not in PAIRED_METHODS)


def recipe_path(args: CompareArguments, method: str) -> Path:
    path = Path(args.recipes_dir) / method / args.recipe_name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no recipe for {method} (the recipes ship in the source checkout: "
                                f"recipes/<method>/{args.recipe_name}); set --recipes_dir or --recipe_name")
    return path


def method_run_arguments(args: CompareArguments, split_args: SplitArguments, measure_args: MeasurementArguments,
                         entry: str, output_dir: Path):
    """A method's recipe with the shared settings forced: ``(measure, script, split, training, model)`` arguments."""
    method, retain_source = split_entry(entry)
    retain_source = retain_source or args.retain_source
    flags = [
        "--config", str(recipe_path(args, method)), "--method", method, "--model_name_or_path", args.model_name_or_path,
        "--language", args.language, "--seed", str(args.seed), "--prompt_style", args.prompt_style,
        "--eval_fraction", str(split_args.eval_fraction), "--split_seed", str(split_args.split_seed),
        "--eval_languages", measure_args.eval_languages, "--scoring_rule", measure_args.scoring_rule,
        "--eval_batch_size", str(measure_args.eval_batch_size),
        *(["--max_control_questions", str(measure_args.max_control_questions)]
          if measure_args.max_control_questions is not None else []),
        *(["--max_eval_questions", str(measure_args.max_eval_questions)]
          if measure_args.max_eval_questions is not None else []),
        "--max_retain_texts", str(measure_args.max_retain_texts), "--output_dir", str(output_dir),
        *(["--retain_source", retain_source] if retain_source else []),
        *(["--max_steps", str(args.max_steps)] if args.max_steps else []),
    ]  # fmt: skip
    parser = TrlParser(run_argument_types(method))
    parsed = parser.parse_args_and_config(args=flags)
    apply_original_flags(parsed[1], parsed[3], parsed[4])
    return parsed


def questions_digest(measured) -> str:
    """sha256 of what a model was asked (prompts and options): equal digests, the very same questions."""
    shown = [[a.presented.prompt, a.presented.options] for a in measured.answers]
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()


def compare_methods(args: CompareArguments, split_args: SplitArguments, measure_args: MeasurementArguments) -> dict:
    """Run and measure every method of ``args.methods``; write ``compare_results.{json,md}`` and
    ``forgetting_vs_cost.png`` into ``args.output_dir``; return the results."""
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    methods = requested_methods(args)
    base, prepared, summaries, measured, timings, stop_reasons = None, None, {}, {}, {}, {}
    for method in methods:
        began = time.time()
        print(f"\n== {method}", flush=True)
        if METHODS[split_entry(method)[0]].data == "paired":
            measure_a, script_args, split_a, training_args, model_args = method_run_arguments(
                args, split_args, measure_args, method, out / method
            )
            prepared = prepare_run(measure_a, script_args, split_a, training_args, model_args)
            run = run_and_measure(prepared, script_args.method, measure_a, training_args, model_args, before=base)
            if base is None:
                base = run.before
            save_model_atomically(run.trainer, prepared.tokenizer, str(out / method))
            after, stop_reasons[method] = run.after, run.trainer.stop_reason
            del run
        else:  # selective relabeling: its own pipeline, then measured like the others
            from ..methods.selective.pipeline import selective_pipeline

            target_args = TargetTextArguments(
                mcq_dataset=sample_mcq_path(args.language), language=args.language,
                eval_fraction=split_args.eval_fraction, split_seed=split_args.split_seed, block_size=args.block_size,
            )  # fmt: skip
            adapter = selective_pipeline(
                args.model_name_or_path, target_args, out / method, batch_size=args.batch_size,
                reinforce_epochs=args.reinforce_epochs, reinforce_learning_rate=args.reinforce_learning_rate,
                selective_epochs=args.selective_epochs, selective_learning_rate=args.selective_learning_rate,
                alpha=args.alpha, label_type=args.label_type, top_k=args.top_k, seed=args.seed,
            )  # fmt: skip
            evaluated = load_evaluated_model(str(adapter))
            after = measure_all(evaluated.model, evaluated.tokenizer, prepared.eval_sets, prepared.settings, method)
            del evaluated
        gc.collect()
        measured[method] = after
        summaries[method] = summarise(after, base, measure_args, seed=args.seed)
        timings[method] = time.time() - began
        print(format_report(summaries[method], [args.language]), flush=True)

    elapsed = time.time() - started
    languages = [m.language for m in base]
    tables = [f"### {language}\n\n{format_methods_table(summaries, language)}" for language in languages]
    report = [f"Unlearning {args.language} stereotypes ({args.model_name_or_path}; {elapsed / 60:.1f} min; scoring rule "
              f"{prepared.settings.scoring_rule}, {args.prompt_style} prompts, held-out split {prepared.split.describe()}); "
              "each method paired against the same base:\n", *tables]
    for method, summary in summaries.items():
        report += [f"\n### {method}\n", format_report(summary, [args.language]), "", *verdicts(summary, [args.language])]
        if stop_reasons.get(method):
            report.append(f"Training stopped early: {stop_reasons[method]}")
    text = "\n".join(report)
    print("\n" + text + "\n")
    values = {method: summaries[method]["by_language"][args.language] for method in summaries}

    def point(method, key):
        entry = values[method]
        return entry["delta"].get(key), entry.get("delta_ci", {}).get(key)

    plot_forgetting_vs_cost(
        list(summaries), [point(m, "stereotype_rate") for m in summaries],
        {key: [point(m, key) for m in summaries] for key in COST_METRICS}, str(out / "forgetting_vs_cost.png"),
        title=f"Forgetting against what it cost ({args.language}, {values[methods[0]]['n']} held-out questions; "
              "95% paired intervals)",
    )  # fmt: skip
    results = {
        "arguments": asdict(args), "split": prepared.split.describe(), "scoring": prepared.settings.describe(),
        "elapsed_seconds": elapsed, "seconds_per_method": timings, "stop_reasons": stop_reasons,
        "results": summaries,
        # What each model was asked, per language: equal digests mean the very same prompts and options.
        "questions_sha256": {"base": {m.language: questions_digest(m) for m in base},
                             **{name: {m.language: questions_digest(m) for m in by_language}
                                for name, by_language in measured.items()}},
    }
    write_json_atomic(out / "compare_results.json", results)
    write_text_atomic(out / "compare_results.md", text + "\n")
    return results

