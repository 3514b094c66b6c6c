"""The ``geounlearn-trl`` entry point: ``geounlearn-trl <command> [flags]``.

Each command is a module ``geounlearn_trl.cli.<command>`` (hyphens become underscores) with a ``main(argv)``; the module form
``python -m geounlearn_trl.cli.<command>`` works too, which is what ``accelerate launch`` runs.

A malformed or missing input file (any :class:`geounlearn_trl.data.records.InputError`: MCQ, retain, language pack, anchor,
prompt, recipe, response or ``eval_results.json`` file, a broken model or adapter folder) ends ``geounlearn-trl
<command>`` with one line on stderr naming the file, the row (or key) and the field, and exit status 2; nothing already
written is touched (the loaders run before any output is written, and outputs are written to a temporary name first).
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "unlearn": "Stereotype unlearning with --method (gradient_ascent, grad_diff, npo, simnpo, idk_dpo).",
    "demo": "The main job on the embedded model: unlearn, then stereotype/unknown/control rates before vs after.",
    "respond": "Collect a model's answers to MCQ questions (generate or option log-likelihood).",
    "score": "Parse and score collected answers.",
    "report": "Markdown table and plots over several scored runs.",
    "anchors": "Build or import an anchor-term dictionary for selective relabeling.",
    "reinforce": "Fine-tune a reinforced adapter on the target text.",
    "relabel": "Build generic labels from base vs reinforced logits.",
    "selective": "Fine-tune toward the generic labels (SelectiveRelabelTrainer).",
    "selective-demo": "The selective-relabel pipeline on the embedded model: plant a fiction, unlearn it, measure.",
    "compare": "Unlearning methods side by side (--methods) on the same held-out questions and metrics.",
    "prompts": "Generate or load familiarity prompts.",
    "familiarity": "Completion and probability familiarity, before vs after.",
    "lm-eval-tasks": "Write the stereotype evaluation as lm-evaluation-harness tasks, for every language pack.",
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: geounlearn-trl <command> [flags]   (geounlearn-trl <command> --help for its flags)", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, summary in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"geounlearn-trl: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"geounlearn_trl.cli.{command.replace('-', '_')}")
    from ..models import ModelNotFoundError
    from ..data.records import InputError

    try:
        return module.main(rest) or 0
    except (InputError, ModelNotFoundError) as error:
        # A malformed or missing input file: one line naming the file, the row (or key) and the field, exit status 2
        # (the command modules' own main functions raise it, for callers in Python).
        print(f"geounlearn-trl {command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
