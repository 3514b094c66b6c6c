"""``geounlearn-trl demo``: the main job on the embedded model, with what unlearning cost printed beside what it did.

1. Split the shipped sample MCQ set (:func:`~geounlearn_trl.data.mcq.held_out_split`: whole annotation runs held out, the
   same rows in every language: the sample is aligned across en/fr/hi), so cross-lingual numbers compare like with like
   and no held-out row's translation is trained on.
2. Measure the model with its (fresh) LoRA adapter disabled (:mod:`geounlearn_trl.evaluation.measurement`): held-out stereotype
   questions (stereotype picks, unknown), their disambiguated items (the context states the identity: accuracy,
   over-abstention), control questions (accuracy), retain perplexity. Answers are chosen by option log-likelihood.
3. Unlearn with ``--method`` (default gradient ascent, :class:`GradientAscentTrainer`) on the training rows of
   ``--language``.
4. Measure again with the adapter enabled; the ``stereotype_bias`` metric gives every rate with a 95% CI and the paired
   change before → after with its CI, so a change inside the noise is printed as such. Saves adapter, results JSON,
   a markdown table and the model card's ``eval_results.json``.
"""

from __future__ import annotations

import json
import logging
import os
import sys


from ..evaluation.measurement import answer_records, format_report, verdicts
from ..evaluation.unlearning_run import prepare_run, run_and_measure, run_argument_types
from ..files import write_json_atomic, write_text_atomic
from ..hub.push import finalize_output
from ..hub.model_card import describe_run, save_eval_results
from ..methods.training import apply_original_flags
from ..methods.checkpoints import save_model_atomically, save_resolved_config
from .common import parse_flags, requested_method, setup_logging

logger = logging.getLogger("geounlearn_trl.demo")

# Metrics of the model card's table: (key, lower is better).
CARD_METRICS = (("stereotype_rate", True), ("unknown_rate", False), ("disambiguated_accuracy", False),
                ("control_accuracy", False), ("control_unknown_rate", True))


# The flags of `demo` with the default method.
ARGUMENT_TYPES = run_argument_types()


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    argv = list(sys.argv[1:] if argv is None else argv)
    measure_args, script_args, split_args, training_args, model_args = parse_flags(
        run_argument_types(requested_method(argv)), argv
    )
    apply_original_flags(script_args, training_args, model_args)
    prepared = prepare_run(measure_args, script_args, split_args, training_args, model_args)
    run = run_and_measure(prepared, script_args.method, measure_args, training_args, model_args)
    trainer, tokenizer, summary, split, settings = (run.trainer, prepared.tokenizer, run.summary, prepared.split,
                                                    prepared.settings)
    before, after, train_languages = run.before, run.after, prepared.train_languages

    table = format_report(summary, train_languages)
    stop_note = f"\nTraining stopped early: {trainer.stop_reason}" if trainer.stop_reason else ""
    conclusion = "\n".join(verdicts(summary, train_languages))
    described = (f"{model_args.model_name_or_path}, {script_args.prompt_style} prompts, scoring rule "
                 f"{settings.scoring_rule}, held-out split: {split.rule}, eval_fraction {split.eval_fraction}, "
                 f"split_seed {split.split_seed}")
    print(f"\n{trainer.card_title} on {script_args.language} — before → after ({described}):\n\n{table}\n\n"
          f"{conclusion}{stop_note}\n")

    save_model_atomically(trainer, tokenizer, training_args.output_dir)
    if trainer.accelerator.is_main_process:
        output_dir = training_args.output_dir
        save_resolved_config(
            output_dir,
            {"measurement": measure_args, "script": script_args, "split": split_args, "training": training_args,
             "model": model_args},
        )
        write_json_atomic(os.path.join(output_dir, "demo_results.json"), {
            "trained_language": script_args.language, "stop_reason": trainer.stop_reason,
            "split": split.describe(), "scoring": settings.describe(), "summary": summary,
            "log_history": trainer.state.log_history,
        })
        write_text_atomic(os.path.join(output_dir, "demo_answers.jsonl"), "".join(
            json.dumps(record, ensure_ascii=False) + "\n" for record in answer_records(after, before)))
        write_text_atomic(os.path.join(output_dir, "demo_results.md"),
                          f"{described}\n\n{table}\n\n{conclusion}{stop_note}\n")
        # The model card shows these measured before/after numbers (with their CIs) beside the adapter.
        save_eval_results(
            output_dir,
            [
                {"metric": key, "language": language, "before": values["baseline"][key], "after": values[key],
                 "n": values["disambiguated_n"] if key.startswith("disambiguated") else
                 values["control_n"] if key.startswith("control") else values["n"], "lower_is_better": lower}
                for language, values in summary["by_language"].items()
                for key, lower in CARD_METRICS
                if values.get(key) is not None
            ],
            evaluation=f"shipped sample MCQs, {described}, option log-likelihood",
        )
        logger.info("Adapter and results saved in %s", output_dir)
    card_info = describe_run(script_args.method, trainer, model_args, languages=train_languages,
                             datasets=["geounlearn-trl sample data"])
    return finalize_output(trainer, card_info)


if __name__ == "__main__":
    sys.exit(main())
