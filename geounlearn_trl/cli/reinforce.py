"""``geounlearn-trl reinforce``: fine-tune a *reinforced* adapter on the target text (step 2 of selective unlearning).

The target text (``--target_text file.txt``, or the stereotyped statements of ``--mcq_dataset`` in ``--language``) is
cut into blocks of ``--block_size`` tokens and trained on with TRL's :class:`~trl.SFTTrainer`
(:class:`~geounlearn_trl.methods.selective_relabel.ReinforceTrainer`): plain causal language modeling,
``labels = input_ids``, shifted once by the model. LoRA by default (``--use_peft false`` for a full fine-tune, which
``relabel`` can't use); ``--load_in_4bit`` for QLoRA. Every :class:`~trl.SFTConfig` flag applies
(``--num_train_epochs``, ``--learning_rate``, ``--push_to_hub``...), as does ``--config recipe.yaml``.

Saves the adapter, the tokenizer and the resolved flags (``geounlearn_config.yaml``) in ``--output_dir``. The step
itself is :func:`geounlearn_trl.methods.selective.pipeline.reinforce`.
"""

from __future__ import annotations

import sys

from ..data.target_text import TargetTextArguments
from ..methods.selective.arguments import LoraModelConfig, ReinforceConfig
from ..methods.selective.pipeline import reinforce
from .common import parse_flags, setup_logging


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    target_args, training_args, model_args = parse_flags((TargetTextArguments, ReinforceConfig, LoraModelConfig), argv)
    return reinforce(target_args, training_args, model_args)


if __name__ == "__main__":
    sys.exit(main())
