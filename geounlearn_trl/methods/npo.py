"""Negative Preference Optimization (NPO; Zhang et al., 2024): DPO's loss with only a losing answer, the stereotyped one.

.. math::

    \\mathcal{L}_{forget} = -\\frac{2}{\\beta}\\,\\log\\sigma\\!\\Big(-\\beta\\,
        \\log\\frac{\\pi_\\theta(y_f \\mid x)}{\\pi_{ref}(y_f \\mid x)}\\Big)

averaged over the batch, with ``log π(y|x)`` the sum over the answer's tokens. Its gradient is gradient ascent's
weighted by ``2 π_θ^β / (π_θ^β + π_ref^β)``: it fades as the answer becomes unlikely, so NPO is bounded where gradient
ascent is not (as β → 0 it becomes gradient ascent). Plus the retain term (NLL by default) and, if weighted, the
unknown term.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .base import FORGET, UnlearningBatch, UnlearningConfig, UnlearningTrainer


@dataclass
class NPOConfig(UnlearningConfig):
    """:class:`UnlearningConfig` plus NPO's inverse temperature β."""

    beta: float = field(default=0.1, metadata={"help": "NPO's β (the paper's and open-unlearning's default 0.1)."})

    def __post_init__(self):
        super().__post_init__()
        if self.beta <= 0:
            raise ValueError(f"beta must be positive, got {self.beta}")


class NPOTrainer(UnlearningTrainer):
    """Forget term: NPO's loss on the stereotyped answer against the reference (module docstring)."""

    _tag_names = ["trl", "unlearning", "npo", "geounlearn-trl"]
    _name = "NPO"
    card_title = "NPO stereotype unlearning"
    _paper = {
        "title": "Negative Preference Optimization: From Catastrophic Collapse to Effective Unlearning",
        "id": "2404.05868",
        "citation": textwrap.dedent("""\
            @inproceedings{zhang2024negative,
              title     = {Negative Preference Optimization: From Catastrophic Collapse to Effective Unlearning},
              author    = {Zhang, Ruiqi and Lin, Licong and Bai, Yu and Mei, Song},
              booktitle = {First Conference on Language Modeling},
              year      = {2024},
              url       = {https://arxiv.org/abs/2404.05868}
            }"""),
    }
    card_formula = (
        "$$\\mathcal{L} = -\\frac{2}{\\beta}\\log\\sigma\\Big(-\\beta\\log\\frac{\\pi_\\theta(y_f|x)}{\\pi_{ref}(y_f|x)}\\Big)"
        " + w_{retain}\\,\\mathcal{L}_{retain}$$"
    )
    reference_answers = (FORGET,)

    def forget_loss(self, batch: UnlearningBatch) -> torch.Tensor:
        beta = self.args.beta
        return -(2.0 / beta) * F.logsigmoid(-beta * batch.forget.log_ratio).mean()

    def extra_logs(self, batch: UnlearningBatch) -> dict[str, torch.Tensor]:
        return {"forget_log_ratio": batch.forget.log_ratio.mean()}
