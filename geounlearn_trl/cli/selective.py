"""``geounlearn-trl selective``: fine-tune the base model toward the generic labels (step 4 of selective unlearning).

Trains a fresh LoRA adapter (``--use_peft false``: full fine-tuning) on the *base* model — the one ``relabel`` used,
not the reinforced one — with :class:`~geounlearn_trl.methods.selective_relabel.SelectiveRelabelTrainer` on the
dataset written by ``relabel`` (``--relabeled_dataset``): cross-entropy to the hard labels, or KL to the soft targets
(``--label_type soft``, or ``auto`` when the dataset has them). Every :class:`SelectiveRelabelConfig` /
:class:`~trl.SFTConfig` flag applies (``--push_to_hub``, ``--hub_model_id``, ``--report_to``...), as does
``--config recipe.yaml``. Saves the adapter, the tokenizer and the resolved flags in ``--output_dir``.

The step itself is :func:`geounlearn_trl.methods.selective.pipeline.selective`.
"""

from __future__ import annotations

import sys

from ..methods.selective.arguments import (
    LoraModelConfig,
    SelectiveArguments,
    SelectiveCommandConfig,
)
from ..methods.selective.pipeline import selective
from .common import parse_flags, setup_logging


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    script_args, training_args, model_args = parse_flags((SelectiveArguments, SelectiveCommandConfig, LoraModelConfig), argv)
    return selective(script_args, training_args, model_args)


if __name__ == "__main__":
    sys.exit(main())
