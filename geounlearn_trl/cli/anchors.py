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
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from trl import ModelConfig, TrlParser

from geounlearn_trl.methods.selective.extraction import ExtractionArguments

from geounlearn_trl.methods.selective.anchors import (
    PICKLE_WARNING,
    AnchorDictionaryError,
    PickleRefusedError,
    clean_anchor_dictionary,
    extract_anchor_dictionary,
    load_anchor_dictionary,
    load_npy_dictionaries,
    merge_anchor_dictionaries,
    save_anchor_dictionary,
    splittable_keys,
)


@dataclass(kw_only=True)  # --output is required: keyword-only lets it follow the shared fields' defaults
class AnchorsArguments(ExtractionArguments):
    output: str = field(metadata={"help": "Where to write the anchor dictionary (JSON, sorted keys, indented)."})
    target_text: str | None = field(
        default=None, metadata={"help": "UTF-8 text to extract anchor terms from with the instruct model."}
    )
    merge: list[str] | None = field(
        default=None, metadata={"help": "Anchor dictionary JSON files to merge (union of alternatives)."}
    )
    clean: str | None = field(
        default=None,
        metadata={"help": "An existing anchor dictionary JSON to clean (drop splittable keys); may equal --output."},
    )
    import_npy: str | None = field(
        default=None,
        metadata={"help": "The original scripts' dicts_new.npy (a dict or list of dicts). Needs --allow_pickle."},
    )
    allow_pickle: bool = field(
        default=False,
        metadata={"help": f"Allow --import_npy to unpickle: {PICKLE_WARNING}."},
    )
    drop_splittable: bool = field(
        default=True,
        metadata={
            "help": 'Drop splittable keys after merging: "X\'s" when "X" is a key, multi-word keys whose words '
            "are all keys (as the original does)."
        },
    )
    num_alternatives: int = field(default=3, metadata={"help": "Generic alternatives to ask for per anchor term."})


def make_parser() -> TrlParser:
    return TrlParser((AnchorsArguments, ModelConfig), prog="geounlearn-trl anchors", description=__doc__.split("\n")[0])


def run(args: AnchorsArguments, model_args: ModelConfig) -> dict:
    """Build the dictionary from every input given, write it, and return a summary."""
    if not (args.target_text or args.merge or args.clean or args.import_npy):
        raise ValueError("nothing to do: give --target_text, --merge, --clean and/or --import_npy")
    sources, summary = [], {}
    # Read every file input first: a bad file fails before minutes of generation are spent.
    for path in list(args.merge or []) + ([args.clean] if args.clean else []):
        sources.append(load_anchor_dictionary(path))
    if args.import_npy:
        sources += load_npy_dictionaries(args.import_npy, allow_pickle=args.allow_pickle)
    if args.target_text:
        report = args.extract_from_target_text(
            extract_anchor_dictionary,
            model_args,
            num_alternatives=args.num_alternatives,
            drop_splittable=False,  # cleaned once below, after merging with the other inputs
        )
        summary.update(
            chunks=report.num_chunks,
            extracted_terms=len(report.dictionary),
            skipped_lines=report.skipped_lines,
            terms_not_in_text=report.not_in_text,
        )
        if report.skipped_examples:
            summary["skipped_examples"] = report.skipped_examples[:3]
        sources.append(report.dictionary)
    merged = merge_anchor_dictionaries(*sources)
    seen = {" ".join(str(key).split()) for source in sources for key in source}
    summary["dropped_without_alternatives"] = len(seen - set(merged))  # keys whose only alternative was themselves
    summary["terms_before_cleaning"] = len(merged)
    dictionary = merged
    if args.drop_splittable or args.clean:
        dropped = splittable_keys(merged)
        dictionary = clean_anchor_dictionary(merged)
        summary["dropped_splittable"] = len(dropped)
    if not dictionary:
        raise ValueError(
            "no anchor terms were found"
            + (" (the model's replies could not be parsed; see --save_replies)" if args.target_text else "")
            + f"; nothing written to {args.output}"
        )
    save_anchor_dictionary(dictionary, args.output)
    summary.update(terms=len(dictionary), output=args.output)
    return summary


def main(argv: list[str] | None = None) -> int:
    args, model_args = make_parser().parse_args_and_config(args=argv)
    try:
        summary = run(args, model_args)
    except PickleRefusedError as error:
        print(f"geounlearn-trl anchors: {error}", file=sys.stderr)
        return 2
    except (AnchorDictionaryError, ValueError, FileNotFoundError) as error:
        print(f"geounlearn-trl anchors: {error}", file=sys.stderr)
        return 1
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
