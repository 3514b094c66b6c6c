"""Running one unlearning method: what to unlearn (:class:`UnlearnArguments`), the datasets per language on the
held-out split, the trainer of the method from the registry, and :func:`unlearn`, TRL's ``main(script_args,
training_args, model_args)`` shape, which ``geounlearn-trl unlearn`` calls after parsing its flags."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field

import datasets
from trl import ModelConfig, get_peft_config

from ..data.mcq import DATASET_SPEC_HELP, SplitArguments, check_aligned, held_out_split
from ..data.prompting import wants_chat_template
from ..data.unlearning import RetainArguments, build_unlearning_dataset, load_language_mcq, parse_languages
from ..files import write_text_atomic
from ..hub.model_card import describe_run
from ..hub.push import finalize_output, hold_push
from ..models import EMBEDDED_MODEL_NAME, load_model, load_tokenizer, resolve_model_path
from . import DEFAULT_METHOD, PAIRED_METHODS, method_classes
from .base import UnlearningConfig
from .checkpoints import train_and_save

logger = logging.getLogger("geounlearn_trl.unlearn")


@dataclass
class UnlearnArguments(RetainArguments):
    """What to unlearn, from which data (the retain set: :class:`~geounlearn_trl.data.unlearning.RetainArguments`), with
    which method. The original script's flag names are kept."""

    method: str = field(
        default=DEFAULT_METHOD,
        metadata={"help": "Unlearning method (geounlearn_trl.methods.METHODS); its config's flags apply.",
                  "choices": list(PAIRED_METHODS)},
    )
    model_name: str | None = field(
        default=None, metadata={"help": f"Alias of --model_name_or_path (the original flag). Default: {EMBEDDED_MODEL_NAME}."}
    )
    dataset: str | None = field(
        default=None,
        metadata={"help": f"MCQ stereotype data (CSV/JSON/JSONL paths or Hub ids): {DATASET_SPEC_HELP}. Default, and for "
                          "a language not named: the shipped sample of that language."},
    )
    language: str = field(default="en", metadata={"help": "Language pack code, or several comma-separated (en,fr,hi)."})
    weights: list[float] | None = field(
        default=None, metadata={"help": "KL UNLEARN UNK weights (the original flag): --retain_weight (with --retain_loss kl), --forget_weight, --unknown_weight."}
    )
    log_dir: str | None = field(default=None, metadata={"help": "Where TensorBoard logs and the log history go."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use at most this many training questions."})
    skip_bad_rows: bool = field(default=False, metadata={"help": "Skip malformed MCQ rows (counted) instead of failing."})
    prompt_style: str = field(
        default="options",
        metadata={
            "help": "'options': the question with its lettered options (the original format); 'cloze': the question "
            "alone, answers as continuations (what small models read best). Evaluate in the same style.",
            "choices": ["options", "cloze"],
        },
    )


def apply_original_flags(script_args: UnlearnArguments, training_args: UnlearningConfig, model_args: ModelConfig) -> None:
    if script_args.model_name:
        model_args.model_name_or_path = script_args.model_name
    model_args.model_name_or_path = model_args.model_name_or_path or EMBEDDED_MODEL_NAME
    if script_args.weights is not None:
        if len(script_args.weights) != 3:
            raise ValueError(f"--weights takes three numbers KL UNLEARN UNK, got {script_args.weights}")
        training_args.retain_weight, training_args.forget_weight, training_args.unknown_weight = script_args.weights
        training_args.retain_loss = "kl"  # the original's first weight is the KL's
    if script_args.log_dir:
        # transformers' TensorBoard callback reads its folder from this variable.
        os.environ["TENSORBOARD_LOGGING_DIR"] = script_args.log_dir


def build_datasets(
    script_args: UnlearnArguments, split_args: SplitArguments, tokenizer, seed: int, use_chat_template: bool,
    max_length: int | None,
):
    """Per language: load, hold out (:func:`~geounlearn_trl.data.mcq.held_out_split`), tokenise; concatenate the languages.

    Returns ``(train, eval, split)``; ``split.describe()`` is written into the output folder."""
    train_parts, eval_parts = [], []
    languages = parse_languages(script_args.language)
    mcq_by_language = {}
    for language in languages:
        mcq_by_language[language] = load_language_mcq(
            script_args.dataset, language, script_args.skip_bad_rows, several_languages=len(languages) > 1
        )
        if mcq_by_language[language].info.description:
            logger.warning("%s: %s", language, mcq_by_language[language].info.description)
    if len(languages) > 1:
        check_aligned(mcq_by_language)  # translations row for row (SeeGULL's files, the samples): the same held-out rows
    split = None
    for language, mcq in mcq_by_language.items():
        # The same rule and seed in every language: on aligned files (SeeGULL, the sample) the same rows.
        split = held_out_split(mcq, split_args.eval_fraction, split_args.split_seed)
        train_mcq, eval_mcq = mcq.select(split.train), mcq.select(split.eval)
        if script_args.max_train_samples is not None:
            train_mcq = train_mcq.select(range(min(script_args.max_train_samples, len(train_mcq))))
        retain = script_args.load_retain(language) if script_args.retain_source == "text" else None
        encode = lambda rows: build_unlearning_dataset(  # noqa: E731
            rows, retain, tokenizer, language, seed, use_chat_template, max_length, script_args.prompt_style,
            script_args.retain_source,
        )
        train_parts.append(encode(train_mcq))
        if len(eval_mcq):
            eval_parts.append(encode(eval_mcq))
    train = datasets.concatenate_datasets(train_parts).shuffle(seed=seed)
    return train, (datasets.concatenate_datasets(eval_parts) if eval_parts else None), split


def build_trainer(method: str, model_args: ModelConfig, training_args: UnlearningConfig, train_dataset, tokenizer,
                  eval_dataset=None):
    """The method's trainer on a freshly loaded model (LoRA per ``model_args``); a frozen reference copy only for full
    fine-tuning when a term reads it (with LoRA the reference is the model with its adapter disabled)."""
    _, trainer_class = method_classes(method)
    model = load_model(model_args, trust_remote_code=training_args.trust_remote_code)
    needs_copy = not model_args.use_peft and trainer_class.needs_reference(training_args)
    ref_model = load_model(model_args, trust_remote_code=training_args.trust_remote_code) if needs_copy else None
    return trainer_class(
        model=model, ref_model=ref_model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
        processing_class=tokenizer, peft_config=get_peft_config(model_args),
    )  # fmt: skip


def unlearn(script_args: UnlearnArguments, split_args: SplitArguments, training_args: UnlearningConfig,
            model_args: ModelConfig) -> int:
    """Unlearn with ``script_args.method`` on the training rows of ``script_args.language``, save the adapter (or
    model), tokenizer, resolved config, ``training_log.json`` and model card in ``--output_dir``; push when asked.
    Returns the exit status (1: the push failed, the files are saved)."""
    apply_original_flags(script_args, training_args, model_args)
    if (model_args.load_in_4bit or model_args.load_in_8bit) and not model_args.use_peft:
        raise ValueError("Quantised (4/8-bit) weights can't be trained directly: add --use_peft for QLoRA.")

    model_path = resolve_model_path(model_args.model_name_or_path)
    tokenizer = load_tokenizer(model_path, trust_remote_code=training_args.trust_remote_code)
    use_chat_template = wants_chat_template(tokenizer, training_args.use_chat_template)
    train_dataset, eval_dataset, split = build_datasets(
        script_args, split_args, tokenizer, training_args.seed, use_chat_template, training_args.max_length
    )
    logger.info("Training on %d questions (%s), %d held out", len(train_dataset), script_args.language,
                len(eval_dataset) if eval_dataset is not None else 0)

    # --push_to_hub waits until the adapter and its card are saved; the Trainer never sees the token.
    trainer_args, hub_push = hold_push(training_args)
    trainer = build_trainer(script_args.method, model_args, trainer_args, train_dataset, tokenizer,
                            eval_dataset if training_args.eval_strategy != "no" else None)
    train_and_save(trainer, tokenizer, training_args, {"script": script_args, "split": split_args, "training": training_args, "model": model_args})
    if trainer.accelerator.is_main_process:
        summary = {"stop_reason": trainer.stop_reason, "split": split.describe(), "log_history": trainer.state.log_history}
        for folder in {training_args.output_dir, script_args.log_dir} - {None}:
            write_text_atomic(os.path.join(folder, "training_log.json"), json.dumps(summary, indent=2))
        if trainer.stop_reason:
            logger.warning("Training stopped early: %s", trainer.stop_reason)
        logger.info("Saved to %s", training_args.output_dir)
    card_info = describe_run(
        script_args.method,
        trainer,
        model_args,
        languages=parse_languages(script_args.language),
        datasets=[name for name in (script_args.dataset, script_args.retain_dataset) if name],
    )
    return finalize_output(trainer, card_info, push=hub_push)

