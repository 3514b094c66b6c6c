"""``geounlearn-trl reinforce``: fine-tune a *reinforced* adapter on the target text (step 2 of selective unlearning).

The target text (``--target_text file.txt``, or the stereotyped statements of ``--mcq_dataset`` in ``--language``) is
cut into blocks of ``--block_size`` tokens and trained on with TRL's :class:`~trl.SFTTrainer`: plain causal language
modeling, ``labels = input_ids``, shifted once by the model (the original scripts shifted them a second time, which
taught the model to copy the current token). LoRA by default (``--use_peft false`` for a full fine-tune, which
``relabel`` can't use); ``--load_in_4bit`` for QLoRA. Every :class:`~trl.SFTConfig` flag applies
(``--num_train_epochs``, ``--learning_rate``, ``--push_to_hub``...), as does ``--config recipe.yaml``.

Saves the adapter, the tokenizer and the resolved flags (``geounlearn_config.yaml``) in ``--output_dir``.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

import datasets
from trl import ModelConfig, SFTConfig, SFTTrainer, get_peft_config

from ..hub import finalize_output, hold_push
from ..model_card import describe_run
from ..models import EMBEDDED_MODEL_NAME, load_model, load_tokenizer, resolve_model_path
from ..target_text import TargetTextArguments, load_target_documents, split_into_blocks
from .common import parse_flags, setup_logging, train_and_save

logger = logging.getLogger("geounlearn_trl.reinforce")


@dataclass
class LoraModelConfig(ModelConfig):
    """:class:`~trl.ModelConfig` with the embedded model and LoRA as defaults."""

    model_name_or_path: str | None = field(
        default=EMBEDDED_MODEL_NAME, metadata={"help": "Hub id, local folder, or the embedded default."}
    )
    use_peft: bool = field(default=True, metadata={"help": "Train a LoRA adapter (default); false: full fine-tuning."})


@dataclass
class ReinforceConfig(SFTConfig):
    """:class:`~trl.SFTConfig` with defaults for a LoRA adapter on CPU or GPU."""

    output_dir: str | None = field(default="outputs/reinforced", metadata={"help": "Where the adapter is saved."})
    learning_rate: float = field(default=1e-4, metadata={"help": "Initial learning rate (LoRA-friendly default)."})
    # CPU-friendly defaults (SFTConfig turns both on); recipes turn them on for GPUs.
    bf16: bool | None = False
    gradient_checkpointing: bool = False
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start over even when --output_dir holds checkpoints (deleted first); without it a run resumes "
                          "from the newest complete checkpoint-N there (transformers 5 has no such flag)."},
    )


def check_quantised_peft(model_args: ModelConfig) -> None:
    if (model_args.load_in_4bit or model_args.load_in_8bit) and not model_args.use_peft:
        raise ValueError("Quantised (4/8-bit) weights can't be trained directly: keep --use_peft (QLoRA).")


def block_dataset(target_args: TargetTextArguments, tokenizer) -> datasets.Dataset:
    """The target's blocks as a tokenised dataset (``input_ids``; SFTTrainer adds ``labels = input_ids``)."""
    documents, _ = load_target_documents(target_args)
    blocks = split_into_blocks(documents, tokenizer, target_args.block_size)
    return datasets.Dataset.from_dict({"input_ids": [block.input_ids for block in blocks]})


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    target_args, training_args, model_args = parse_flags((TargetTextArguments, ReinforceConfig, LoraModelConfig), argv)
    check_quantised_peft(model_args)
    if training_args.max_length is not None and training_args.max_length < target_args.block_size:
        raise ValueError(
            f"--max_length {training_args.max_length} is shorter than --block_size {target_args.block_size}: "
            "blocks would be truncated. Raise --max_length or lower --block_size."
        )

    tokenizer = load_tokenizer(resolve_model_path(model_args.model_name_or_path), trust_remote_code=training_args.trust_remote_code)
    train_dataset = block_dataset(target_args, tokenizer)
    logger.info(
        "Reinforcing on %d blocks (%d tokens) of %s",
        len(train_dataset),
        sum(map(len, train_dataset["input_ids"])),
        target_args.target_text or f"{target_args.mcq_dataset} ({target_args.language})",
    )

    model = load_model(model_args, trust_remote_code=training_args.trust_remote_code)
    # --push_to_hub waits until the adapter and its card are saved; the Trainer never sees the token.
    trainer_args, hub_push = hold_push(training_args)
    trainer = SFTTrainer(
        model=model,
        args=trainer_args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    train_and_save(trainer, tokenizer, training_args, {"target": target_args, "training": training_args, "model": model_args})
    if trainer.accelerator.is_main_process:
        logger.info("Saved the reinforced %s to %s", "adapter" if model_args.use_peft else "model", training_args.output_dir)
    card_info = describe_run(
        "reinforce",
        trainer,
        model_args,
        languages=[target_args.language] if target_args.mcq_dataset else [],
        datasets=[target_args.target_text or target_args.mcq_dataset],
    )
    return finalize_output(trainer, card_info, push=hub_push)


if __name__ == "__main__":
    sys.exit(main())
