"""``geounlearn-trl demo``: the main job on the embedded model, with what unlearning cost printed beside what it did.

1. Split the shipped sample MCQ set (:func:`~geounlearn_trl.mcq.held_out_split`: whole annotation runs held out, the
   same rows in every language: the sample is aligned across en/fr/hi), so cross-lingual numbers compare like with like
   and no held-out row's translation is trained on.
2. Measure the model with its (fresh) LoRA adapter disabled (:mod:`geounlearn_trl.evaluation`): held-out stereotype
   questions (stereotype picks, unknown), their disambiguated items (the context states the identity: accuracy,
   over-abstention), control questions (accuracy), retain perplexity. Answers are chosen by option log-likelihood.
3. Unlearn with :class:`GradientAscentTrainer` on the training rows of ``--language``.
4. Measure again with the adapter enabled; the ``stereotype_bias`` metric gives every rate with a 95% CI and the paired
   change before → after with its CI, so a change inside the noise is printed as such. Saves adapter, results JSON,
   a markdown table and the model card's ``eval_results.json``.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import datasets
from tqdm.auto import tqdm
from trl import ModelConfig, get_peft_config

from ..evaluation import (
    EvalSet,
    MeasurementArguments,
    ScoringSettings,
    answer_records,
    build_eval_set,
    format_report,
    measure_model,
    summarise,
    verdicts,
)
from ..files import write_json_atomic, write_text_atomic
from ..hub import finalize_output
from ..mcq import SplitArguments, check_aligned, held_out_split, load_mcq
from ..model_card import describe_run, save_eval_results
from ..models import load_model, load_tokenizer, resolve_model_path
from ..prompting import wants_chat_template
from ..trainers.gradient_ascent import GradientAscentConfig, GradientAscentTrainer
from ..unlearn_data import (
    build_gradient_ascent_dataset,
    hold_out_retain,
    load_retain,
    parse_languages,
    sample_control_path,
    sample_mcq_path,
    sample_retain_path,
)
from .common import parse_flags, save_model_atomically, save_resolved_config, setup_logging
from .unlearn import UnlearnArguments, apply_original_flags

logger = logging.getLogger("geounlearn_trl.demo")

# Metrics of the model card's table: (key, lower is better).
CARD_METRICS = (("stereotype_rate", True), ("unknown_rate", False), ("disambiguated_accuracy", False),
                ("control_accuracy", False), ("control_unknown_rate", True))


def measure_all(model, tokenizer, eval_sets: list[EvalSet], settings: ScoringSettings, label: str):
    return [measure_model(model, tokenizer, eval_set, settings)
            for eval_set in tqdm(eval_sets, desc=f"Measuring {label}", unit="language")]


# The flags of `demo`, in the order parse_flags returns them (the benchmarks parse recipes against the same).
ARGUMENT_TYPES = (MeasurementArguments, UnlearnArguments, SplitArguments, GradientAscentConfig, ModelConfig)


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    measure_args, script_args, split_args, training_args, model_args = parse_flags(ARGUMENT_TYPES, argv)
    apply_original_flags(script_args, training_args, model_args)
    if not model_args.use_peft:
        raise ValueError("The demo measures before/after by toggling the LoRA adapter: run it with --use_peft.")
    seed = training_args.seed
    model_path = resolve_model_path(model_args.model_name_or_path)
    tokenizer = load_tokenizer(model_path, trust_remote_code=training_args.trust_remote_code)
    use_chat_template = wants_chat_template(tokenizer, training_args.use_chat_template)

    train_languages = parse_languages(script_args.language)
    eval_languages = parse_languages(measure_args.eval_languages)
    languages = list(dict.fromkeys(train_languages + eval_languages))
    mcq = {language: load_mcq(script_args.dataset or sample_mcq_path(language)) for language in languages}
    check_aligned(mcq)  # the held-out rows must be the same stereotypes in every language
    split = held_out_split(mcq[train_languages[0]], split_args.eval_fraction, split_args.split_seed)
    train_indices = split.train[: script_args.max_train_samples] if script_args.max_train_samples else split.train

    # Per language (training, held-out) retain texts: the perplexity is measured on texts the KL never saw.
    retain = {language: hold_out_retain(load_retain(sample_retain_path(language)), measure_args.max_retain_texts)
              for language in languages}
    train_parts = []
    for language in train_languages:
        # --retain_dataset (with its config/split/columns) replaces the training part only: the perplexity stays on
        # the shipped held-out texts, the same for every run.
        train_retain = script_args.load_retain(language) if script_args.retain_dataset else retain[language][0]
        train_parts.append(build_gradient_ascent_dataset(
            mcq[language].select(train_indices), train_retain, tokenizer, language, seed, use_chat_template,
            training_args.max_length, script_args.prompt_style,
        ))
    train_dataset = datasets.concatenate_datasets(train_parts).shuffle(seed=seed)

    eval_sets = [
        build_eval_set(
            language, mcq[language].select(split.eval), load_mcq(sample_control_path(language), is_control=True),
            retain[language][1], seed, measure_args,
        )
        for language in eval_languages
    ]
    logger.info(
        "Unlearning on %d %s questions; measuring per language %d held-out stereotype, %d disambiguated and %d control "
        "questions (%s); split: %s", len(train_dataset), script_args.language, eval_sets[0].count("ambiguous"),
        eval_sets[0].count("disambiguated"), eval_sets[0].count("control"), ", ".join(eval_languages), split.describe(),
    )

    model = load_model(model_args, trust_remote_code=training_args.trust_remote_code)
    trainer = GradientAscentTrainer(
        model=model, args=training_args, train_dataset=train_dataset, processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    settings = ScoringSettings(seed, script_args.prompt_style, measure_args.scoring_rule, use_chat_template,
                               measure_args.eval_batch_size)
    peft_model = trainer.model
    with peft_model.disable_adapter():  # a fresh LoRA adapter disabled is exactly the base model
        before = measure_all(peft_model, tokenizer, eval_sets, settings, "before")
    trainer.train()
    after = measure_all(peft_model, tokenizer, eval_sets, settings, "after")
    summary = summarise(after, before, measure_args, seed=seed)

    table = format_report(summary, train_languages)
    stop_note = f"\nTraining stopped early: {trainer.stop_reason}" if trainer.stop_reason else ""
    conclusion = "\n".join(verdicts(summary, train_languages))
    described = (f"{model_args.model_name_or_path}, {script_args.prompt_style} prompts, scoring rule "
                 f"{settings.scoring_rule}, held-out split: {split.rule}, eval_fraction {split.eval_fraction}, "
                 f"split_seed {split.split_seed}")
    print(f"\nGradient-ascent unlearning on {script_args.language} — before → after ({described}):\n\n{table}\n\n"
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
    card_info = describe_run("gradient_ascent", trainer, model_args, languages=train_languages,
                             datasets=["geounlearn-trl sample data"])
    return finalize_output(trainer, card_info)


if __name__ == "__main__":
    sys.exit(main())
