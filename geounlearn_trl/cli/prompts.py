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

import json
import sys
from collections import Counter
from dataclasses import dataclass, field

from trl import ModelConfig, TrlParser

from geounlearn_trl.target_text import read_target_text
from geounlearn_trl.familiarity import (
    PromptFormatError,
    extract_completion_prompts,
    load_completion_prompts,
    load_probability_prompts,
    save_completion_prompts,
)


@dataclass
class PromptsArguments:
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
    chunk_tokens: int = field(default=384, metadata={"help": "Tokens of target text per request to the model."})
    max_chunks: int | None = field(default=None, metadata={"help": "Only the first N chunks (quick looks)."})
    max_new_tokens: int = field(default=256, metadata={"help": "Longest reply per chunk, in tokens."})
    batch_size: int = field(default=4, metadata={"help": "Chunks per generate call."})
    do_sample: bool = field(default=False, metadata={"help": "Sample replies instead of greedy decoding."})
    temperature: float = field(default=0.7, metadata={"help": "Sampling temperature (with --do_sample)."})
    repetition_penalty: float = field(
        default=1.1, metadata={"help": "Discourages the repetition loops of small models."}
    )
    seed: int = field(default=0, metadata={"help": "Seed for sampled replies."})
    save_replies: str | None = field(
        default=None, metadata={"help": "Also write the model's raw replies to this JSON file, to check the parsing."}
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow the model's own code (off unless asked)."})


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
        text = read_target_text(args.target_text)
        from geounlearn_trl.models import load_model_and_tokenizer

        model, tokenizer = load_model_and_tokenizer(model_args, trust_remote_code=args.trust_remote_code)
        report = extract_completion_prompts(
            model,
            tokenizer,
            text,
            chunk_tokens=args.chunk_tokens,
            prompts_per_chunk=args.prompts_per_chunk,
            default_subtlety=args.default_subtlety,
            max_chunks=args.max_chunks,
            max_new_tokens=args.max_new_tokens,
            batch_size=args.batch_size,
            do_sample=args.do_sample,
            temperature=args.temperature,
            repetition_penalty=args.repetition_penalty,
            seed=args.seed,
        )
        if args.save_replies:
            with open(args.save_replies, "w", encoding="utf-8") as handle:
                json.dump(report.replies, handle, ensure_ascii=False, indent=2)
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
