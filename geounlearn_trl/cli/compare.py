"""``geounlearn-trl compare``: unlearning methods side by side on the same held-out questions, the same metrics.

Parses the flags and calls :func:`geounlearn_trl.evaluation.comparison.compare_methods`: every method of
``--methods`` (default ``gradient_ascent,npo,simnpo,idk_dpo,selective``) unlearns the same training rows from the same
base with its recipe ``recipes/<method>/``, the base is measured once and each method paired against it; one table
(each method's changes beside what it cost, with CIs) and one plot (``forgetting_vs_cost.png``), every number in
``compare_results.json``.
"""

from __future__ import annotations

import logging
import sys

from ..data.mcq import SplitArguments
from ..evaluation.comparison import CompareArguments, compare_methods
from ..evaluation.measurement import MeasurementArguments
from .common import parse_flags, setup_logging


def main(argv: list[str] | None = None) -> int:
    setup_logging(logging.WARNING)
    args, split_args, measure_args = parse_flags((CompareArguments, SplitArguments, MeasurementArguments), argv)
    results = compare_methods(args, split_args, measure_args)
    print(f"Details: {args.output_dir}/compare_results.json, plot {args.output_dir}/forgetting_vs_cost.png "
          f"({results['elapsed_seconds'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
