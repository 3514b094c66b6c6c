"""One unlearning run measured like the metric, as library functions: prepare the data and the held-out measurement
sets (:func:`prepare_run`), measure the model with its fresh adapter disabled, unlearn, measure again, summarise
(:func:`run_and_measure`). ``geounlearn-trl demo`` is one run; ``geounlearn-trl compare`` runs several methods
against one base measurement on the very same questions.

The split (:func:`~geounlearn_trl.data.mcq.held_out_split`: whole annotation runs held out, the same rows in every
language) decides both what is trained on and what is measured; the perplexity is measured on retain texts the
retain term never saw.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import datasets
from tqdm.auto import tqdm
from trl import ModelConfig

from ..data.mcq import HeldOutSplit, SplitArguments, check_aligned, held_out_split, load_mcq
from ..data.prompting import wants_chat_template
from ..data.unlearning import (
    build_unlearning_dataset,
    hold_out_retain,
    load_language_mcq,
    load_retain,
    parse_languages,
    sample_control_path,
    sample_retain_path,
)
from ..methods import DEFAULT_METHOD, method_classes
from ..methods.base import UnlearningConfig
from ..methods.training import UnlearnArguments, build_trainer
from ..models import load_tokenizer, resolve_model_path
from .measurement import (
    EvalSet,
    ModelAnswers,
    MeasurementArguments,
    ScoringSettings,
    build_eval_set,
    measure_model,
    summarise,
)

logger = logging.getLogger("geounlearn_trl.demo")


@dataclass
class PreparedRun:
    """What a run trains on and is measured on."""

    tokenizer: object
    split: HeldOutSplit
    train_dataset: datasets.Dataset
    eval_sets: list[EvalSet]
    settings: ScoringSettings
    train_languages: list[str]


@dataclass
class MeasuredRun:
    """A trained run, its measurements before and after (one per language of the eval sets) and their summary."""

    trainer: object
    before: list[ModelAnswers]
    after: list[ModelAnswers]
    summary: dict


def run_argument_types(method: str = DEFAULT_METHOD) -> tuple:
    """The arguments of a measured run of ``method`` (``demo``'s flags; recipes parse against them), in this order:
    measurement, what to unlearn, split, the method's config, model."""
    return (MeasurementArguments, UnlearnArguments, SplitArguments, method_classes(method)[0], ModelConfig)


def measure_all(model, tokenizer, eval_sets: list[EvalSet], settings: ScoringSettings, label: str) -> list[ModelAnswers]:
    return [measure_model(model, tokenizer, eval_set, settings)
            for eval_set in tqdm(eval_sets, desc=f"Measuring {label}", unit="language")]


def prepare_run(measure_args: MeasurementArguments, script_args: UnlearnArguments, split_args: SplitArguments,
                training_args: UnlearningConfig, model_args: ModelConfig) -> PreparedRun:
    """The training rows of ``script_args.language`` (the MCQ file or the shipped sample) on the held-out split, and
    the measurement sets of every language of ``measure_args.eval_languages`` on its held-out rows."""
    seed = training_args.seed
    model_path = resolve_model_path(model_args.model_name_or_path)
    tokenizer = load_tokenizer(model_path, trust_remote_code=training_args.trust_remote_code)
    use_chat_template = wants_chat_template(tokenizer, training_args.use_chat_template)

    train_languages = parse_languages(script_args.language)
    eval_languages = parse_languages(measure_args.eval_languages)
    languages = list(dict.fromkeys(train_languages + eval_languages))
    mcq = {language: load_language_mcq(script_args.dataset, language, several_languages=len(languages) > 1)
           for language in languages}
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
        train_parts.append(build_unlearning_dataset(
            mcq[language].select(train_indices), train_retain, tokenizer, language, seed, use_chat_template,
            training_args.max_length, script_args.prompt_style, script_args.retain_source,
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

    settings = ScoringSettings(seed, script_args.prompt_style, measure_args.scoring_rule, use_chat_template,
                               measure_args.eval_batch_size)
    return PreparedRun(tokenizer, split, train_dataset, eval_sets, settings, train_languages)


def run_and_measure(prepared: PreparedRun, method: str, measure_args: MeasurementArguments,
                    training_args: UnlearningConfig, model_args: ModelConfig,
                    before: list[ModelAnswers] | None = None) -> MeasuredRun:
    """Unlearn with ``method`` (a fresh LoRA adapter) and measure after; ``before`` is measured with the fresh adapter
    disabled (exactly the base model) unless given (a comparison measures the base once for all methods)."""
    if not model_args.use_peft:
        raise ValueError("A measured run toggles the LoRA adapter for its before/after: run it with --use_peft.")
    trainer = build_trainer(method, model_args, training_args, prepared.train_dataset, prepared.tokenizer)
    peft_model = trainer.model
    if before is None:
        with peft_model.disable_adapter():  # a fresh LoRA adapter disabled is exactly the base model
            before = measure_all(peft_model, prepared.tokenizer, prepared.eval_sets, prepared.settings, "before")
    trainer.train()
    after = measure_all(peft_model, prepared.tokenizer, prepared.eval_sets, prepared.settings, "after")
    return MeasuredRun(trainer, before, after, summarise(after, before, measure_args, seed=training_args.seed))
