"""Plumbing shared by the commands: flag parsing with TRL's TrlParser, logging, and saving what a run resolved."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

import yaml
from trl import TrlParser

# Hub-facing secrets never leave the process: not in saved configs, not in logs, not in cards.
SECRET_FIELDS = ("hub_token", "push_to_hub_token", "token")


def cpu_process_group_backend() -> str | None:
    """``"gloo"`` when launched as several processes on a machine without CUDA, else None (the launcher decides).

    With a DeepSpeed config on CPU, accelerate starts no process group unless ``--ddp_backend`` names one: every process
    would then believe it is alone (and DeepSpeed fails its batch-size check, or each process writes the same output).
    """
    import torch

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available():
        return "gloo"
    return None


def parse_flags(dataclass_types: tuple, argv: list[str] | None):
    """``TrlParser`` over ``dataclass_types``: ``--config recipe.yaml`` (with an ``env:`` block), flags override it.

    Every command with a ``--ddp_backend`` flag (the training commands' TrainingArguments, relabel) defaults it to gloo
    when several CPU processes were launched (:func:`cpu_process_group_backend`); a recipe or the flag still wins.
    """
    parser = TrlParser(dataclass_types)
    backend = cpu_process_group_backend()
    if backend and any(action.dest == "ddp_backend" for action in parser._actions):
        parser.set_defaults(ddp_backend=backend)  # a default: the recipe's value, then the flag, override it
    return parser.parse_args_and_config(args=sys.argv[1:] if argv is None else argv)


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level, stream=sys.stderr)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def public_dict(obj) -> dict:
    """A dataclass (or TrainingArguments) as plain data, secrets removed."""
    data = obj.to_dict() if hasattr(obj, "to_dict") else dataclasses.asdict(obj)
    return {key: value for key, value in data.items() if key not in SECRET_FIELDS}


def save_resolved_config(output_dir: str, sections: dict[str, object], filename: str = "geounlearn_config.yaml") -> Path:
    """Write every argument the run resolved (defaults included), by section, as YAML beside the adapter."""
    path = Path(output_dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {name: public_dict(section) for name, section in sections.items()}
    # Round-trip through JSON so enums, paths and dtypes become plain strings YAML can hold.
    data = json.loads(json.dumps(data, default=str))
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def train_and_save(trainer, tokenizer, training_args, sections: dict[str, object]) -> None:
    """Train (resuming from ``--resume_from_checkpoint`` when given), then save into ``--output_dir`` the model or
    adapter (every process: ZeRO-3 gathers the shards) and, on the main process, the tokenizer and resolved flags."""
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(training_args.output_dir)
        save_resolved_config(training_args.output_dir, sections)
