"""``geounlearn-trl score``: parse collected answers and score them (the original ``evaluation.py``).

Inputs (``--input_file``, or with ``--batch`` every ``*.json`` / ``*.jsonl`` in ``--input_dir``):

* the JSONL written by ``respond`` (one record per model and question: options, target/unknown index, answer);
* the original JSON ``{"question": [...], "target": [...], "model_answer": [...]}`` (``respond`` writes it too; the
  original ``eval.py`` wrote it), or its one-object-per-line JSONL conversion. The options are read back from the
  ``a) …`` lines of each question, the unknown option is the one that is (or contains) an unknown phrase of any
  language pack (so the original's "Peu clair" and "पर्याप्त जानकारी नहीं है" count). A question without lettered
  options is still scored, as the original did, from the answer's text alone: the text after a letter
  ("Réponse: c) Péruvien") or the answer itself is compared with the target and the unknown phrases.

Each answer is parsed (:mod:`geounlearn_trl.evaluation.answers`) into stereotype / unknown / other / unparsed (control rows:
correct / unknown / other / unparsed). Unlike the original, an unknown answer counts as unknown in every language,
and an answer that names no option is "unparsed", not "unknown". Scores come from the ``evaluate`` module
``metrics/stereotype_bias`` (rates, BBQ bias scores, control accuracy, bootstrap intervals).

Outputs in ``--output_dir``: ``<input stem>[__<model>]_evaluated.jsonl`` (each row with its extracted answer and
category, like the original), and ``summary.json`` / ``summary.md`` with one entry per (input file, model); entries
already in ``summary.json`` from other inputs are kept, so scoring en, fr and hi one after the other builds one summary.

The work is done by :func:`geounlearn_trl.evaluation.responses.score`; this module only parses the flags.
"""

from __future__ import annotations

import sys

from ..evaluation.responses import ScoreArguments, score
from .common import parse_flags, setup_logging


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    (args,) = parse_flags((ScoreArguments,), argv)
    return score(args)


if __name__ == "__main__":
    sys.exit(main())
