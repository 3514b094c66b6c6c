"""``geounlearn-trl relabel``: generic labels for the target text (step 3 of selective unlearning).

Loads the base model once with the reinforced adapter on top (``--reinforced_adapter``, from ``reinforce``), cuts the
target into the same blocks as ``reinforce``, replaces the anchor terms of ``--anchors`` (or, with ``--mcq_dataset``,
the identities), and labels every block with ``v_base − α·ReLU(v_reinforced − v_base)`` (``--alpha``, default 5):
the hard argmax, plus the top ``--top_k`` soft targets when asked. The rules are in :mod:`geounlearn_trl.relabel`.

Saves a :class:`datasets.Dataset` with ``save_to_disk`` in ``--output_dir`` (read it with ``datasets.load_from_disk``;
``selective`` trains on it), and the resolved flags beside it. An existing non-empty ``--output_dir`` is refused unless
``--overwrite_output_dir``; the new dataset is written to a temporary folder first, so a failed run loses nothing.

Under ``accelerate launch`` each process labels an equal share of the blocks and the main process gathers the rows
and saves the dataset. With a DeepSpeed ZeRO-3 config the model is *sharded*: loaded under ``zero.Init`` (each process
holds 1/N of the weights, the adapter included) and run as a DeepSpeed inference engine, the processes stepping through
their shares in lockstep because every forward gathers each layer's shards from all of them. With any other config each
process holds a whole copy on its own device. On CPU the processes talk over gloo (accelerate sets up no process group
for DeepSpeed on CPU by itself; ``--ddp_backend`` overrides the choice).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator, PartialState
from accelerate.utils import DistributedType
from trl import ModelConfig

from ..models import EMBEDDED_MODEL_NAME, ModelNotFoundError, load_model, load_tokenizer, resolve_model_path
from ..anchors import load_anchor_dictionary
from ..relabel import AnchorReplacer, build_relabeled_dataset
from ..target_text import TargetTextArguments, load_target_documents, split_into_blocks
from .common import parse_flags, save_resolved_config, setup_logging

logger = logging.getLogger("geounlearn_trl.relabel")


@dataclass
class RelabelArguments:
    reinforced_adapter: str | None = field(
        default=None, metadata={"help": "Folder of the reinforced LoRA adapter (output of `geounlearn-trl reinforce`)."}
    )
    anchors: str | None = field(
        default=None,
        metadata={"help": "Anchor dictionary JSON {term: [alternatives]}; optional with --mcq_dataset (identities)."},
    )
    output_dir: str = field(default="outputs/relabeled", metadata={"help": "Where the relabeled dataset is saved."})
    alpha: float = field(default=5.0, metadata={"help": "α in v_base − α·ReLU(v_reinforced − v_base)."})
    top_k: int = field(default=0, metadata={"help": "Also store the top-k generic tokens as soft targets (0: hard only)."})
    suppress_anchor_tokens: bool = field(
        default=False,
        metadata={"help": "Never use the first token of an anchor term as a generic label (an addition to the paper)."},
    )
    seed: int = field(default=42, metadata={"help": "Seed of the per-block choice of alternatives."})
    batch_size: int = field(default=4, metadata={"help": "Blocks per forward pass."})
    overwrite_output_dir: bool = field(default=False, metadata={"help": "Replace an existing --output_dir."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow custom model code from the Hub."})
    ddp_backend: str | None = field(
        default=None,
        metadata={"help": "Process-group backend under accelerate launch (default: gloo on CPU, the launcher's on GPU)."},
    )


def adapter_base_model(adapter: str) -> str | None:
    config_path = Path(adapter) / "adapter_config.json"
    if not config_path.is_file():
        raise FileNotFoundError(
            f"--reinforced_adapter {adapter}: no adapter_config.json there. relabel needs a LoRA adapter (reinforce "
            "without --use_peft false), since base and reinforced logits come from one model with the adapter toggled."
        )
    with open(config_path, encoding="utf-8") as handle:
        return json.load(handle).get("base_model_name_or_path")


def init_distributed(ddp_backend: str | None) -> PartialState:
    """The process state, created before anything else asks for it (it is a singleton: the first call decides).

    On CPU, gloo unless told otherwise: with a DeepSpeed config accelerate would otherwise start no process group, and
    every process would believe it is alone, label everything and write the same folder.
    """
    if ddp_backend is None and not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        ddp_backend = "gloo"
    return PartialState(backend=ddp_backend) if ddp_backend else PartialState()


def zero3_inference_config(batch_size: int, model_args: ModelConfig) -> dict | None:
    """The launch's DeepSpeed config with its ``"auto"`` values filled for inference, or None unless it is ZeRO-3.

    The Trainer fills ``"auto"`` from TrainingArguments; relabel has no Trainer, so it fills them from its own flags.
    """
    state = PartialState()
    if state.distributed_type != DistributedType.DEEPSPEED:
        return None
    plugin = Accelerator().state.deepspeed_plugin
    config = json.loads(json.dumps(plugin.deepspeed_config))
    if config.get("zero_optimization", {}).get("stage") != 3:
        return None
    from transformers import AutoConfig

    hidden_size = AutoConfig.from_pretrained(resolve_model_path(model_args.model_name_or_path)).hidden_size
    dtype = str(model_args.dtype)
    filled = {
        "train_micro_batch_size_per_gpu": batch_size,
        "gradient_accumulation_steps": 1,
        "train_batch_size": batch_size * state.num_processes,
        "gradient_clipping": 1.0,
    }
    for key, value in filled.items():
        if config.get(key, "auto") == "auto":
            config[key] = value
    for precision, enabled in (("bf16", "bfloat16" in dtype), ("fp16", "float16" in dtype and "bfloat16" not in dtype)):
        if config.get(precision, {}).get("enabled") == "auto":
            config[precision]["enabled"] = enabled
    zero = config["zero_optimization"]
    # The sizes TRL's prepare_deepspeed uses for a sharded inference copy.
    for key, value in (
        ("reduce_bucket_size", hidden_size * hidden_size),
        ("stage3_prefetch_bucket_size", int(0.9 * hidden_size * hidden_size)),
        ("stage3_param_persistence_threshold", 10 * hidden_size),
    ):
        if zero.get(key) == "auto":
            zero[key] = value
    for training_only in ("optimizer", "scheduler"):
        config.pop(training_only, None)
    zero.pop("offload_optimizer", None)
    return config


class ReinforcedModel:
    """The base model with the reinforced adapter on top: one set of weights, the adapter toggled per forward.

    ``model`` is the :class:`~peft.PeftModel` relabel calls; ``sharded`` says whether it is ZeRO-3 sharded across the
    processes (then every process must run the same forwards); ``engine`` keeps the DeepSpeed engine that owns the
    shards alive.
    """

    def __init__(self, model_args: ModelConfig, adapter: str, batch_size: int, trust_remote_code: bool = False):
        from peft import PeftModel

        state = PartialState()
        zero3_config = zero3_inference_config(batch_size, model_args)
        self.engine = None
        if zero3_config is not None:
            import deepspeed
            from transformers.integrations import HfDeepSpeedConfig

            # Alive while loading: from_pretrained then partitions every weight as it is read (zero.Init).
            deepspeed_config = HfDeepSpeedConfig(zero3_config)
            base = load_model(model_args, trust_remote_code=trust_remote_code, device_map=None)
            model = PeftModel.from_pretrained(base, adapter, is_trainable=False)
            self.engine, *_ = deepspeed.initialize(model=model, config=zero3_config)
            self.engine.eval()
            del deepspeed_config
            self.model = self.engine.module  # its layers gather their shards in forward hooks
        else:
            overrides = {"device_map": {"": state.device}} if state.num_processes > 1 else {}
            base = load_model(model_args, trust_remote_code=trust_remote_code, **overrides)
            self.model = PeftModel.from_pretrained(base, adapter, is_trainable=False)

    @property
    def sharded(self) -> bool:
        return self.engine is not None


def _same_model(first: str, second: str) -> bool:
    try:
        return os.path.abspath(resolve_model_path(first)) == os.path.abspath(resolve_model_path(second))
    except ModelNotFoundError:
        return first == second


def resolve_base_model(model_args: ModelConfig, adapter: str) -> None:
    """Default the base model to the adapter's own base; warn when an explicit one differs from it."""
    adapter_base = adapter_base_model(adapter)
    if model_args.model_name_or_path is None:
        model_args.model_name_or_path = adapter_base or EMBEDDED_MODEL_NAME
    elif adapter_base and not _same_model(model_args.model_name_or_path, adapter_base):
        logger.warning(
            "--model_name_or_path %s differs from the adapter's base %s: the base logits come from the former.",
            model_args.model_name_or_path,
            adapter_base,
        )


def prepare_output_dir(output_dir: str, overwrite: bool) -> None:
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


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    target_args, relabel_args, model_args = parse_flags((TargetTextArguments, RelabelArguments, ModelConfig), argv)
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
    logger.info("Relabeling %d blocks with %d anchor terms (alpha=%s, top_k=%s, %s)", len(blocks), len(anchors),
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
        logger.info("Saved %d relabeled blocks to %s: %s", len(dataset), relabel_args.output_dir, json.dumps(statistics))
    state.wait_for_everyone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
