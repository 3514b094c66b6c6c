"""``geounlearn-trl prompts``: write familiarity prompts from a target text, or check prompt files in the WHP format.

Examples::

    # ask the embedded instruct model for sentence openings about the text (WHP completion format)
    geounlearn-trl prompts --target_text story.txt --output prompts.json
    # validate the released WHP files (and optionally write a normalised copy)
    geounlearn-trl prompts --completion_prompts completion_prompts.json --probability_prompts probability_prompts.json

Completion prompts are ``[{"prompt": {"prompt": str, "references": [str], "subtlety": int}}]``; probability prompts
``[{"prompt": str}]``. Errors name the file, the prompt index and the field.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field

from trl import ModelConfig, TrlParser

from geounlearn_trl.methods.selective.extraction import ExtractionArguments

from geounlearn_trl.evaluation.familiarity import (
    PromptFormatError,
    extract_completion_prompts,
    load_completion_prompts,
    load_probability_prompts,
    save_completion_prompts,
)


@dataclass
class PromptsArguments(ExtractionArguments):
    target_text: str | None = field(
        default=None, metadata={"help": "UTF-8 text to write familiarity prompts about with the instruct model."}
    )
    output: str | None = field(
        default=None,
        metadata={
            "help": "Where to write completion prompts (WHP format): the generated ones, or a normalised copy "
            "of --completion_prompts."
        },
    )
    completion_prompts: str | None = field(
        default=None, metadata={"help": "A WHP completion_prompts.json to validate (and with --output, normalise)."}
    )
    probability_prompts: str | None = field(
        default=None, metadata={"help": "A WHP probability_prompts.json to validate."}
    )
    prompts_per_chunk: int = field(default=5, metadata={"help": "Sentence openings to ask for per chunk."})
    default_subtlety: int = field(
        default=5, metadata={"help": "Subtlety (1..10) of a generated prompt when the model gives none."}
    )


def make_parser() -> TrlParser:
    return TrlParser((PromptsArguments, ModelConfig), prog="geounlearn-trl prompts", description=__doc__.split("\n")[0])


def run(args: PromptsArguments, model_args: ModelConfig) -> dict:
    if not (args.target_text or args.completion_prompts or args.probability_prompts):
        raise ValueError("nothing to do: give --target_text, --completion_prompts and/or --probability_prompts")
    if args.target_text and args.completion_prompts:
        raise ValueError("give either --target_text (generate) or --completion_prompts (validate), not both")
    if args.target_text and not args.output:
        raise ValueError("--target_text needs --output, the file to write the generated prompts to")
    if not 1 <= args.default_subtlety <= 10:
        raise ValueError(f"--default_subtlety must lie in 1..10, got {args.default_subtlety}")
    summary: dict = {}
    if args.completion_prompts:
        prompts = load_completion_prompts(args.completion_prompts)
        subtleties = Counter(p.subtlety for p in prompts)
        summary.update(
            completion_prompts=len(prompts),
            references=sum(len(p.references) for p in prompts),
            subtlety_counts=dict(sorted(subtleties.items())),
        )
        if args.output:
            save_completion_prompts(prompts, args.output)
            summary["output"] = args.output
    if args.probability_prompts:
        summary["probability_prompts"] = len(load_probability_prompts(args.probability_prompts))
    if args.target_text:
        report = args.extract_from_target_text(
            extract_completion_prompts,
            model_args,
            prompts_per_chunk=args.prompts_per_chunk,
            default_subtlety=args.default_subtlety,
        )
        summary.update(
            chunks=report.num_chunks, skipped_lines=report.skipped_lines, prompts_not_in_text=report.not_in_text
        )
        if report.skipped_examples:
            summary["skipped_examples"] = report.skipped_examples[:3]
        if not report.prompts:
            raise ValueError(
                "the model's replies held no usable prompt (see --save_replies); nothing written to " + args.output
            )
        save_completion_prompts(report.prompts, args.output)
        summary.update(completion_prompts=len(report.prompts), output=args.output)
    return summary


def main(argv: list[str] | None = None) -> int:
    args, model_args = make_parser().parse_args_and_config(args=argv)
    try:
        summary = run(args, model_args)
    except (PromptFormatError, ValueError, FileNotFoundError) as error:
        print(f"geounlearn-trl prompts: {error}", file=sys.stderr)
        return 1
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
