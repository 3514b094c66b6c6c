"""Gradient ascent on the stereotyped answer, as in the original paper (Dehghanpour Farashah et al., 2025).

.. math::

    \\mathcal{L} = w_{kl}\\,\\mathrm{KL}(\\pi_{ref} \\,\\|\\, \\pi_\\theta)_{retain}
                 + w_{unlearn}\\,(-\\mathrm{NLL}_\\theta(y_f \\mid x))
                 + w_{unk}\\,\\mathrm{NLL}_\\theta(y_u \\mid x)

with the original's weights ``1.0 / 0.25 / 0.5`` (``--weights`` / ``--kl_weight --unlearn_weight --unk_weight``, here
``retain_weight``, ``forget_weight``, ``unknown_weight``) and learning rate 1e-6. Gradient ascent has no bound: each
answer's NLL is clamped at ``forget_nll_ceiling`` (8 nats/token; ``on_ceiling='stop'`` ends training there instead).

Fixed with respect to the original ``main.py``: the answer's first token is part of the loss (prompt and answer are
tokenised separately, see :mod:`geounlearn_trl.data.prompting`); masks come from the attention and answer masks, never
from comparing ids with the pad token (with ``pad = eos`` that also masked real end-of-sequence tokens); the terms come
from one policy forward plus one no-grad reference forward over the retain rows (:mod:`geounlearn_trl.methods.base`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..citations import CITATIONS
from .base import UnlearningBatch, UnlearningConfig, UnlearningTrainer

FARASHAH_2025 = {
    "title": "Unlearning Geo-Cultural Stereotypes in Multilingual LLMs",
    "id": None,
    "citation": CITATIONS["farashah2025geocultural"],
}


@dataclass
class GradientAscentConfig(UnlearningConfig):
    """:class:`UnlearningConfig` with the original paper's weights, a KL retain term and the forget-NLL ceiling."""

    forget_weight: float = field(default=0.25, metadata={"help": "Weight of −NLL of the stereotyped answer."})
    retain_weight: float = field(default=1.0, metadata={"help": "Weight of the retain term (KL(reference‖model))."})
    unknown_weight: float = field(default=0.5, metadata={"help": "Weight of NLL of the 'unknown' answer."})
    retain_loss: str = field(
        default="kl", metadata={"help": "Retain term: 'kl' (the original) or 'nll'.", "choices": ["nll", "kl"]}
    )
    forget_nll_ceiling: float | None = field(
        default=8.0,
        metadata={"help": "Bound on gradient ascent: the forget NLL (nats/token) past which an answer counts as "
                          "unlearned. None disables the bound."},
    )


class GradientAscentTrainer(UnlearningTrainer):
    """Forget term ``−NLL_θ(stereotyped answer)``, each answer's NLL bounded by the ceiling (module docstring)."""

    _tag_names = ["trl", "unlearning", "gradient-ascent", "geounlearn-trl"]
    _name = "GradientAscent"
    _paper = FARASHAH_2025
    card_title = "Gradient-ascent stereotype unlearning"
    card_citations = ("jha2023seegull", "vonwerra2020trl")  # the paper is _paper
    card_formula = (
        "$$\\mathcal{L} = w_{retain}\\,\\mathrm{KL}(\\pi_{ref}\\,\\|\\,\\pi_\\theta)_{retain} "
        "- w_{forget}\\,\\mathrm{NLL}_\\theta(\\text{stereotyped answer}) "
        "+ w_{unknown}\\,\\mathrm{NLL}_\\theta(\\text{unknown answer})$$"
    )

    def forget_loss(self, batch: UnlearningBatch) -> torch.Tensor:
        return -self.bounded_forget_nll(batch.forget)
