"""A training run's files: resume from the newest complete checkpoint, save the model atomically, and the resolved
config beside it (secrets removed). Used by every training entry point (unlearning methods, reinforce, selective)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
from pathlib import Path

import yaml

from ..files import write_text_atomic

logger = logging.getLogger("geounlearn_trl")

# Hub-facing secrets never leave the process: not in saved configs, not in logs, not in cards.
SECRET_FIELDS = ("hub_token", "push_to_hub_token", "token")


def public_dict(obj) -> dict:
    """A dataclass (or TrainingArguments) as plain data, secrets removed."""
    data = obj.to_dict() if hasattr(obj, "to_dict") else dataclasses.asdict(obj)
    return {key: value for key, value in data.items() if key not in SECRET_FIELDS}


def save_resolved_config(output_dir: str, sections: dict[str, object], filename: str = "geounlearn_config.yaml") -> Path:
    """Write every argument the run resolved (defaults included), by section, as YAML beside the adapter."""
    path = Path(output_dir) / filename
    data = {name: public_dict(section) for name, section in sections.items()}
    # Round-trip through JSON so enums, paths and dtypes become plain strings YAML can hold.
    data = json.loads(json.dumps(data, default=str))
    return write_text_atomic(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _complete_step(folder: Path) -> int | None:
    """N if ``folder`` is a ``checkpoint-N`` that a kill did not cut short, else None.

    The Trainer writes a checkpoint's files in a fixed order (weights, optimizer, scheduler, RNG states) and
    ``trainer_state.json`` last, straight into the folder: a checkpoint is complete when that file parses and names
    step N, and the weights are there."""
    match = re.fullmatch(r"checkpoint-(\d+)", folder.name)
    if match is None or not folder.is_dir():
        return None
    try:
        state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    weights = [name for name in os.listdir(folder)
               if name.endswith((".safetensors", ".bin", ".pt", ".pth")) or name.startswith("global_step")]
    if not isinstance(state, dict) or state.get("global_step") != int(match.group(1)) or not weights:
        return None
    return int(match.group(1))


def last_complete_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest complete ``checkpoint-N`` folder of ``output_dir`` (:func:`_complete_step`), or None.

    Like transformers' ``get_last_checkpoint``, except that a checkpoint left half-written by a kill is passed over
    (logged) for the one before it."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    candidates = sorted((int(m.group(1)), path) for path in folder.iterdir()
                        if (m := re.fullmatch(r"checkpoint-(\d+)", path.name)) and path.is_dir())
    for step, path in reversed(candidates):
        if _complete_step(path) == step:
            return str(path)
        logger.warning("%s: incomplete checkpoint (interrupted while it was written); passed over", path)
    return None


def resolve_resume(training_args, is_main_process: bool = True, wait=lambda: None) -> str | None:
    """The checkpoint a training command resumes from: ``--resume_from_checkpoint`` when given, else (unless
    ``--overwrite_output_dir``) the newest complete checkpoint in ``--output_dir``. With ``--overwrite_output_dir`` the
    checkpoints already there are deleted (main process), so that a later resume never picks one of the old run."""
    if training_args.resume_from_checkpoint:
        return training_args.resume_from_checkpoint
    output_dir = Path(training_args.output_dir)
    if getattr(training_args, "overwrite_output_dir", False):
        if is_main_process and output_dir.is_dir():
            for path in sorted(output_dir.glob("checkpoint-*")):
                if path.is_dir():
                    logger.warning("--overwrite_output_dir: deleting %s", path)
                    shutil.rmtree(path)
        wait()
        return None
    checkpoint = last_complete_checkpoint(output_dir)
    if checkpoint is not None:
        logger.warning("Resuming from %s, the newest complete checkpoint in --output_dir (pass --overwrite_output_dir "
                       "to start over instead)", checkpoint)
    return checkpoint


def save_model_atomically(trainer, tokenizer, output_dir: str) -> None:
    """``trainer.save_model`` (every process: ZeRO-3 gathers the shards) and the tokenizer into a staging folder inside
    ``output_dir``, then each file renamed into place by the main process: a kill never leaves half a weights or
    tokenizer file in ``output_dir``."""
    staging = Path(output_dir) / ".saving"
    if trainer.accelerator.is_main_process and staging.exists():
        shutil.rmtree(staging)  # left by a run killed while saving
    trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(staging))
    trainer.accelerator.wait_for_everyone()
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(str(staging))
        for path in sorted(staging.iterdir()):
            target = Path(output_dir) / path.name
            if path.is_dir() and target.is_dir():
                shutil.rmtree(target)
            os.replace(path, target)
        staging.rmdir()
    trainer.accelerator.wait_for_everyone()


def train_and_save(trainer, tokenizer, training_args, sections: dict[str, object]) -> None:
    """Train, then save into ``--output_dir`` the model or adapter and, on the main process, the tokenizer and the
    resolved flags.

    Resumes from ``--resume_from_checkpoint`` when given, else by itself from the newest complete ``checkpoint-N`` in
    ``--output_dir`` (``--save_steps`` writes them; a run killed and started again with the same command continues
    where its last checkpoint left off: optimizer, scheduler, RNG states and data order are restored by the Trainer);
    ``--overwrite_output_dir`` starts over."""
    accelerator = trainer.accelerator
    checkpoint = resolve_resume(training_args, accelerator.is_main_process, accelerator.wait_for_everyone)
    trainer.train(resume_from_checkpoint=checkpoint)
    save_model_atomically(trainer, tokenizer, training_args.output_dir)
    if accelerator.is_main_process:
        save_resolved_config(training_args.output_dir, sections)
