"""``geounlearn-trl report``: one table and two pictures over several scored runs (models x languages).

Input: the ``summary.json`` files written by ``score`` (or folders holding one). Each run there is one model measured
in one language. One model is the baseline (before unlearning: ``--baseline``, or the only model whose name names no
language); every other model was unlearned in one language (``--unlearned_languages name=en,other=fr``, or read from
its name: a ``en`` / ``fr`` / ``hi`` token such as ``ga-fr`` or ``unlearned_hi_lora``).

Outputs in ``--output_dir``:

* ``report.md``: per model and language, every metric with its 95% interval and the change from the baseline,
  control accuracy and control unknown rate beside them;
* ``before_after.png``: per metric, bars per evaluation language, baseline vs each unlearned model, with intervals,
  control accuracy in its own panel;
* ``cross_lingual.png``: matrices "unlearned in (row) x measured in (column)" of the change in stereotype rate,
  unknown rate and control accuracy.

The work is done by :func:`geounlearn_trl.evaluation.report.report`; this module only parses the flags.
"""

from __future__ import annotations

import sys

from ..evaluation.report import ReportArguments, report
from .common import parse_flags, setup_logging


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    (args,) = parse_flags((ReportArguments,), argv)
    return report(args)


if __name__ == "__main__":
    sys.exit(main())
