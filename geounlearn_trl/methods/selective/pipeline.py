"""Selective relabel unlearning ("Who's Harry Potter", Eldan & Russinovich 2023) as three typed steps and their chain.

1. :func:`reinforce`: fine-tune a *reinforced* adapter on the target text. The target (a text file, or the stereotyped
   statements of an MCQ set) is cut into blocks and trained on with
   :class:`~geounlearn_trl.methods.selective_relabel.ReinforceTrainer`: plain causal language modeling,
   ``labels = input_ids``, shifted once by the model (the original scripts shifted them a second time, which taught
   the model to copy the current token).
2. :func:`relabel`: load the base model once with the reinforced adapter on top (:mod:`.reinforced_model`), replace
   the anchor terms in the same blocks, and label every block with ``v_base − α·ReLU(v_reinforced − v_base)``
   (:mod:`geounlearn_trl.methods.selective.relabel`); saves a :class:`datasets.Dataset` with ``save_to_disk``.
3. :func:`selective`: fine-tune a fresh adapter on the *base* model toward those labels with
   :class:`~geounlearn_trl.methods.selective_relabel.SelectiveRelabelTrainer`.

Each step takes the dataclasses its command parses (``main(script_args, training_args, model_args)``, as TRL's
scripts do) and returns the command's exit status; the commands ``reinforce``, ``relabel`` and ``selective`` only
parse flags and call them. :func:`selective_pipeline` chains the three into one folder for ``compare`` and
``selective-demo``, printing each step as it would be typed so that any one can be re-run by hand.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import datasets
import yaml
from trl import ModelConfig, get_peft_config

from ...data.target_text import (
    TargetTextArguments,
    load_target_documents,
    split_into_blocks,
)
from ...hub.model_card import REINFORCE_METHOD, describe_run, relabel_provenance
from ...hub.push import finalize_output, hold_push
from ...models import load_model, load_tokenizer, resolve_model_path
from ..checkpoints import SECRET_FIELDS, save_resolved_config, train_and_save
from ..selective_relabel import ReinforceTrainer, SelectiveRelabelTrainer
from .anchors import load_anchor_dictionary
from .arguments import (
    LoraModelConfig,
    ReinforceConfig,
    RelabelArguments,
    SelectiveArguments,
    SelectiveCommandConfig,
)
from .reinforced_model import ReinforcedModel, init_distributed, resolve_base_model
from .relabel import AnchorReplacer, build_relabeled_dataset

__all__ = [
    "LoraModelConfig",
    "ReinforceConfig",
    "RelabelArguments",
    "SelectiveArguments",
    "SelectiveCommandConfig",
    "block_dataset",
    "command_line",
    "load_relabeled_dataset",
    "reinforce",
    "relabel",
    "run_step",
    "save_dataset",
    "selective",
    "selective_pipeline",
    "step_training_settings",
]

# One logger per step, named as the commands' loggers were, so a run's log reads the same.
reinforce_logger = logging.getLogger("geounlearn_trl.reinforce")
relabel_logger = logging.getLogger("geounlearn_trl.methods.selective.relabel")
selective_logger = logging.getLogger("geounlearn_trl.selective")


# --- 1. reinforce --------------------------------------------------------------------------------------------------


def check_quantised_peft(model_args: ModelConfig) -> None:
    """Quantised weights can only be trained through an adapter (QLoRA); refuse a full fine-tune of them early."""
    if (model_args.load_in_4bit or model_args.load_in_8bit) and not model_args.use_peft:
        raise ValueError("Quantised (4/8-bit) weights can't be trained directly: keep --use_peft (QLoRA).")


def block_dataset(target_args: TargetTextArguments, tokenizer) -> datasets.Dataset:
    """The target's blocks as a tokenised dataset (``input_ids``; SFTTrainer adds ``labels = input_ids``)."""
    documents, _ = load_target_documents(target_args)
    blocks = split_into_blocks(documents, tokenizer, target_args.block_size)
    return datasets.Dataset.from_dict({"input_ids": [block.input_ids for block in blocks]})


