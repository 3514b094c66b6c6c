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
"""

from __future__ import annotations

import gc
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trl import TrlParser

from geounlearn_trl.methods.selective.anchors import AnchorDictionaryError, load_anchor_dictionary
from geounlearn_trl.files import write_text_atomic
from geounlearn_trl.evaluation.familiarity import (
    PromptFormatError,
    completion_familiarity,
    load_completion_prompts,
    load_evaluated_model,
    load_probability_prompts,
    probability_familiarity,
    target_token_ids,
)


@dataclass
class FamiliarityArguments:
    model: list[str] = field(
        default_factory=lambda: ["smollm2-135m-instruct"],
        metadata={
            "help": "Models to compare, first = before: Hub ids, folders, smollm2-135m-instruct, or adapter "
            "folders (with adapter_config.json, loaded with PEFT on their base)."
        },
    )
    completion_prompts: str | None = field(
        default=None, metadata={"help": "WHP completion prompts JSON (prompt, references, subtlety)."}
    )
    probability_prompts: str | None = field(default=None, metadata={"help": "WHP probability prompts JSON."})
    anchor_dictionary: str | None = field(
        default=None,
        metadata={
            "help": "Anchor dictionary JSON: its keys' first tokens (with and without a leading space) are the "
            "target tokens of probability familiarity."
        },
    )
    target_terms: list[str] | None = field(
        default=None,
        metadata={
            "help": "Explicit target terms for probability familiarity (instead of, or with, --anchor_dictionary)."
        },
    )
    exclude_target_words: list[str] | None = field(
        default=None,
        metadata={
            "help": "Leave out target tokens whose text is one of these words (e.g. --exclude_target_words the a): "
            "anchor terms such as 'the Dursleys' otherwise make ' the' a target."
        },
    )
    output_dir: str = field(default="familiarity", metadata={"help": "Where familiarity.json and .md are written."})
    num_samples: int = field(default=5, metadata={"help": "Sampled completions per completion prompt."})
    max_new_tokens: int = field(default=32, metadata={"help": "Longest completion, in tokens."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature of completions."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling of completions (1.0: off)."})
    seed: int = field(default=0, metadata={"help": "Seed of the sampled completions (same for every model)."})
    batch_size: int = field(default=8, metadata={"help": "Prompts per forward / generate call."})
    max_prompts: int | None = field(default=None, metadata={"help": "Only the first N prompts of each file."})
    dtype: str = field(default="float32", metadata={"help": "Model dtype: float32, bfloat16, float16 or auto."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow models' own code (off unless asked)."})


ROWS = [
    ("completion", "familiar_rate", "completion: familiar completions"),
    ("completion", "weighted_score", "completion: WHP weighted score"),
    ("completion", "prompt_familiar_rate", "completion: prompts with a familiar completion"),
    ("probability", "mean_target_probability", "probability: mass on target tokens"),
]


def format_table(results: list[dict]) -> str:
    """Markdown table: one row per measure, one column per model (first = before)."""
    header = ["measure"] + [result["model"] for result in results]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for section, key, title in ROWS:
        if any(section in result for result in results):
            cells = [f"{result[section][key]:.4f}" if section in result else "-" for result in results]
            lines.append("| " + " | ".join([title] + cells) + " |")
    return "\n".join(lines)


def run(args: FamiliarityArguments) -> list[dict]:
    if not (args.completion_prompts or args.probability_prompts):
        raise ValueError("nothing to measure: give --completion_prompts and/or --probability_prompts")
    if args.probability_prompts and not (args.anchor_dictionary or args.target_terms):
        raise ValueError("--probability_prompts needs target tokens: give --anchor_dictionary or --target_terms")
    if not args.model:
        raise ValueError("give at least one --model")
    # Read and validate every input before loading any model.
    completion_prompts = load_completion_prompts(args.completion_prompts) if args.completion_prompts else None
    probability_prompts = load_probability_prompts(args.probability_prompts) if args.probability_prompts else None
    if args.max_prompts is not None:
        completion_prompts = completion_prompts[: args.max_prompts] if completion_prompts else completion_prompts
        probability_prompts = probability_prompts[: args.max_prompts] if probability_prompts else probability_prompts
    terms = list(load_anchor_dictionary(args.anchor_dictionary)) if args.anchor_dictionary else []
    terms += list(args.target_terms or [])
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    results = []
    for name in args.model:
        evaluated = load_evaluated_model(name, dtype=args.dtype, trust_remote_code=args.trust_remote_code)
        print(f"== {evaluated.description}", flush=True)
        result: dict = {"model": name, "description": evaluated.description}
        if completion_prompts:
            result["completion"] = completion_familiarity(
                evaluated.model,
                evaluated.tokenizer,
                completion_prompts,
                num_samples=args.num_samples,
                max_new_tokens=args.max_new_tokens,
                seed=args.seed,
                batch_size=args.batch_size,
                temperature=args.temperature,
                top_p=args.top_p,
            )
        if probability_prompts:
            ids = target_token_ids(evaluated.tokenizer, terms, exclude_words=args.exclude_target_words or ())
            result["probability"] = probability_familiarity(
                evaluated.model, evaluated.tokenizer, probability_prompts, ids, batch_size=args.batch_size
            )
        results.append(result)
        del evaluated
        gc.collect()  # one model in memory at a time

    table = format_table(results)
    payload = {"settings": asdict(args), "results": results}
    write_text_atomic(output_dir / "familiarity.json", json.dumps(payload, ensure_ascii=False, indent=2))
    write_text_atomic(output_dir / "familiarity.md", table + "\n")
    print(table)
    print(f"results: {output_dir / 'familiarity.json'}")
    return results


def main(argv: list[str] | None = None) -> int:
    (args,) = TrlParser((FamiliarityArguments,), prog="geounlearn-trl familiarity").parse_args_and_config(args=argv)
    try:
        run(args)
    except (PromptFormatError, AnchorDictionaryError, ValueError, FileNotFoundError) as error:
        print(f"geounlearn-trl familiarity: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
