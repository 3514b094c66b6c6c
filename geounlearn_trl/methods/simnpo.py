"""SimNPO (Fan et al., 2024): NPO without a reference model, the answer's log-likelihood normalised by its length.

.. math::

    \\mathcal{L}_{forget} = -\\frac{2}{\\beta}\\,\\log\\sigma\\!\\Big(-\\frac{\\beta}{|y_f|}\\log\\pi_\\theta(y_f \\mid x)
        - \\gamma\\Big)

averaged over the batch (``|y_f|`` the answer's token count, γ a margin). Reference-free: with an NLL retain term no
reference forward runs at all. Plus the retain term and, if weighted, the unknown term.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .base import UnlearningBatch, UnlearningConfig, UnlearningTrainer


@dataclass
class SimNPOConfig(UnlearningConfig):
    """:class:`UnlearningConfig` plus SimNPO's β and margin γ."""

    beta: float = field(default=4.5, metadata={"help": "SimNPO's β (open-unlearning's TOFU default 4.5)."})
    gamma: float = field(default=0.0, metadata={"help": "SimNPO's reward margin γ (default 0)."})

    def __post_init__(self):
        super().__post_init__()
        if self.beta <= 0:
            raise ValueError(f"beta must be positive, got {self.beta}")


class SimNPOTrainer(UnlearningTrainer):
    """Forget term: SimNPO's length-normalised, reference-free loss on the stereotyped answer (module docstring)."""

    _tag_names = ["trl", "unlearning", "simnpo", "geounlearn-trl"]
    _name = "SimNPO"
    card_title = "SimNPO stereotype unlearning"
    _paper = {
        "title": "Simplicity Prevails: Rethinking Negative Preference Optimization for LLM Unlearning",
        "id": "2410.07163",
        "citation": textwrap.dedent("""\
            @article{fan2024simplicity,
              title   = {Simplicity Prevails: Rethinking Negative Preference Optimization for {LLM} Unlearning},
              author  = {Fan, Chongyu and Liu, Jiancheng and Lin, Licong and Jia, Jinghan and Zhang, Ruiqi and Mei, Song
                         and Liu, Sijia},
              journal = {arXiv preprint arXiv:2410.07163},
              year    = {2024},
              url     = {https://arxiv.org/abs/2410.07163}
            }"""),
    }
    card_formula = (
        "$$\\mathcal{L} = -\\frac{2}{\\beta}\\log\\sigma\\Big(-\\frac{\\beta}{|y_f|}\\log\\pi_\\theta(y_f|x) - \\gamma\\Big)"
        " + w_{retain}\\,\\mathcal{L}_{retain}$$"
    )

    def forget_loss(self, batch: UnlearningBatch) -> torch.Tensor:
        beta, gamma = self.args.beta, self.args.gamma
        return -(2.0 / beta) * F.logsigmoid(-(beta / batch.forget.tokens) * batch.forget.policy - gamma).mean()
