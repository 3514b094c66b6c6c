"""Tuning the demo recipe: one gradient-ascent run per setting, measured every ``--every`` steps on held-out items.

The same split, items and scoring as ``geounlearn-trl demo`` (shipped sample, ``--eval_languages`` measured), so a
curve here predicts the demo's numbers at that step count. Each setting is a list of recipe overrides; the base model
is measured once (adapter disabled) and every checkpoint is paired against it.

    python bench/tune_demo_recipe.py --max_steps 16 --every 4 --setting "--learning_rate 5e-5" \\
        --setting "--learning_rate 2e-5" --setting "--learning_rate 5e-5 --unknown_weight 0.25"
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
KEYS = ("stereotype_rate", "unknown_rate", "disambiguated_accuracy", "control_accuracy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=str(REPO / "recipes" / "gradient_ascent" / "gemma3_270m_cpu_lora.yaml"))
    parser.add_argument("--setting", action="append", default=[], help="Recipe overrides of one run (quoted).")
    parser.add_argument("--max_steps", type=int, default=16)
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--eval_languages", default="en")
    parser.add_argument("--max_eval_questions", type=int, default=None)
    parser.add_argument("--max_control_questions", type=int, default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import datasets
    from transformers import TrainerCallback
    from trl import TrlParser

    from geounlearn_trl.evaluation.measurement import measure_model, summarise
    from geounlearn_trl.evaluation.unlearning_run import prepare_run, run_argument_types
    from geounlearn_trl.methods.training import apply_original_flags, build_trainer

    settings_list = args.setting or [""]
    runs, started, base, eval_sets, scoring = {}, time.time(), None, None, None
    for setting in settings_list:
        flags = ["--config", args.recipe, "--output_dir", "/tmp/tune_demo_recipe", "--max_steps", str(args.max_steps),
                 "--eval_languages", args.eval_languages, *shlex.split(setting)]
        if args.max_eval_questions:
            flags += ["--max_eval_questions", str(args.max_eval_questions)]
        if args.max_control_questions:
            flags += ["--max_control_questions", str(args.max_control_questions)]
        measure_args, script_args, split_args, training_args, model_args = TrlParser(run_argument_types()).parse_args_and_config(
            args=flags
        )
        apply_original_flags(script_args, training_args, model_args)
        prepared = prepare_run(measure_args, script_args, split_args, training_args, model_args)
        tokenizer, language = prepared.tokenizer, prepared.train_languages[0]
        if eval_sets is None:  # the same items for every setting
            eval_sets, scoring = prepared.eval_sets, prepared.settings
        # enough rows for any number of steps
        train = datasets.concatenate_datasets([prepared.train_dataset] * 4).shuffle(seed=training_args.seed)
        trainer = build_trainer(script_args.method, model_args, training_args, train, tokenizer)
        if base is None:
            with trainer.model.disable_adapter():
                base = [measure_model(trainer.model, tokenizer, eval_set, scoring) for eval_set in eval_sets]
        curve = []

        class Measure(TrainerCallback):
            def on_step_end(self, _args, state, control, **kwargs):
                if state.global_step % args.every == 0:
                    after = [measure_model(trainer.model, tokenizer, eval_set, scoring) for eval_set in eval_sets]
                    summary = summarise(after, base, measure_args, seed=training_args.seed)["by_language"]
                    curve.append({"step": state.global_step, "by_language": {
                        lang: {**{k: v[k] for k in KEYS}, "baseline": {k: v["baseline"][k] for k in KEYS},
                               "significant": {k: v["delta_significant"][k] for k in KEYS},
                               "retain_perplexity_ratio": v["retain_perplexity_ratio"]}
                        for lang, v in summary.items()}})
                    row = curve[-1]["by_language"][language]
                    print(f"[{setting or 'recipe'}] step {state.global_step}: " + ", ".join(
                        f"{k} {row['baseline'][k]:.0%}→{row[k]:.0%}{'*' if row['significant'][k] else ''}" for k in KEYS)
                        + f", ppl ×{row['retain_perplexity_ratio']:.3f}", flush=True)

        trainer.add_callback(Measure())
        trainer.train()
        runs[setting or "recipe"] = {"curve": curve, "stop_reason": trainer.stop_reason}
    counts = {eval_set.language: {t: eval_set.count(t) for t in ("ambiguous", "disambiguated", "control")}
              for eval_set in eval_sets}
    print(f"\nitems per language: {counts}; scoring {scoring.describe()}; {time.time() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "counts": counts, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
