"""``geounlearn-trl prompts``: write familiarity prompts from a target text, or check prompt files in the WHP format.

Examples::

    # ask the embedded instruct model for sentence openings about the text (WHP completion format)
    geounlearn-trl prompts --target_text story.txt --output prompts.json
    # validate the released WHP files (and optionally write a normalised copy)
    geounlearn-trl prompts --completion_prompts completion_prompts.json --probability_prompts probability_prompts.json

Completion prompts are ``[{"prompt": {"prompt": str, "references": [str], "subtlety": int}}]``; probability prompts
``[{"prompt": str}]``. Errors name the file, the prompt index and the field.

The work is done by :func:`geounlearn_trl.evaluation.familiarity.familiarity_prompts`; this module only parses the
flags.
"""

from __future__ import annotations

import sys

from trl import ModelConfig, TrlParser

from ..evaluation.familiarity import PromptsArguments, familiarity_prompts


def main(argv: list[str] | None = None) -> int:
    description = __doc__.split("\n")[0]
    parser = TrlParser((PromptsArguments, ModelConfig), prog="geounlearn-trl prompts", description=description)
    args, model_args = parser.parse_args_and_config(args=argv)
    return familiarity_prompts(args, model_args)


if __name__ == "__main__":
    sys.exit(main())
