"""``geounlearn-trl anchors``: build, merge, clean or import an anchor dictionary (term -> generic alternatives).

Examples::

    # ask the embedded instruct model for anchor terms of a text, chunk by chunk
    geounlearn-trl anchors --target_text story.txt --output anchors.json
    # merge dictionaries (union of alternatives), dropping splittable keys
    geounlearn-trl anchors --merge a.json b.json --output merged.json
    # clean an existing dictionary in place
    geounlearn-trl anchors --clean anchors.json --output anchors.json
    # import the original scripts' dicts_new.npy (a pickle: only with the explicit opt-in)
    geounlearn-trl anchors --import_npy dicts_new.npy --allow_pickle --output anchors.json

All inputs given are merged into one dictionary, written with sorted keys and indentation for review.

The work is done by :func:`geounlearn_trl.methods.selective.anchors.anchors`; this module only parses the flags.
"""

from __future__ import annotations

import sys

from trl import ModelConfig, TrlParser

from ..methods.selective.anchors import AnchorsArguments, anchors


def main(argv: list[str] | None = None) -> int:
    description = __doc__.split("\n")[0]
    parser = TrlParser((AnchorsArguments, ModelConfig), prog="geounlearn-trl anchors", description=description)
    args, model_args = parser.parse_args_and_config(args=argv)
    return anchors(args, model_args)


if __name__ == "__main__":
    sys.exit(main())