def reinforce(target_args: TargetTextArguments, training_args: ReinforceConfig, model_args: LoraModelConfig) -> int:
    """Train the reinforced adapter (or, with ``use_peft=False``, model) on the target's blocks; returns the status.

    Saves the adapter, the tokenizer, the resolved settings (``geounlearn_config.yaml``) and the model card in
    ``training_args.output_dir``, then pushes when ``push_to_hub`` asks (:func:`~geounlearn_trl.hub.push.finalize_output`:
    status 1 when the push fails). ``relabel`` needs an adapter: a full fine-tune can't be toggled off.
    """
    check_quantised_peft(model_args)
    if training_args.max_length is not None and training_args.max_length < target_args.block_size:
        raise ValueError(
            f"--max_length {training_args.max_length} is shorter than --block_size {target_args.block_size}: "
            "blocks would be truncated. Raise --max_length or lower --block_size."
        )

    tokenizer = load_tokenizer(resolve_model_path(model_args.model_name_or_path), trust_remote_code=training_args.trust_remote_code)
    train_dataset = block_dataset(target_args, tokenizer)
    reinforce_logger.info(
        "Reinforcing on %d blocks (%d tokens) of %s",
        len(train_dataset),
        sum(map(len, train_dataset["input_ids"])),
        target_args.target_text or f"{target_args.mcq_dataset} ({target_args.language})",
    )

    model = load_model(model_args, trust_remote_code=training_args.trust_remote_code)
    # --push_to_hub waits until the adapter and its card are saved; the Trainer never sees the token.
    trainer_args, hub_push = hold_push(training_args)
    trainer = ReinforceTrainer(
        model=model,
        args=trainer_args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    train_and_save(trainer, tokenizer, training_args, {"target": target_args, "training": training_args, "model": model_args})
    if trainer.accelerator.is_main_process:
        reinforce_logger.info(
            "Saved the reinforced %s to %s", "adapter" if model_args.use_peft else "model", training_args.output_dir
        )
    card_info = describe_run(
        REINFORCE_METHOD,
        trainer,
        model_args,
        languages=[target_args.language] if target_args.mcq_dataset else [],
        datasets=[target_args.target_text or target_args.mcq_dataset],
    )
    # Sets trainer.card_info: the push (and any later save) writes this card through ReinforceTrainer's hook.
    return finalize_output(trainer, card_info, push=hub_push)


# --- 2. relabel ----------------------------------------------------------------------------------------------------


def prepare_output_dir(output_dir: str, overwrite: bool) -> None:
    """Refuse to replace a non-empty ``output_dir`` unless asked, before any model is loaded."""
    path = Path(output_dir)
    if path.exists() and (not path.is_dir() or any(path.iterdir())) and not overwrite:
        raise FileExistsError(f"--output_dir {output_dir} exists and is not empty; pass --overwrite_output_dir to replace it.")


def save_dataset(dataset, output_dir: str, sections: dict[str, object] | None = None) -> None:
    """``save_to_disk`` (and the resolved flags of ``sections``) into a hidden temporary sibling folder, then swap it
    in: a failure or a kill never half-overwrites ``output_dir``, and ``output_dir`` never holds a dataset without its
    flags. The old folder is renamed aside before the new one takes its name, and deleted after."""
    target = Path(output_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    old = staging.with_name(staging.name[: -len(".partial")] + ".old")
    try:
        dataset.save_to_disk(str(staging))
        if sections is not None:
            save_resolved_config(str(staging), sections)
        if target.exists():
            target.rename(old)
        staging.rename(target)
    finally:
        for leftover in (staging, old):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            elif leftover.exists():
                leftover.unlink()


def relabel(target_args: TargetTextArguments, relabel_args: RelabelArguments, model_args: ModelConfig) -> int:
    """Label the target's blocks with the generic predictions and save them as a dataset; returns the status (0).

    ``model_args.model_name_or_path`` defaults to the reinforced adapter's own base (set on ``model_args``). Under
    ``accelerate launch`` each process labels an equal share of the blocks and the main process gathers the rows and
    saves the dataset (:mod:`.reinforced_model` for how the model is held). An existing non-empty ``output_dir`` is
    refused unless ``relabel_args.overwrite_output_dir``; the new dataset is written aside first (:func:`save_dataset`).
    """
    state = init_distributed(relabel_args.ddp_backend)
    if not relabel_args.reinforced_adapter:
        raise ValueError("--reinforced_adapter is required (the folder written by `geounlearn-trl reinforce`).")
    prepare_output_dir(relabel_args.output_dir, relabel_args.overwrite_output_dir)
    documents, mcq_anchors = load_target_documents(target_args)
    if relabel_args.anchors:
        anchors = load_anchor_dictionary(relabel_args.anchors)
    elif mcq_anchors is not None:
        anchors = mcq_anchors
    else:
        raise ValueError("--anchors is required with --target_text (an anchor dictionary JSON, see `geounlearn-trl anchors`).")

    resolve_base_model(model_args, relabel_args.reinforced_adapter)
    tokenizer = load_tokenizer(
        resolve_model_path(model_args.model_name_or_path), trust_remote_code=relabel_args.trust_remote_code
    )
    blocks = split_into_blocks(documents, tokenizer, target_args.block_size)
    reinforced = ReinforcedModel(
        model_args, relabel_args.reinforced_adapter, relabel_args.batch_size, relabel_args.trust_remote_code
    )
    relabel_logger.info("Relabeling %d blocks with %d anchor terms (alpha=%s, top_k=%s, %s)", len(blocks), len(anchors),
                        relabel_args.alpha, relabel_args.top_k,
                        f"ZeRO-3 sharded over {state.num_processes} processes" if reinforced.sharded
                        else f"{state.num_processes} process(es)")
    dataset, statistics = build_relabeled_dataset(
        reinforced.model,
        tokenizer,
        blocks,
        AnchorReplacer(anchors, seed=relabel_args.seed),
        alpha=relabel_args.alpha,
        top_k=relabel_args.top_k or None,
        batch_size=relabel_args.batch_size,
        suppress_anchor_tokens=relabel_args.suppress_anchor_tokens,
        lockstep=reinforced.sharded,
    )
    if state.is_main_process:
        save_dataset(dataset, relabel_args.output_dir,
                     {"target": target_args, "relabel": relabel_args, "model": model_args})
        relabel_logger.info("Saved %d relabeled blocks to %s: %s", len(dataset), relabel_args.output_dir,
                            json.dumps(statistics))
    state.wait_for_everyone()
    return 0


# --- 3. selective --------------------------------------------------------------------------------------------------


def load_relabeled_dataset(path: str | None) -> datasets.Dataset:
    """The one :class:`datasets.Dataset` ``relabel`` saved in ``path``; the errors say which step to run first."""
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
        selective_logger.warning("The labels were built with base %s but training starts from %s.", relabel_base,
                                 model_name_or_path)


def selective(script_args: SelectiveArguments, training_args: SelectiveCommandConfig, model_args: LoraModelConfig) -> int:
    """Train a fresh adapter on the base model toward the relabeled dataset's generic labels; returns the status.

    Cross-entropy to the hard labels, or KL to the soft targets (``label_type="soft"``, or ``"auto"`` when the dataset
    has them). Saves the adapter, tokenizer, resolved settings and model card in ``training_args.output_dir``, then
    pushes when asked (status 1 when the push fails).
    """
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
    selective_logger.info(
        "Selective fine-tune on %d relabeled blocks with %s labels", len(train_dataset),
        "soft (KL)" if trainer.use_soft_labels else "hard (cross-entropy)",
    )
    train_and_save(trainer, tokenizer, training_args, {"script": script_args, "training": training_args, "model": model_args})
    if trainer.accelerator.is_main_process:
        selective_logger.info("Saved to %s", training_args.output_dir)
    card_info = describe_run(
        "selective_relabel", trainer, model_args, **relabel_provenance(script_args.relabeled_dataset)
    )
    return finalize_output(trainer, card_info, push=hub_push)


# --- the chain -----------------------------------------------------------------------------------------------------


def step_training_settings(
    epochs: float, learning_rate: float, batch_size: int, seed: int, extra: dict | None = None
) -> dict:
    """The training settings of a pipeline's training step (``ReinforceConfig`` / ``SelectiveCommandConfig`` fields).

    A constant learning rate, a log line every 5 steps, no checkpoints (the steps are short; the final save is atomic)
    and no trackers; ``extra`` adds or overrides settings (``use_cpu``, ``bf16``...).
    """
    return {
        "num_train_epochs": epochs,
        "learning_rate": learning_rate,
        "per_device_train_batch_size": batch_size,
        "lr_scheduler_type": "constant",
        "logging_steps": 5,
        "save_strategy": "no",
        "report_to": "none",
        "seed": seed,
        **(extra or {}),
    }


def _flag_value(value) -> list[str]:
    """A setting as the command line spells it: ``true``/``false``, enum values, one word per list item."""
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, enum.Enum):
        return [str(value.value)]
    if isinstance(value, (list, tuple)):
        return [word for item in value for word in _flag_value(item)]
    return [str(value)]


def command_line(command: str, *sections) -> str:
    """``geounlearn-trl <command> --flag value ...`` for the dataclasses ``sections``: each field that differs from a
    default instance of its class, so the line runs the same step. Secrets (``hub_token``...) are never shown."""
    words = []
    for section in sections:
        default = type(section)()
        for spec in dataclasses.fields(section):
            value = getattr(section, spec.name)
            if not spec.init or spec.name in SECRET_FIELDS or value == getattr(default, spec.name):
                continue
            words += [f"--{spec.name}", *_flag_value(value)]
    return f"geounlearn-trl {command} {shlex.join(words)}"


def run_step(command: str, step: Callable[..., int], *sections) -> None:
    """Print the step as it would be typed, run it on ``sections``, and stop the chain when it fails."""
    print(f"\n$ {command_line(command, *sections)}", flush=True)
    code = step(*sections)
    if code:
        raise RuntimeError(f"geounlearn-trl {command} failed with exit code {code}")


def selective_pipeline(
    model_name_or_path: str,
    target_args: TargetTextArguments,
    output_dir: Path,
    *,
    batch_size: int,
    reinforce_epochs: float,
    reinforce_learning_rate: float,
    selective_epochs: float,
    selective_learning_rate: float,
    alpha: float,
    label_type: str,
    top_k: int,
    seed: int,
    extra_training: dict | None = None,
    anchors: str | None = None,
    suppress_anchor_tokens: bool = False,
) -> Path:
    """reinforce → relabel → selective from ``model_name_or_path`` on ``target_args``; returns the selective adapter.

    The steps write ``output_dir/reinforced``, ``output_dir/relabeled`` (replaced when it exists) and
    ``output_dir/selective``. Both training steps get :func:`step_training_settings` (``extra_training`` on top);
    ``top_k`` soft targets are built only for ``label_type="soft"``. ``anchors`` (an anchor dictionary JSON) is needed
    with a ``target_text`` (with an MCQ set the identities are the anchors); ``suppress_anchor_tokens`` as in
    :class:`RelabelArguments`. Raises :class:`RuntimeError` when a step returns a non-zero status.
    """
    output_dir = Path(output_dir)
    reinforced, relabeled, unlearned = output_dir / "reinforced", output_dir / "relabeled", output_dir / "selective"
    run_step(
        "reinforce", reinforce, target_args,
        ReinforceConfig(output_dir=str(reinforced),
                        **step_training_settings(reinforce_epochs, reinforce_learning_rate, batch_size, seed,
                                                 extra_training)),
        LoraModelConfig(model_name_or_path=model_name_or_path),
    )  # fmt: skip
    run_step(
        "relabel", relabel, target_args,
        RelabelArguments(reinforced_adapter=str(reinforced), anchors=anchors, alpha=alpha,
                         top_k=top_k if label_type == "soft" else 0, seed=seed,
                         suppress_anchor_tokens=suppress_anchor_tokens, output_dir=str(relabeled),
                         overwrite_output_dir=True),
        ModelConfig(model_name_or_path=model_name_or_path),
    )  # fmt: skip
    run_step(
        "selective", selective, SelectiveArguments(relabeled_dataset=str(relabeled)),
        SelectiveCommandConfig(output_dir=str(unlearned), label_type=label_type,
                               **step_training_settings(selective_epochs, selective_learning_rate, batch_size, seed,
                                                        extra_training)),
        LoraModelConfig(model_name_or_path=model_name_or_path),
    )  # fmt: skip
    return unlearned
