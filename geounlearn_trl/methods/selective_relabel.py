"""Selective relabel unlearning ("Who's Harry Potter", Eldan & Russinovich 2023) as a TRL trainer.

The model is fine-tuned on the *original* target text toward the *generic* labels built by
:mod:`geounlearn_trl.methods.selective.relabel`, so that, reading the target, it predicts what a model that never saw it would. For a
batch with ``N`` labeled positions (``labels != -100``; position ``t`` is predicted from the positions before it, the
causal-LM convention of ``transformers``):

* hard labels ``y_t`` (the argmax of the generic logits): the mean cross-entropy

  .. math:: \\mathcal{L}_{hard} = -\\frac{1}{N} \\sum_t \\log p_\\theta(y_t \\mid x_{<t})

  with the LM head only at the labeled positions, in chunks (:mod:`geounlearn_trl.methods.logprobs`);

* soft targets (the top-``k`` generic tokens ``v_{t,1..k}`` with probabilities ``q_{t,i}`` summing to 1): the mean
  KL divergence from the target to the model

  .. math:: \\mathcal{L}_{soft} = \\frac{1}{N} \\sum_t \\sum_{i=1}^{k} q_{t,i} \\big(\\log q_{t,i} - \\log p_\\theta(v_{t,i} \\mid x_{<t})\\big)

  where ``p_θ`` is the model's softmax over the whole vocabulary (tokens outside the top ``k`` have target mass 0),
  computed only at the labeled positions, in chunks (:mod:`geounlearn_trl.methods.logprobs`), never as the whole
  ``(batch, length, vocabulary)`` logits.

Both are per-batch means, so ``loss_is_scaled_for_ga = False``: the Trainer divides by the gradient accumulation steps.
Logged besides the loss: ``generic_nll`` (cross-entropy to the labels, hard or soft), ``generic_kl`` (soft only) and
``generic_top1_accuracy`` (how often the model's most likely token is the generic argmax).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from trl import SFTTrainer

from ..citations import CITATIONS
from . import logprobs
from .base import BodyLossMixin, ProjectCardMixin, TokenizedRowsConfig

ELDAN_2023 = {
    "title": "Who's Harry Potter? Approximate Unlearning in LLMs",
    "id": "2310.02238",
    "citation": CITATIONS["eldan2023whp"],
}

IGNORE_INDEX = -100
SOFT_COLUMNS = ("soft_label_ids", "soft_label_probs")


@dataclass
class SelectiveRelabelConfig(TokenizedRowsConfig):
    """:class:`~trl.SFTConfig` for training on a relabeled dataset (``geounlearn-trl relabel`` output)."""

    label_type: str = field(
        default="auto",
        metadata={
            "help": "'hard': cross-entropy to the generic argmax labels; 'soft': KL to the top-k soft targets (needs a "
            "dataset relabeled with --top_k); 'auto': soft when the dataset has soft targets.",
            "choices": ["auto", "hard", "soft"],
        },
    )
    learning_rate: float = field(default=1e-4, metadata={"help": "Initial learning rate (LoRA-friendly default)."})

    def __post_init__(self):
        super().__post_init__()
        if self.label_type not in ("auto", "hard", "soft"):
            raise ValueError(f"label_type must be 'auto', 'hard' or 'soft', got {self.label_type!r}")


@dataclass
class RelabeledBlockCollator:
    """Right-pad relabeled blocks: ``input_ids`` (pad id), ``attention_mask`` (0), ``labels`` (-100), and, when
    ``soft_labels``, ``soft_label_ids`` (0) / ``soft_label_probs`` (0) of shape ``(B, L, k)``.

    Masks come from the lengths here, never from comparing ids with the pad id (which is often EOS).
    """

    pad_token_id: int = 0
    soft_labels: bool = False
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        length = max(len(row["input_ids"]) for row in features)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        batch = {
            "input_ids": torch.full((len(features), length), self.pad_token_id, dtype=torch.long),
            "attention_mask": torch.zeros((len(features), length), dtype=torch.long),
            "labels": torch.full((len(features), length), IGNORE_INDEX, dtype=torch.long),
        }
        if self.soft_labels:
            k = len(features[0]["soft_label_ids"][0])
            batch["soft_label_ids"] = torch.zeros((len(features), length, k), dtype=torch.long)
            batch["soft_label_probs"] = torch.zeros((len(features), length, k), dtype=torch.float32)
        for row, feature in enumerate(features):
            size = len(feature["input_ids"])
            batch["input_ids"][row, :size] = torch.as_tensor(feature["input_ids"], dtype=torch.long)
            batch["attention_mask"][row, :size] = 1
            batch["labels"][row, :size] = torch.as_tensor(feature["labels"], dtype=torch.long)
            if self.soft_labels:
                batch["soft_label_ids"][row, :size] = torch.as_tensor(feature["soft_label_ids"], dtype=torch.long)
                batch["soft_label_probs"][row, :size] = torch.as_tensor(feature["soft_label_probs"], dtype=torch.float32)
        return batch


def _column_names(dataset) -> list[str]:
    names = getattr(dataset, "column_names", None)
    if names is None:  # IterableDataset without resolved features
        names = list(next(iter(dataset)).keys())
    return list(names)


class SelectiveRelabelTrainer(BodyLossMixin, ProjectCardMixin, SFTTrainer):
    """:class:`~trl.SFTTrainer` that trains toward generic labels (see the module docstring for the losses).

    ``train_dataset`` rows hold ``input_ids``, ``labels`` (``-100`` where masked) and optionally ``soft_label_ids`` /
    ``soft_label_probs`` — what :func:`geounlearn_trl.methods.selective.relabel.build_relabeled_dataset` saves. Everything else of
    :class:`~trl.SFTTrainer` applies: LoRA/QLoRA through ``peft_config``, ``accelerate launch``, ``push_to_hub``.
    """

    _tag_names = ["trl", "unlearning", "selective-relabel", "whp", "geounlearn-trl"]
    _name = "SelectiveRelabel"
    _paper = ELDAN_2023
    card_title = "Selective relabel unlearning (\"Who's Harry Potter\")"
    card_evaluation_hint = "Measure completion and probability familiarity before/after with `geounlearn-trl familiarity`."

    @classmethod
    def card_summary(cls) -> str:
        return (
            "Trained with `SelectiveRelabelTrainer` toward generic labels, after Eldan & Russinovich (2023), *Who's "
            "Harry Potter? Approximate Unlearning in LLMs*. Anchor terms of the target text are replaced by generic "
            "alternatives; a reinforced model (fine-tuned on the target) shows which predictions the target made "
            "likelier, and the generic prediction is\n\n"
            "$$v_{generic} = v_{base} - \\alpha\\,\\mathrm{ReLU}(v_{reinforced} - v_{base})$$\n\n"
            "The model is then fine-tuned toward those labels (cross-entropy to the hard labels, or KL to soft "
            "targets)."
        )
    # compute_loss returns a per-batch mean: the Trainer must still divide by the gradient accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(self, model, args: SelectiveRelabelConfig | None = None, train_dataset=None, **kwargs):
        if args is None:
            args = SelectiveRelabelConfig(output_dir="selective-relabel")
        if train_dataset is None:
            raise ValueError("`train_dataset` is required: a relabeled dataset (geounlearn-trl relabel).")
        self.use_soft_labels = self._resolve_label_type(args, train_dataset, kwargs.get("eval_dataset"))
        if kwargs.get("data_collator") is None:
            processing_class = kwargs.get("processing_class")
            tokenizer = getattr(processing_class, "tokenizer", processing_class)
            pad_token_id = getattr(tokenizer, "pad_token_id", None)
            if pad_token_id is None:
                pad_token_id = getattr(tokenizer, "eos_token_id", None) or 0
            kwargs["data_collator"] = RelabeledBlockCollator(
                pad_token_id=pad_token_id, soft_labels=self.use_soft_labels, pad_to_multiple_of=args.pad_to_multiple_of
            )
        super().__init__(model=model, args=args, train_dataset=train_dataset, **kwargs)
        self._prepare_body()

    @staticmethod
    def _resolve_label_type(args: SelectiveRelabelConfig, train_dataset, eval_dataset) -> bool:
        """Whether to train on soft targets; checks the columns of every dataset so a mismatch fails before training."""
        named = {"train": train_dataset}
        if isinstance(eval_dataset, dict):
            named.update({f"eval[{key}]": value for key, value in eval_dataset.items()})
        elif eval_dataset is not None:
            named["eval"] = eval_dataset
        columns = {name: _column_names(dataset) for name, dataset in named.items()}
        for name, names in columns.items():
            missing = [column for column in ("input_ids", "labels") if column not in names]
            if missing:
                raise ValueError(
                    f"The {name} dataset lacks {', '.join(missing)} (has: {', '.join(names)}); build it with "
                    "`geounlearn-trl relabel`."
                )
        has_soft = all(all(column in names for column in SOFT_COLUMNS) for names in columns.values())
        if args.label_type == "soft" and not has_soft:
            raise ValueError(
                "label_type='soft' needs soft_label_ids and soft_label_probs in every dataset: relabel with --top_k K."
            )
        return args.label_type == "soft" or (args.label_type == "auto" and has_soft)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        # num_items_in_batch is accepted for the Trainer's signature; the loss is a mean over this batch's labels.
        mode = "train" if self.model.training else "eval"
        if self.use_soft_labels:
            loss, logits, metrics = self._soft_label_loss(model, inputs)
        else:
            loss, logits, metrics = self._hard_label_loss(model, inputs)
        self._log_metrics(mode, metrics)
        if not return_outputs:
            return loss
        if logits is None:  # the loss built no logits; Trainer.prediction_step wants them
            with torch.no_grad():
                logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False).logits
        return loss, {"logits": logits}

    def _hard_label_loss(self, model, inputs):
        """Mean cross-entropy to the hard generic labels; the LM head only at the labeled positions, in chunks."""
        mask = logprobs.next_token_positions(inputs["labels"] != IGNORE_INDEX)  # position t-1 predicts token t
        targets = inputs["labels"][:, 1:][mask]  # (N,)
        cross_entropy, top, anchor = self._labeled_terms(model, inputs, mask, targets.unsqueeze(-1),
                                                         torch.ones(targets.shape + (1,), device=targets.device))
        count = mask.sum()
        nll_sum = cross_entropy.sum()
        # An all-masked batch still returns a loss connected to the graph (zero gradient), so backward runs.
        loss = nll_sum / count.clamp(min=1) if cross_entropy.numel() else anchor
        metrics = {
            "generic_nll": (nll_sum.detach(), count),
            "generic_top1_accuracy": ((top == targets).float().sum().detach(), count),
        }
        return loss, None, metrics

    def _soft_label_loss(self, model, inputs):
        """Mean KL(target ‖ model) over labeled positions; the LM head only at those positions, in chunks."""
        mask = logprobs.next_token_positions(inputs["labels"] != IGNORE_INDEX)  # position t-1 predicts token t
        target_ids = inputs["soft_label_ids"][:, 1:][mask]  # (N, k)
        target_probs = inputs["soft_label_probs"][:, 1:][mask].float()  # (N, k)
        cross_entropy, top, anchor = self._labeled_terms(model, inputs, mask, target_ids, target_probs)
        kl = torch.xlogy(target_probs, target_probs).sum(-1) + cross_entropy  # Σ q (log q − log p), with 0·log 0 = 0
        count = mask.sum()
        # An all-masked batch still returns a loss connected to the graph (zero gradient), so backward runs.
        loss = kl.sum() / count.clamp(min=1) if kl.numel() else anchor
        top1 = (top == target_ids[:, 0]).float().sum() if kl.numel() else count.float() * 0
        metrics = {
            "generic_kl": (kl.sum().detach(), count),
            "generic_nll": (cross_entropy.sum().detach(), count),
            "generic_top1_accuracy": (top1.detach(), count),
        }
        return loss, None, metrics

    def _labeled_terms(self, model, inputs, mask, target_ids, target_probs):
        """``(cross-entropy −Σ_k q_k log p_θ(v_k), the model's argmax)`` at each labeled position (``mask``), and a zero on
        the body's graph: the body to hidden states, the LM head only at those positions
        (:func:`geounlearn_trl.methods.logprobs.soft_cross_entropy`), run as the wrapped model's forward."""
        unwrapped = self.accelerator.unwrap_model(model)

        def terms():
            hidden = logprobs.hidden_states(unwrapped, inputs["input_ids"], inputs["attention_mask"])
            cross_entropy, top = logprobs.soft_cross_entropy(
                logprobs.OutputHead.of(unwrapped), hidden[:, :-1][mask], target_ids, target_probs
            )
            return cross_entropy, top, hidden.sum() * 0.0

        return logprobs.run_inside_forward(model, unwrapped, terms)

    def _log_metrics(self, mode: str, metrics: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Each metric as (sum over this process's labeled positions, their count), averaged over all processes."""
        for name, (total, count) in metrics.items():
            total = self.accelerator.gather_for_metrics(total.reshape(1).float()).sum()
            count = self.accelerator.gather_for_metrics(count.reshape(1).float()).sum()
            self._metrics[mode][name].append((total / count).item() if count > 0 else 0.0)


class ReinforceTrainer(ProjectCardMixin, SFTTrainer):
    """A plain :class:`~trl.SFTTrainer` on the target text: the *reinforced* model of selective relabeling (not an
    unlearned model), whose predictions show what the target made likelier (``geounlearn-trl reinforce``)."""

    _tag_names = ["trl", "sft", "reinforced-model", "geounlearn-trl"]
    _paper = ELDAN_2023
    card_title = "Reinforced model for selective unlearning"

    @classmethod
    def card_summary(cls) -> str:
        return (
            "Fine-tuned on the target text (TRL `SFTTrainer`) to *reinforce* it. This adapter is not an unlearned "
            "model: it is the reinforced model of Eldan & Russinovich (2023), used to build the generic labels of "
            "selective relabel unlearning."
        )
