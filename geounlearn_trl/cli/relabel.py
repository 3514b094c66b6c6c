"""``geounlearn-trl relabel``: generic labels for the target text (step 3 of selective unlearning).

Loads the base model once with the reinforced adapter on top (``--reinforced_adapter``, from ``reinforce``), cuts the
target into the same blocks as ``reinforce``, replaces the anchor terms of ``--anchors`` (or, with ``--mcq_dataset``,
the identities), and labels every block with ``v_base − α·ReLU(v_reinforced − v_base)`` (``--alpha``, default 5):
the hard argmax, plus the top ``--top_k`` soft targets when asked. The rules are in :mod:`geounlearn_trl.methods.selective.relabel`.

Saves a :class:`datasets.Dataset` with ``save_to_disk`` in ``--output_dir`` (read it with ``datasets.load_from_disk``;
``selective`` trains on it), and the resolved flags beside it. An existing non-empty ``--output_dir`` is refused unless
``--overwrite_output_dir``; the new dataset is written to a temporary folder first, so a failed run loses nothing.

Under ``accelerate launch`` each process labels an equal share of the blocks and the main process gathers the rows
and saves the dataset. With a DeepSpeed ZeRO-3 config the model is *sharded*: loaded under ``zero.Init`` (each process
holds 1/N of the weights, the adapter included) and run as a DeepSpeed inference engine, the processes stepping through
their shares in lockstep because every forward gathers each layer's shards from all of them. With any other config each
process holds a whole copy on its own device. On CPU the processes talk over gloo (accelerate sets up no process group
for DeepSpeed on CPU by itself; ``--ddp_backend`` overrides the choice).

The step itself is :func:`geounlearn_trl.methods.selective.pipeline.relabel`.
"""

from __future__ import annotations

import sys

from trl import ModelConfig

from ..data.target_text import TargetTextArguments
from ..methods.selective.arguments import RelabelArguments
from ..methods.selective.pipeline import relabel
from .common import parse_flags, setup_logging


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    target_args, relabel_args, model_args = parse_flags((TargetTextArguments, RelabelArguments, ModelConfig), argv)
    return relabel(target_args, relabel_args, model_args)


if __name__ == "__main__":
    sys.exit(main())
