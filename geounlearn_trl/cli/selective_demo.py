"""``geounlearn-trl selective-demo``: plant a fictional text in the embedded model, then unlearn it selectively.

The "Who's Harry Potter" pipeline needs a base model that *knows* the target. No small model knows a real book well
enough to show anything on a laptop, so the demo makes one: it writes a made-up island (``data/sample/fictional_target.txt``:
Wendrake, its capital Olvenport, the river Sulwen, Admiral Hesketh Umbrel...) into SmolLM2-135M-Instruct, then runs the
real pipeline steps on it (:mod:`geounlearn_trl.methods.selective.pipeline`, each printed as the command that would
run it):

0. **plant**: ``reinforce`` with a strong LoRA on the fictional text, merged into the weights → ``planted/`` (the
   "base that knows the target");
1. **reinforce**: ``reinforce`` again on top of ``planted/`` → ``reinforced/`` (knows it even better);
2. **relabel**: ``relabel`` with ``data/sample/fictional_anchors.json`` → ``relabeled/`` (generic labels);
3. **unlearn**: ``selective`` from ``planted/`` with a fresh LoRA → ``selective/``.

It measures, before planting, after planting and after unlearning: completion familiarity (sampled completions of
``data/sample/fictional_completion_prompts.json`` that name the prompt's reference), probability familiarity (next-token
mass on the first tokens of the invented names after ``data/sample/fictional_probability_prompts.json``), the loss on the
fictional text, and the *retain* loss on a neutral held-out text (``data/sample/neutral_heldout.txt``: bread, the water
cycle, trains, photosynthesis). Unlearning worked when familiarity falls back toward its value before planting while
the retain loss stays near the planted model's. Every number printed is measured in this run; ``results.json`` in
``--output_dir`` holds them and the per-prompt details.

The work is done by :func:`geounlearn_trl.methods.selective.demo.selective_demo`; this module only parses the flags.
"""

from __future__ import annotations

import logging
import sys

from ..methods.selective.demo import SelectiveDemoArguments, selective_demo
from .common import parse_flags, setup_logging


def main(argv: list[str] | None = None) -> int:
    setup_logging(logging.WARNING)
    (args,) = parse_flags((SelectiveDemoArguments,), argv)
    return selective_demo(args)


if __name__ == "__main__":
    sys.exit(main())
