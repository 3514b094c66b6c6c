"""``geounlearn-trl selective``: fine-tune the base model toward the generic labels (step 4 of selective unlearning).

Trains a fresh LoRA adapter (``--use_peft false``: full fine-tuning) on the *base* model — the one ``relabel`` used,
not the reinforced one — with :class:`~geounlearn_trl.trainers.selective_relabel.SelectiveRelabelTrainer` on the
dataset written by ``relabel`` (``--relabeled_dataset``): cross-entropy to the hard labels, or KL to the soft targets
(``--label_type soft``, or ``auto`` when the dataset has them). Every :class:`SelectiveRelabelConfig` /
:class:`~trl.SFTConfig` flag applies (``--push_to_hub``, ``--hub_model_id``, ``--report_to``...), as does
``--config recipe.yaml``. Saves the adapter, the tokenizer and the resolved flags in ``--output_dir``.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import yaml
from trl import get_peft_config

from ..hub import finalize_output, hold_push
from ..model_card import describe_run, relabel_provenance
from ..models import load_model, load_tokenizer, resolve_model_path
from ..trainers.selective_relabel import SelectiveRelabelConfig, SelectiveRelabelTrainer
from .common import parse_flags, setup_logging, train_and_save
from .reinforce import LoraModelConfig, check_quantised_peft

logger = logging.getLogger("geounlearn_trl.selective")


@dataclass
class SelectiveArguments:
    relabeled_dataset: str | None = field(
        default=None, metadata={"help": "Folder written by `geounlearn-trl relabel` (datasets.save_to_disk)."}
    )


@dataclass
class SelectiveCommandConfig(SelectiveRelabelConfig):
    output_dir: str | None = field(default="outputs/selective", metadata={"help": "Where the unlearned adapter is saved."})


def load_relabeled_dataset(path: str | None) -> datasets.Dataset:
    if not path:
        raise ValueError("--relabeled_dataset is required (the folder written by `geounlearn-trl relabel`).")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"--relabeled_dataset {path}: no such folder (run `geounlearn-trl relabel` first).")
    try:
        dataset = datasets.load_from_disk(path)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"--relabeled_dataset {path}: not a dataset saved with save_to_disk ({error})") from None
    if isinstance(dataset, datasets.DatasetDict):
        raise ValueError(f"--relabeled_dataset {path}: expected one Dataset, found splits {list(dataset)}")
    return dataset


def warn_if_other_base(dataset_dir: str, model_name_or_path: str) -> None:
    """The labels were computed against one base model; training another on them is allowed but worth a warning."""
    config_path = Path(dataset_dir) / "geounlearn_config.yaml"
    if not config_path.is_file():
        return
    relabel_base = (yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}).get("model", {}).get("model_name_or_path")
    if relabel_base and resolve_model_path(relabel_base) != resolve_model_path(model_name_or_path):
        logger.warning("The labels were built with base %s but training starts from %s.", relabel_base, model_name_or_path)


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    script_args, training_args, model_args = parse_flags((SelectiveArguments, SelectiveCommandConfig, LoraModelConfig), argv)
    check_quantised_peft(model_args)
    train_dataset = load_relabeled_dataset(script_args.relabeled_dataset)
    warn_if_other_base(script_args.relabeled_dataset, model_args.model_name_or_path)

    tokenizer = load_tokenizer(resolve_model_path(model_args.model_name_or_path), trust_remote_code=training_args.trust_remote_code)
    model = load_model(model_args, trust_remote_code=training_args.trust_remote_code)
    # --push_to_hub waits until the adapter and its card are saved; the Trainer never sees the token.
    trainer_args, hub_push = hold_push(training_args)
    trainer = SelectiveRelabelTrainer(
        model=model,
        args=trainer_args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    logger.info(
        "Selective fine-tune on %d relabeled blocks with %s labels", len(train_dataset),
        "soft (KL)" if trainer.use_soft_labels else "hard (cross-entropy)",
    )
    train_and_save(trainer, tokenizer, training_args, {"script": script_args, "training": training_args, "model": model_args})
    if trainer.accelerator.is_main_process:
        logger.info("Saved to %s", training_args.output_dir)
    card_info = describe_run(
        "selective_relabel", trainer, model_args, **relabel_provenance(script_args.relabeled_dataset)
    )
    return finalize_output(trainer, card_info, push=hub_push)


if __name__ == "__main__":
    sys.exit(main())
