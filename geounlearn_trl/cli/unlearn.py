"""``geounlearn-trl unlearn``: stereotype unlearning with a method of the registry (``--method``, default
``gradient_ascent``, the original's): parses the flags and calls :func:`geounlearn_trl.methods.training.unlearn`.

Accepts the original ``main.py`` flags (``--model_name --learning_rate --weights KL UNLEARN UNK --output_dir --dataset
--log_dir --language``), a YAML recipe (``--config``, which may name its ``method``), and every flag of the method's
``*Config`` and of ``trl.ModelConfig``. Saves the adapter (or model), the tokenizer and the fully resolved config in
``--output_dir``.
"""

from __future__ import annotations

import sys

from trl import ModelConfig

from ..data.mcq import SplitArguments
from ..methods import DEFAULT_METHOD, method_classes
from ..methods.training import UnlearnArguments, unlearn
from .common import parse_flags, requested_method, setup_logging


def argument_types(method: str = DEFAULT_METHOD) -> tuple:
    """The flags of ``unlearn --method method``, in the order parse_flags returns them (recipes parse against them)."""
    config_class, _ = method_classes(method)
    return (UnlearnArguments, SplitArguments, config_class, ModelConfig)


# The flags of `unlearn` with the default method.
ARGUMENT_TYPES = argument_types()


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    argv = list(sys.argv[1:] if argv is None else argv)
    return unlearn(*parse_flags(argument_types(requested_method(argv)), argv))


if __name__ == "__main__":
    sys.exit(main())
