"""Gradient difference (GradDiff): ascend on the forget answer, descend on the retain set (Liu et al., 2022; the
baseline of TOFU, Maini et al., 2024).

.. math::

    \\mathcal{L} = -\\mathrm{NLL}_\\theta(y_f \\mid x) + \\mathrm{NLL}_\\theta(\\text{retain})

Gradient ascent with an NLL retain term instead of the KL, weights 1 / 1, no unknown term (``--unknown_weight`` adds
it); the forget NLL is bounded by the same ceiling.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from .gradient_ascent import GradientAscentConfig, GradientAscentTrainer


@dataclass
class GradDiffConfig(GradientAscentConfig):
    """:class:`GradientAscentConfig` with GradDiff's terms: −NLL(forget) + NLL(retain)."""

    forget_weight: float = field(default=1.0, metadata={"help": "Weight of −NLL of the stereotyped answer."})
    retain_weight: float = field(default=1.0, metadata={"help": "Weight of the retain NLL."})
    unknown_weight: float = field(default=0.0, metadata={"help": "Weight of NLL of the 'unknown' answer."})
    retain_loss: str = field(default="nll", metadata={"help": "Retain term: 'nll' or 'kl'.", "choices": ["nll", "kl"]})


class GradDiffTrainer(GradientAscentTrainer):
    """The forget term of gradient ascent; the retain term is the NLL (the config's default)."""

    _tag_names = ["trl", "unlearning", "grad-diff", "geounlearn-trl"]
    _name = "GradDiff"
    card_title = "Gradient-difference (GradDiff) stereotype unlearning"
    card_citations = ("farashah2025geocultural", "jha2023seegull", "vonwerra2020trl")
    _paper = {
        "title": "Continual Learning and Private Unlearning",
        "id": "2203.12817",
        "citation": textwrap.dedent("""\
            @inproceedings{liu2022continual,
              title     = {Continual Learning and Private Unlearning},
              author    = {Liu, Bo and Liu, Qiang and Stone, Peter},
              booktitle = {Conference on Lifelong Learning Agents},
              year      = {2022},
              url       = {https://arxiv.org/abs/2203.12817}
            }"""),
    }
    card_formula = (
        "$$\\mathcal{L} = -w_{forget}\\,\\mathrm{NLL}_\\theta(\\text{stereotyped answer}) "
        "+ w_{retain}\\,\\mathrm{NLL}_\\theta(\\text{retain})$$"
    )
