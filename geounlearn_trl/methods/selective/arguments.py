"""The settings of the selective-relabeling steps (``reinforce`` → ``relabel`` → ``selective``) as dataclasses.

Each is both the flags of a command (``TrlParser`` reads the fields, their ``help`` is the ``--help`` text) and the
typed arguments of the library function of :mod:`geounlearn_trl.methods.selective.pipeline` that runs the step, so a
step is run the same way from the command line, a recipe or Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import ModelConfig, SFTConfig

from ...models import EMBEDDED_MODEL_NAME
from ..selective_relabel import SelectiveRelabelConfig


@dataclass
class LoraModelConfig(ModelConfig):
    """:class:`~trl.ModelConfig` with the embedded model and LoRA as defaults (``reinforce`` and ``selective``)."""

    model_name_or_path: str | None = field(
        default=EMBEDDED_MODEL_NAME, metadata={"help": "Hub id, local folder, or the embedded default."}
    )
    use_peft: bool = field(default=True, metadata={"help": "Train a LoRA adapter (default); false: full fine-tuning."})


@dataclass
class ReinforceConfig(SFTConfig):
    """:class:`~trl.SFTConfig` of ``reinforce``, with defaults for a LoRA adapter on CPU or GPU."""

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


@dataclass
class RelabelArguments:
    """What ``relabel`` labels with: the reinforced adapter, the anchors, α, and where the dataset goes."""

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


@dataclass
class SelectiveArguments:
    """The data ``selective`` trains on: the folder ``relabel`` saved."""

    relabeled_dataset: str | None = field(
        default=None, metadata={"help": "Folder written by `geounlearn-trl relabel` (datasets.save_to_disk)."}
    )


@dataclass
class SelectiveCommandConfig(SelectiveRelabelConfig):
    """:class:`~geounlearn_trl.methods.selective_relabel.SelectiveRelabelConfig` with the step's own output folder."""

    output_dir: str | None = field(default="outputs/selective", metadata={"help": "Where the unlearned adapter is saved."})
