"""``geounlearn-trl respond``: collect a model's answers to the MCQ questions (the original ``eval.py``), resumably.

Each question is shown with its four options plus one "unknown" phrase of the language, shuffled reproducibly from
``--seed`` (:func:`geounlearn_trl.data.mcq.present_question`): lettered ``a)`` … ``e)`` in the prompt
(``--prompt_style options``, the original format, needed to generate) or as continuations of the question alone
(``cloze``, the default of option log-likelihood, as ``demo`` measures). The chat template is used when the tokenizer
has one (``--no_chat_template`` turns it off).

Which rows: ``--split eval`` (default) the held-out rows of the split every command makes (``--eval_fraction``,
``--split_seed``), ``train`` the others, ``all`` every row (the original ``eval.py``); the split is recorded in every
record. ``--item_types`` chooses among the stereotype questions (``ambiguous``), their ``disambiguated`` items (two
per question: the context states the identity) and the ``control`` questions.

Two ways to answer:

* ``--mode loglik`` (default): every option is scored by the model's log-likelihood of its text after the prompt
  under ``--scoring_rule`` (:func:`geounlearn_trl.evaluation.measurement.pick_options`, batched forward passes, no generation);
  the answer is the best-scoring option, written as ``"c) Zimbabwean"``.
* ``--mode generate``: batched greedy generation of at most ``--max_new_tokens`` tokens; the free text is parsed into
  an option (:func:`geounlearn_trl.evaluation.answers.parse_answer`) for the JSONL record, and scored later by ``score``.

Outputs, in ``--output_dir``:

* ``<filename>.jsonl``: one record per (model, question): model, language, mode, seed, option order, target/unknown
  index, the answer, the chosen option and the per-option scores. Records are appended and flushed batch by batch;
  a stopped run is resumed by running the same command again (rows already there are skipped; a half-written last
  line is dropped; batches are re-formed exactly as in an uninterrupted run, so the file ends up identical).
* ``<filename>.json`` (``<filename>_<model>.json`` when ``--model_dir`` holds several models): the original shape
  ``{"question": [...], "target": [...], "model_answer": [...]}`` of the stereotype questions, rewritten from the JSONL
  at the end, so the original ``evaluation.py`` and other old tooling keep working.

``--model_dir`` is a saved model, a PEFT adapter folder (``adapter_config.json``; its base, possibly the embedded
``smollm2-135m-instruct``, is resolved and loaded first), the embedded model's name, a Hub id, or a folder of several
such models (each subfolder with ``config.json`` or ``adapter_config.json`` is evaluated in turn).

The work is done by :func:`geounlearn_trl.evaluation.responding.respond`; this module only parses the flags.
"""

from __future__ import annotations

import sys

from ..data.mcq import SplitArguments
from ..evaluation.responding import RespondArguments, respond
from .common import parse_flags, setup_logging


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    args, split_args = parse_flags((RespondArguments, SplitArguments), argv)
    return respond(args, split_args)


if __name__ == "__main__":
    sys.exit(main())
