"""``geounlearn-trl demo``: the main job on the embedded model, with what unlearning cost printed beside what it did.

1. Split the shipped sample MCQ set by (identity, attribute) pair; the held-out rows are the same rows in every
   language (the sample is aligned across en/fr/hi), so cross-lingual numbers compare like with like.
2. Measure the model with its (fresh) LoRA adapter disabled: on held-out stereotype questions the stereotype-pick rate
   and the unknown rate; on control questions (factual MCQs with the same unknown option) the accuracy and the unknown
   rate; on retain text the perplexity. Answers are chosen by option log-likelihood.
3. Unlearn with :class:`GradientAscentTrainer` on the training rows of ``--language``.
4. Measure again with the adapter enabled, print before vs after, save adapter, results JSON and a markdown table.

A model that answers "unknown" to everything is broken, not fair: control accuracy and control unknown rate sit beside
the stereotype numbers so that shows.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from dataclasses import dataclass, field

from tqdm.auto import tqdm
from trl import ModelConfig, get_peft_config

from ..hub import finalize_output
from ..languages import load_language_pack
from ..model_card import describe_run, save_eval_results
from ..mcq import load_mcq, pair_split_indices, present_question
from ..models import load_model, load_tokenizer, resolve_model_path
from ..prompting import wants_chat_template
from ..scoring import encode_options, option_loglikelihoods, score_encoded_pairs
from ..trainers.gradient_ascent import GradientAscentConfig, GradientAscentTrainer
from ..unlearn_data import (
    build_gradient_ascent_dataset,
    load_retain,
    parse_languages,
    sample_control_path,
    sample_mcq_path,
    sample_retain_path,
)
from .common import parse_flags, save_resolved_config, setup_logging
from .unlearn import UnlearnArguments, apply_original_flags

logger = logging.getLogger("geounlearn_trl.demo")


@dataclass
class DemoArguments:
    eval_languages: str = field(default="en,fr,hi", metadata={"help": "Languages measured before and after."})
    eval_batch_size: int = field(default=32, metadata={"help": "(prompt, option) pairs per scoring forward pass."})
    max_control_questions: int | None = field(default=None, metadata={"help": "Cap on control questions per language."})
    max_retain_texts: int = field(default=60, metadata={"help": "Retain texts per language for the perplexity."})


@dataclass
class Measurement:
    stereotype_rate: float
    unknown_rate: float
    control_accuracy: float
    control_unknown_rate: float
    retain_perplexity: float
    n_stereotype: int
    n_control: int


@dataclass
class Evaluator:
    """How questions are shown and scored: the same settings before and after unlearning."""

    tokenizer: object
    seed: int
    use_chat_template: bool
    batch_size: int
    prompt_style: str

    def choose(self, model, rows, pack):
        """Present each row (options + unknown, seeded shuffle) and pick the option of highest mean log-likelihood."""
        questions = [present_question(row, pack, self.seed, prompt_style=self.prompt_style) for row in rows]
        scores = option_loglikelihoods(
            model, self.tokenizer, [q.prompt for q in questions], [q.options for q in questions], self.batch_size,
            self.use_chat_template,
        )
        return questions, [max(range(len(row_scores)), key=row_scores.__getitem__) for row_scores in scores]

    def retain_perplexity(self, model, retain) -> float:
        """exp(mean NLL per answer token) of the retain answers given their questions, in batched forward passes."""
        encoded = encode_options(
            self.tokenizer, retain["question"], [[answer] for answer in retain["answer"]], self.use_chat_template
        )
        scored = score_encoded_pairs(model, [row[0] for row in encoded], self.batch_size, self.tokenizer.pad_token_id)
        return math.exp(-sum(total for total, _ in scored) / max(sum(count for _, count in scored), 1))

    def measure(self, model, language: str, held_out_rows, control_rows, retain) -> Measurement:
        pack = load_language_pack(language)
        questions, chosen = self.choose(model, held_out_rows, pack)
        control_questions, control_chosen = self.choose(model, control_rows, pack)
        share = lambda hits, total: sum(hits) / len(total)  # noqa: E731
        return Measurement(
            stereotype_rate=share([c == q.target_index for q, c in zip(questions, chosen)], questions),
            unknown_rate=share([c == q.unknown_index for q, c in zip(questions, chosen)], questions),
            control_accuracy=share([c == q.target_index for q, c in zip(control_questions, control_chosen)], control_questions),
            control_unknown_rate=share(
                [c == q.unknown_index for q, c in zip(control_questions, control_chosen)], control_questions
            ),
            retain_perplexity=self.retain_perplexity(model, retain),
            n_stereotype=len(questions),
            n_control=len(control_questions),
        )

    def measure_all(self, model, eval_sets, label: str) -> dict[str, Measurement]:
        return {
            language: self.measure(model, language, *sets)
            for language, sets in tqdm(eval_sets.items(), desc=f"Measuring {label}", unit="language")
        }


def format_table(before: dict[str, Measurement], after: dict[str, Measurement], trained_language: str) -> str:
    columns = [
        ("stereotype picks", "stereotype_rate", "↓"),
        ("unknown", "unknown_rate", "↑"),
        ("control accuracy", "control_accuracy", "≈"),
        ("control unknown", "control_unknown_rate", "≈0"),
        ("retain perplexity", "retain_perplexity", "≈"),
    ]
    header = "| language | n (stereo/control) | " + " | ".join(f"{name} ({goal})" for name, _, goal in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 2)]
    for language in before:
        b, a = before[language], after[language]
        cells = []
        for _, attribute, _ in columns:
            x, y = getattr(b, attribute), getattr(a, attribute)
            cells.append(f"{x:.2f} → {y:.2f}" if attribute == "retain_perplexity" else f"{x:.0%} → {y:.0%}")
        tag = " (trained)" if language in trained_language.split(",") else ""
        lines.append(f"| {language}{tag} | {b.n_stereotype}/{b.n_control} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_eval_sets(eval_languages: list[str], held_out_indices: list[int], demo_args: DemoArguments) -> dict:
    """language → (held-out stereotype rows, control rows, retain texts) from the shipped sample data."""
    eval_sets = {}
    for language in eval_languages:
        mcq = load_mcq(sample_mcq_path(language))
        control = load_mcq(sample_control_path(language), is_control=True)
        if demo_args.max_control_questions:
            control = control.select(range(min(demo_args.max_control_questions, len(control))))
        retain = load_retain(sample_retain_path(language))
        retain = retain.select(range(len(retain) - min(demo_args.max_retain_texts, len(retain)), len(retain)))
        eval_sets[language] = (mcq.select(held_out_indices), control, retain)
    return eval_sets


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    demo_args, script_args, training_args, model_args = parse_flags(
        (DemoArguments, UnlearnArguments, GradientAscentConfig, ModelConfig), argv
    )
    apply_original_flags(script_args, training_args, model_args)
    if not model_args.use_peft:
        raise ValueError("The demo measures before/after by toggling the LoRA adapter: run it with --use_peft.")
    seed = training_args.seed
    model_path = resolve_model_path(model_args.model_name_or_path)
    tokenizer = load_tokenizer(model_path, trust_remote_code=training_args.trust_remote_code)
    use_chat_template = wants_chat_template(tokenizer, training_args.use_chat_template)

    train_languages = parse_languages(script_args.language)
    eval_languages = parse_languages(demo_args.eval_languages)
    # Held-out rows are chosen once, on the first training language, and reused by index in every language.
    reference_mcq = load_mcq(script_args.dataset or sample_mcq_path(train_languages[0]))
    train_indices, held_out_indices = pair_split_indices(reference_mcq, script_args.eval_fraction, seed)
    if script_args.max_train_samples is not None:
        train_indices = train_indices[: script_args.max_train_samples]

    train_parts = []
    for language in train_languages:
        mcq = load_mcq(sample_mcq_path(language)) if not script_args.dataset else reference_mcq
        retain = load_retain(script_args.retain_dataset or sample_retain_path(language))
        train_parts.append(
            build_gradient_ascent_dataset(
                mcq.select(train_indices), retain, tokenizer, language, seed, use_chat_template, training_args.max_length,
                script_args.prompt_style,
            )
        )
    import datasets

    train_dataset = datasets.concatenate_datasets(train_parts).shuffle(seed=seed)

    eval_sets = build_eval_sets(eval_languages, held_out_indices, demo_args)
    logger.info(
        "Unlearning on %d %s questions; measuring %d held-out questions and %d control questions per language in %s",
        len(train_dataset), script_args.language, len(held_out_indices), len(eval_sets[eval_languages[0]][1]),
        ", ".join(eval_languages),
    )

    model = load_model(model_args, trust_remote_code=training_args.trust_remote_code)
    trainer = GradientAscentTrainer(
        model=model, args=training_args, train_dataset=train_dataset, processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    evaluator = Evaluator(tokenizer, seed, use_chat_template, demo_args.eval_batch_size, script_args.prompt_style)
    peft_model = trainer.model
    with peft_model.disable_adapter():  # a fresh LoRA adapter disabled is exactly the base model
        before = evaluator.measure_all(peft_model, eval_sets, "before")
    trainer.train()
    after = evaluator.measure_all(peft_model, eval_sets, "after")

    table = format_table(before, after, script_args.language)
    stop_note = f"\nTraining stopped early: {trainer.stop_reason}" if trainer.stop_reason else ""
    print(f"\nGradient-ascent unlearning on {script_args.language} — before → after "
          f"(held-out stereotype questions, control questions, retain text):\n\n{table}{stop_note}\n")

    trainer.save_model(training_args.output_dir)
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(training_args.output_dir)
        save_resolved_config(
            training_args.output_dir,
            {"demo": demo_args, "script": script_args, "training": training_args, "model": model_args},
        )
        results = {
            "trained_language": script_args.language,
            "stop_reason": trainer.stop_reason,
            "before": {language: vars(m) for language, m in before.items()},
            "after": {language: vars(m) for language, m in after.items()},
            "log_history": trainer.state.log_history,
        }
        with open(os.path.join(training_args.output_dir, "demo_results.json"), "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2, ensure_ascii=False)
        with open(os.path.join(training_args.output_dir, "demo_results.md"), "w", encoding="utf-8") as handle:
            handle.write(table + "\n" + stop_note)
        # The model card shows these measured before/after numbers beside the adapter.
        save_eval_results(
            training_args.output_dir,
            [
                {"metric": metric, "language": language, "before": getattr(before[language], metric),
                 "after": getattr(after[language], metric), "n": before[language].n_control
                 if metric.startswith("control") else before[language].n_stereotype, "lower_is_better": lower}
                for language in before
                for metric, lower in (("stereotype_rate", True), ("unknown_rate", False),
                                      ("control_accuracy", False), ("control_unknown_rate", True))
            ],
            evaluation=f"shipped sample MCQs, held-out (identity, attribute) pairs, {script_args.prompt_style} prompts, "
            "option log-likelihood",
        )
        logger.info("Adapter and results saved in %s", training_args.output_dir)
    card_info = describe_run("gradient_ascent", trainer, model_args, languages=train_languages,
                             datasets=["geounlearn-trl sample data"])
    return finalize_output(trainer, card_info)


if __name__ == "__main__":
    sys.exit(main())
