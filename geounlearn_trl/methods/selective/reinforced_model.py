"""The base model with the reinforced adapter on top, loaded for ``relabel``: one process, one copy per process, or
sharded with DeepSpeed ZeRO-3.

Under ``accelerate launch`` with a ZeRO-3 config the model is loaded under ``zero.Init`` (each process holds 1/N of the
weights, the adapter included) and run as a DeepSpeed inference engine; every forward then gathers each layer's shards
from all processes, so they must step through their shares in lockstep. With any other config each process holds a
whole copy on its own device. On CPU the processes talk over gloo (accelerate sets up no process group for DeepSpeed on
CPU by itself; ``ddp_backend`` overrides the choice).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch
from accelerate import Accelerator, PartialState
from accelerate.utils import DistributedType
from trl import ModelConfig

from ...models import (
    EMBEDDED_MODEL_NAME,
    ModelNotFoundError,
    load_model,
    resolve_model_path,
)

logger = logging.getLogger("geounlearn_trl.methods.selective.relabel")


def adapter_base_model(adapter: str) -> str | None:
    """The base model an adapter was trained on (its ``adapter_config.json``); a folder without one is refused."""
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
