"""``geounlearn-trl familiarity``: completion and probability familiarity of one or more models, side by side.

Examples::

    geounlearn-trl familiarity \\
        --model smollm2-135m-instruct runs/selective/adapter \\
        --completion_prompts ../shared/data/whp/completion_prompts.json \\
        --probability_prompts ../shared/data/whp/probability_prompts.json \\
        --anchor_dictionary ../shared/data/whp/anchor_dictionary.json \\
        --output_dir runs/familiarity

Each ``--model`` is a Hub id, a folder, the embedded ``smollm2-135m-instruct``, or a PEFT adapter folder (it has
``adapter_config.json``; it is loaded on its base). The first model is the "before" column. Results (with every
completion) go to ``<output_dir>/familiarity.json``, the table to ``<output_dir>/familiarity.md``.

The work is done by :func:`geounlearn_trl.evaluation.familiarity.familiarity`; this module only parses the flags.
"""

from __future__ import annotations

import sys

from trl import TrlParser

from ..evaluation.familiarity import FamiliarityArguments, familiarity


def main(argv: list[str] | None = None) -> int:
    (args,) = TrlParser((FamiliarityArguments,), prog="geounlearn-trl familiarity").parse_args_and_config(args=argv)
    return familiarity(args)


if __name__ == "__main__":
    sys.exit(main())
