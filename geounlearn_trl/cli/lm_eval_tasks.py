"""``geounlearn-trl lm-eval-tasks``: write our stereotype evaluation as lm-evaluation-harness tasks.

For every installed language pack (and each ``--language_pack`` file), the tasks ``seegull_mcq_<code>_ambiguous``,
``_disambiguated`` and ``_control``, the groups ``seegull_mcq_<code>`` and ``seegull_mcq``, their items (held-out
split by default) as JSONL and a ``utils.py``, into ``--output_dir`` (:mod:`geounlearn_trl.evaluation.lm_eval_tasks`). Then::

    lm_eval --model hf --model_args pretrained=<model>,peft=<adapter> --include_path <output_dir> --tasks seegull_mcq
"""

from __future__ import annotations

import logging

from ..evaluation.lm_eval_tasks import LmEvalTaskArguments, write_lm_eval_tasks
from ..data.mcq import SplitArguments
from .common import parse_flags, setup_logging

logger = logging.getLogger("geounlearn_trl.evaluation.lm_eval_tasks")


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    args, split_args = parse_flags((LmEvalTaskArguments, SplitArguments), argv)
    generated = write_lm_eval_tasks(args, split_args)
    width = max(map(len, generated.tasks))
    print(f"lm-eval tasks in {generated.output_dir} (scoring rule {generated.scoring_rule}):")
    for name, task in generated.tasks.items():
        print(f"  {name:<{width}}  {task['n']:>5} items")
    print("groups: " + ", ".join(generated.groups))
    print(f"run: {generated.lm_eval_command()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
