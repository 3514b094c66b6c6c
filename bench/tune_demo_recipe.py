"""Tuning the demo recipe: one gradient-ascent run per setting, measured every ``--every`` steps on held-out items.

The same split, items and scoring as ``geounlearn-trl demo`` (shipped sample, ``--eval_languages`` measured), so a
curve here predicts the demo's numbers at that step count. Each setting is a list of recipe overrides; the base model
is measured once (adapter disabled) and every checkpoint is paired against it.

    python bench/tune_demo_recipe.py --max_steps 16 --every 4 --setting "--learning_rate 5e-5" \\
        --setting "--learning_rate 2e-5" --setting "--learning_rate 5e-5 --unk_weight 0.25"
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
    from trl import TrlParser, get_peft_config

    from geounlearn_trl.cli.demo import ARGUMENT_TYPES
    from geounlearn_trl.cli.unlearn import apply_original_flags
    from geounlearn_trl.evaluation import ScoringSettings, build_eval_set, measure_model, summarise
    from geounlearn_trl.mcq import held_out_split, load_mcq
    from geounlearn_trl.models import load_model, load_tokenizer, resolve_model_path
    from geounlearn_trl.prompting import wants_chat_template
    from geounlearn_trl.trainers.gradient_ascent import GradientAscentTrainer
    from geounlearn_trl.unlearn_data import (
        build_gradient_ascent_dataset,
        hold_out_retain,
        load_retain,
        parse_languages,
        sample_control_path,
        sample_mcq_path,
        sample_retain_path,
    )

    settings_list = args.setting or [""]
    runs, started, base, eval_sets, scoring = {}, time.time(), None, None, None
    for setting in settings_list:
        flags = ["--config", args.recipe, "--output_dir", "/tmp/tune_demo_recipe", "--max_steps", str(args.max_steps),
                 "--eval_languages", args.eval_languages, *shlex.split(setting)]
        if args.max_eval_questions:
            flags += ["--max_eval_questions", str(args.max_eval_questions)]
        if args.max_control_questions:
            flags += ["--max_control_questions", str(args.max_control_questions)]
        measure_args, script_args, split_args, training_args, model_args = TrlParser(ARGUMENT_TYPES).parse_args_and_config(
            args=flags
        )
        apply_original_flags(script_args, training_args, model_args)
        tokenizer = load_tokenizer(resolve_model_path(model_args.model_name_or_path))
        language = parse_languages(script_args.language)[0]
        mcq = load_mcq(sample_mcq_path(language))
        split = held_out_split(mcq, split_args.eval_fraction, split_args.split_seed)
        retain_train = hold_out_retain(load_retain(sample_retain_path(language)), measure_args.max_retain_texts)[0]
        if eval_sets is None:  # the same items for every setting
            eval_sets = [
                build_eval_set(lang, load_mcq(sample_mcq_path(lang)).select(split.eval),
                               load_mcq(sample_control_path(lang), is_control=True),
                               hold_out_retain(load_retain(sample_retain_path(lang)), measure_args.max_retain_texts)[1],
                               training_args.seed, measure_args)
                for lang in parse_languages(measure_args.eval_languages)
            ]
            scoring = ScoringSettings(training_args.seed, script_args.prompt_style, measure_args.scoring_rule,
                                      wants_chat_template(tokenizer, training_args.use_chat_template),
                                      measure_args.eval_batch_size)
        train = build_gradient_ascent_dataset(mcq.select(split.train), retain_train, tokenizer, language,
                                              training_args.seed, scoring.use_chat_template, training_args.max_length,
                                              script_args.prompt_style)
        train = datasets.concatenate_datasets([train] * 4).shuffle(seed=training_args.seed)  # enough rows for any steps
        trainer = GradientAscentTrainer(model=load_model(model_args), args=training_args, train_dataset=train,
                                        processing_class=tokenizer, peft_config=get_peft_config(model_args))
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
