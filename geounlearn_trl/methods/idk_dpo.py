"""IdkDPO: DPO (Rafailov et al., 2023) with the language's "unknown" answer preferred over the stereotyped one, the
"I don't know" variant of preference-based unlearning (Maini et al., 2024, TOFU; as in open-unlearning).

.. math::

    \\mathcal{L}_{forget} = -\\frac{2}{\\beta}\\,\\log\\sigma\\!\\Big(\\beta\\Big[
        \\log\\frac{\\pi_\\theta(y_u \\mid x)}{\\pi_{ref}(y_u \\mid x)}
      - \\log\\frac{\\pi_\\theta(y_f \\mid x)}{\\pi_{ref}(y_f \\mid x)}\\Big]\\Big)

averaged over the batch (``y_u`` the unknown answer, ``y_f`` the stereotyped one; the ``2/β`` scale as open-unlearning's,
so that at the start its gradient on the losing answer is NPO's). Plus the retain term and, if weighted, the unknown
NLL.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .base import FORGET, UNKNOWN, UnlearningBatch, UnlearningConfig, UnlearningTrainer


@dataclass
class IdkDPOConfig(UnlearningConfig):
    """:class:`UnlearningConfig` plus DPO's β."""

    beta: float = field(default=0.1, metadata={"help": "DPO's β (open-unlearning's default 0.1)."})

    def __post_init__(self):
        super().__post_init__()
        if self.beta <= 0:
            raise ValueError(f"beta must be positive, got {self.beta}")


class IdkDPOTrainer(UnlearningTrainer):
    """Forget term: DPO, the unknown answer winning over the stereotyped one, against the reference."""

    _tag_names = ["trl", "unlearning", "idk-dpo", "dpo", "geounlearn-trl"]
    _name = "IdkDPO"
    card_title = "IdkDPO stereotype unlearning (\"unknown\" preferred over the stereotype)"
    _paper = {
        "title": "Direct Preference Optimization: Your Language Model is Secretly a Reward Model",
        "id": "2305.18290",
        "citation": textwrap.dedent("""\
            @inproceedings{rafailov2023direct,
              title     = {Direct Preference Optimization: Your Language Model is Secretly a Reward Model},
              author    = {Rafailov, Rafael and Sharma, Archit and Mitchell, Eric and Manning, Christopher D. and Ermon,
                           Stefano and Finn, Chelsea},
              booktitle = {Advances in Neural Information Processing Systems},
              year      = {2023},
              url       = {https://arxiv.org/abs/2305.18290}
            }"""),
    }
    card_formula = (
        "$$\\mathcal{L} = -\\frac{2}{\\beta}\\log\\sigma\\Big(\\beta\\Big[\\log\\frac{\\pi_\\theta(y_u|x)}{\\pi_{ref}(y_u|x)}"
        " - \\log\\frac{\\pi_\\theta(y_f|x)}{\\pi_{ref}(y_f|x)}\\Big]\\Big) + w_{retain}\\,\\mathcal{L}_{retain}$$"
    )
    reference_answers = (FORGET, UNKNOWN)
    reads_unknown = True

    def forget_loss(self, batch: UnlearningBatch) -> torch.Tensor:
        beta = self.args.beta
        margin = batch.unknown.log_ratio - batch.forget.log_ratio
        return -(2.0 / beta) * F.logsigmoid(beta * margin).mean()

    def extra_logs(self, batch: UnlearningBatch) -> dict[str, torch.Tensor]:
        return {"preference_margin": (batch.unknown.log_ratio - batch.forget.log_ratio).mean()}
