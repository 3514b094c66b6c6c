"""Unlearning methods: one file each over :mod:`~geounlearn_trl.methods.base`, and the registry every command reads.

Adding a method: its file here (a ``*Config`` and a ``*Trainer`` defining ``forget_loss``), its line in
:data:`METHODS`, its recipe under ``recipes/<name>/``. ``unlearn --method``, ``compare --methods`` and the model card
take it from here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    """Where a method's config and trainer live (imported on use: ``--help`` need not import torch)."""

    module: str
    config: str
    trainer: str
    # "paired": forget/unknown/retain rows built from an MCQ set (``unlearn``); "relabeled": a relabeled target text
    # (``relabel`` then ``selective``).
    data: str = "paired"

    def classes(self):
        module = importlib.import_module(f"{__name__}.{self.module}")
        return getattr(module, self.config), getattr(module, self.trainer)


METHODS: dict[str, Method] = {
    "gradient_ascent": Method("gradient_ascent", "GradientAscentConfig", "GradientAscentTrainer"),
    "grad_diff": Method("grad_diff", "GradDiffConfig", "GradDiffTrainer"),
    "npo": Method("npo", "NPOConfig", "NPOTrainer"),
    "simnpo": Method("simnpo", "SimNPOConfig", "SimNPOTrainer"),
    "idk_dpo": Method("idk_dpo", "IdkDPOConfig", "IdkDPOTrainer"),
    "selective_relabel": Method("selective_relabel", "SelectiveRelabelConfig", "SelectiveRelabelTrainer", "relabeled"),
}
DEFAULT_METHOD = "gradient_ascent"
PAIRED_METHODS = tuple(name for name, method in METHODS.items() if method.data == "paired")


def method_classes(name: str):
    """``(config class, trainer class)`` of a registered method; the error lists the known ones."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name].classes()
