"""Gradient-ascent stereotype unlearning as a TRL trainer.

For a batch of ``B`` MCQ questions, each paired with a retain text, the loss is

.. math::

    \\mathcal{L} = w_{kl}\\,\\mathrm{KL}(p_{ref} \\,\\|\\, p_\\theta)_{retain}
                 + w_{unlearn}\\,(-\\mathrm{NLL}_\\theta(\\text{stereotyped answer} \\mid \\text{prompt}))
                 + w_{unk}\\,\\mathrm{NLL}_\\theta(\\text{unknown answer} \\mid \\text{prompt})

* ``NLL`` is the mean negative log-likelihood over the answer's tokens (all of them, the first included), averaged over
  the answer tokens of the batch;
* ``KL(p_ref‖p_θ) = Σ_v p_ref(v) (log p_ref(v) − log p_θ(v))``, averaged over the retain tokens of the batch, where
  ``p_ref`` is the model before unlearning: with LoRA, the same model with its adapter disabled (no second copy in
  memory); with full fine-tuning, a frozen copy;
* defaults ``w_kl, w_unlearn, w_unk = 1.0, 0.25, 0.5`` (the original ``--weights 1.0 0.25 0.5``).

Fixed with respect to the original ``main.py``:

* the answer's first token is part of the loss (prompt and answer are tokenised separately, see
  :mod:`geounlearn_trl.prompting`; the original lost it to the tokenisation of ``"Answer: "``);
* masks come from the attention mask and the answer mask, never from comparing ids with the pad token (which, with
  ``pad = eos``, also masked real end-of-sequence tokens);
* the three terms come from one forward/backward pass of the policy over the concatenated batch, plus one no-grad
  reference forward over the retain rows only;
* the loss is a per-batch mean, so ``loss_is_scaled_for_ga = False`` lets the Trainer divide by the gradient
  accumulation steps (otherwise the effective learning rate grows with accumulation);
* gradient ascent has no bound: a forget-NLL ceiling either clamps each answer's NLL there (no more push once an answer
  is that unlikely) or stops training, and a non-finite loss always stops training; both say why in the log.

Stopping (a non-finite loss, or the ceiling with ``on_ceiling='stop'``) is decided by all processes together, at the
same micro-batch: each process's findings are gathered, so one process never stops while the others wait for it in
the next collective. The step that triggered it is *not applied*: the optimizer's ``step()`` is wrapped (on the
innermost torch optimizer, so also under DeepSpeed) and, for that step, only zeroes the gradients, so the weights and
the optimizer state (AdamW's moments and step count) stay exactly as they were, whatever the earlier micro-batches of
the step or the other processes contributed. What still moves: the Trainer counts the step in ``global_step`` (the
log names it, 1-based like the log history) and advances the LR scheduler by one; training then ends.
"""

from __future__ import annotations

import contextlib
import logging
import math
import types
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel
from trl import SFTConfig, SFTTrainer
from trl.models.utils import disable_gradient_checkpointing, prepare_deepspeed
from trl.trainer.utils import disable_dropout_in_model, use_adapter

from ..collators import PairedUnlearningCollator

logger = logging.getLogger(__name__)

FORGET, UNKNOWN, RETAIN = 0, 1, 2  # row groups of the concatenated batch, in this order


@dataclass
class GradientAscentConfig(SFTConfig):
    """:class:`~trl.SFTConfig` plus the weights of the three loss terms and the divergence guard."""

    learning_rate: float = field(default=1e-6, metadata={"help": "The original's learning rate."})
    kl_weight: float = field(default=1.0, metadata={"help": "Weight of KL(reference‖model) on retain tokens."})
    unlearn_weight: float = field(default=0.25, metadata={"help": "Weight of −NLL of the stereotyped answer."})
    unk_weight: float = field(default=0.5, metadata={"help": "Weight of NLL of the 'unknown' answer."})
    forget_nll_ceiling: float | None = field(
        default=8.0,
        metadata={
            "help": "Bound on gradient ascent: the forget NLL (nats/token) past which an answer counts as unlearned. "
            "None disables the bound."
        },
    )
    on_ceiling: str = field(
        default="clamp",
        metadata={
            "help": "'clamp': each answer's NLL is clamped at the ceiling (its ascent gradient stops there); 'stop': "
            "training stops when a batch's mean forget NLL (over all processes) passes the ceiling, without applying "
            "that step.",
            "choices": ["clamp", "stop"],
        },
    )
    use_chat_template: bool | None = field(
        default=None, metadata={"help": "Render prompts with the chat template; None: when the tokenizer has one."}
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start over even when --output_dir holds checkpoints (deleted first); without it a run resumes "
                          "from the newest complete checkpoint-N there (transformers 5 has no such flag)."},
    )
    # A dataset of paired forget/unknown/retain rows is already tokenised and needs its own collator.
    dataset_kwargs: dict | None = field(default_factory=lambda: {"skip_prepare_dataset": True})
    remove_unused_columns: bool = False
    # Gradient ascent is fragile; keep CPU-friendly defaults and let recipes turn bf16/checkpointing on for GPUs.
    bf16: bool | None = False
    gradient_checkpointing: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.on_ceiling not in ("clamp", "stop"):
            raise ValueError(f"on_ceiling must be 'clamp' or 'stop', got {self.on_ceiling!r}")
        if self.forget_nll_ceiling is not None and self.forget_nll_ceiling <= 0:
            raise ValueError(f"forget_nll_ceiling must be positive, got {self.forget_nll_ceiling}")


class GradientAscentTrainer(SFTTrainer):
    """:class:`~trl.SFTTrainer` whose loss unlearns stereotyped answers (see the module docstring for the math).

    The train dataset holds tokenised triples (``forget_*``, ``unknown_*``, ``retain_*`` columns, see
    :func:`geounlearn_trl.unlearn_data.build_gradient_ascent_dataset`); the collator concatenates them into one batch of
    ``3·B`` rows so the policy runs once per step.
    """

    _tag_names = ["trl", "unlearning", "gradient-ascent", "geounlearn-trl"]
    _name = "GradientAscent"
    # compute_loss returns a per-batch mean: the Trainer must still divide by the gradient accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(self, model, args: GradientAscentConfig, ref_model: PreTrainedModel | None = None, **kwargs):
        kwargs.setdefault("data_collator", PairedUnlearningCollator())
        self.stop_reason: str | None = None
        # global_step (steps done so far) of the step whose update is dropped; see _guard_optimizer_step.
        self._skipped_step: int | None = None
        super().__init__(model=model, args=args, **kwargs)
        self.ref_model = self._prepare_reference_model(ref_model)

    def _prepare_reference_model(self, ref_model: PreTrainedModel | None) -> PreTrainedModel | None:
        """None with LoRA and no explicit reference (the adapter is disabled instead); else a frozen, prepared copy."""
        if ref_model is None:
            if self._is_peft_model(self.model):
                return None
            raise ValueError(
                "Full fine-tuning needs a frozen reference copy: pass ref_model (loaded the same way as the model)."
            )
        ref_model.requires_grad_(False)
        disable_dropout_in_model(ref_model)
        if self.is_deepspeed_enabled:
            return prepare_deepspeed(ref_model, self.accelerator)  # ZeRO-3: sharded like the policy, inference only
        return self.accelerator.prepare_model(ref_model, evaluation_mode=True)

    @staticmethod
    def _is_peft_model(model) -> bool:
        from peft import PeftModel

        return isinstance(model, PeftModel)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        # num_items_in_batch is accepted for the Trainer's signature; every term is a mean over its own tokens.
        logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False).logits
        forget_nll_per_answer, forget_tokens = self._answer_nll(logits, inputs, FORGET)
        unknown_nll_per_answer, unknown_tokens = self._answer_nll(logits, inputs, UNKNOWN)
        forget_nll = (forget_nll_per_answer * forget_tokens).sum() / forget_tokens.sum()
        unk_nll = (unknown_nll_per_answer * unknown_tokens).sum() / unknown_tokens.sum()
        # With kl_weight 0 the reference pass would be wasted work: skip it (and log no kl).
        kl = self._retain_kl(model, logits, inputs) if self.args.kl_weight else None

        unlearn_term = -self._bounded_forget_nll(forget_nll_per_answer, forget_tokens, forget_nll)
        loss = self.args.unlearn_weight * unlearn_term + self.args.unk_weight * unk_nll
        if kl is not None:
            loss = loss + self.args.kl_weight * kl

        self._log_terms(unlearn_nll=forget_nll, unk_nll=unk_nll, **({"kl": kl} if kl is not None else {}))
        loss = self._guard_step(loss, logits, forget_nll_per_answer, forget_tokens)
        return (loss, {"logits": logits}) if return_outputs else loss

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        self._guard_optimizer_step(optimizer)
        return optimizer

    def _rows(self, tensor: torch.Tensor, group: int) -> torch.Tensor:
        rows = tensor.size(0) // 3
        return tensor[group * rows : (group + 1) * rows]

    def _answer_nll(self, logits: torch.Tensor, inputs: dict, group: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-answer mean NLL over the answer's tokens, and each answer's token count.

        Token ``t`` is predicted by position ``t−1``; the loss mask (answer ∧ attention) is read at the predicted token.
        Only the answer positions go through log-softmax, not the whole ``(B, L, V)`` tensor.
        """
        group_logits = self._rows(logits, group)[:, :-1]
        targets = self._rows(inputs["input_ids"], group)[:, 1:]
        mask = self._rows(inputs["loss_mask"], group)[:, 1:].bool()
        token_log_probs = torch.zeros_like(targets, dtype=torch.float32)
        token_log_probs[mask] = (
            group_logits[mask].float().log_softmax(-1).gather(-1, targets[mask].unsqueeze(-1)).squeeze(-1)
        )
        tokens = mask.sum(-1).clamp(min=1)
        return -token_log_probs.sum(-1) / tokens, tokens

    def _retain_kl(self, model, logits: torch.Tensor, inputs: dict) -> torch.Tensor:
        """Mean over retain tokens of KL(p_ref ‖ p_θ); the reference runs without gradients on the retain rows only."""
        retain_ids = self._rows(inputs["input_ids"], RETAIN)
        retain_attention = self._rows(inputs["attention_mask"], RETAIN)
        mask = self._rows(inputs["loss_mask"], RETAIN)[:, 1:].bool()
        ref_logits = self._reference_logits(model, retain_ids, retain_attention)
        policy_log_probs = self._rows(logits, RETAIN)[:, :-1][mask].float().log_softmax(-1)
        ref_log_probs = ref_logits[:, :-1][mask].float().log_softmax(-1)
        # F.kl_div(input=log q, target=log p, log_target=True) = Σ p (log p − log q) = KL(p‖q)
        kl_per_token = F.kl_div(policy_log_probs, ref_log_probs, log_target=True, reduction="none").sum(-1)
        return kl_per_token.mean() if kl_per_token.numel() else logits.new_zeros(())

    def _reference_logits(self, model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits of the reference model (no gradients, dropout off) for ``input_ids``."""
        with torch.no_grad(), self._reference_context(model):
            reference = self.ref_model if self.ref_model is not None else model
            return reference(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits

    @contextlib.contextmanager
    def _reference_context(self, model):
        if self.ref_model is not None:  # a frozen copy, already in eval mode with its dropout disabled
            yield
            return
        # With LoRA the reference is the base model: the same weights with the adapter switched off, in eval mode (the
        # policy is in train mode: the base model's own dropout would otherwise make the reference random).
        unwrapped = self.accelerator.unwrap_model(model)
        with disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs), use_adapter(
            unwrapped, adapter_name=None
        ), _eval_mode(unwrapped):
            yield

    def _bounded_forget_nll(
        self, nll_per_answer: torch.Tensor, tokens: torch.Tensor, forget_nll: torch.Tensor
    ) -> torch.Tensor:
        ceiling = self.args.forget_nll_ceiling
        if ceiling is None:
            return forget_nll
        if self.args.on_ceiling == "clamp":
            # An answer already less likely than the ceiling has been unlearned: its gradient stops (clamp has zero
            # gradient above max) instead of pushing log-probabilities towards −∞.
            return (nll_per_answer.clamp(max=ceiling) * tokens).sum() / tokens.sum()
        return forget_nll

    def _guard_step(
        self, loss: torch.Tensor, logits: torch.Tensor, nll_per_answer: torch.Tensor, tokens: torch.Tensor
    ) -> torch.Tensor:
        """The non-finite guard and the ``on_ceiling='stop'`` bound, decided by every process together.

        In training each process shares (non-finite loss?, forget NLL sum, forget tokens) of its micro-batch; if any
        process's loss is non-finite, or the forget NLL of the micro-batch over all processes passes the ceiling, every
        process stops at this same micro-batch and drops this step's update (see :meth:`_guard_optimizer_step`).
        """
        non_finite = not torch.isfinite(loss).item()
        if not self.model.training:
            return self._zero_loss(logits) if non_finite else loss
        if self.optimizer is not None:
            self._guard_optimizer_step(self.optimizer)
        local = torch.stack([
            torch.tensor(float(non_finite), device=loss.device),
            (nll_per_answer.detach() * tokens).sum().float(),
            tokens.sum().float(),
        ]).reshape(1, 3)
        shared = self.accelerator.gather(local).cpu()  # (processes, 3), the same on every process
        step = self.state.global_step + 1  # the step being computed, numbered like the log history
        bad = [rank for rank, flag in enumerate(shared[:, 0].tolist()) if flag]
        ceiling = self.args.forget_nll_ceiling
        if bad:
            where = f" on process {', '.join(map(str, bad))}" if shared.size(0) > 1 else ""
            self._skip_step(f"non-finite loss at step {step}{where}; the step was not applied")
        elif ceiling is not None and self.args.on_ceiling == "stop":
            forget_nll = (shared[:, 1].sum() / shared[:, 2].sum().clamp(min=1)).item()
            if forget_nll > ceiling:
                self._skip_step(
                    f"forget NLL {forget_nll:.2f} passed the ceiling {ceiling} at step {step} (on_ceiling='stop'); "
                    "the step was not applied"
                )
        if self._skipped_step == self.state.global_step:
            return self._zero_loss(logits)
        return loss

    @staticmethod
    def _zero_loss(logits: torch.Tensor) -> torch.Tensor:
        """A zero on the forward's graph: backward (DDP's reduction, ZeRO's hooks) runs as for any step, with zero
        gradients at the logits (non-finite logits included); the update is dropped anyway."""
        return logits.nan_to_num(0.0, 0.0, 0.0).sum() * 0.0

    def _skip_step(self, reason: str) -> None:
        self._skipped_step = self.state.global_step
        if self.stop_reason is None:
            logger.warning("Stopping gradient ascent: %s", reason)
            self.stop_reason = reason
        self.control.should_training_stop = True

    def _guard_optimizer_step(self, optimizer) -> None:
        """Wrap ``step()`` of the innermost torch optimizer: for the skipped step it only zeroes the gradients.

        Called from :meth:`create_optimizer` and again before each training step, for optimizers the Trainer did not
        create (DeepSpeed's own, from an ``optimizer`` block of its config; ZeRO calls its inner optimizer's step).
        ZeRO-3 may call ``step()`` once per parameter sub-group: the decision is keyed on the step, not consumed.
        """
        while getattr(optimizer, "optimizer", None) is not None:  # accelerate / DeepSpeed wrappers
            optimizer = optimizer.optimizer
        if optimizer is None or getattr(optimizer, "_geounlearn_step_guard", False):
            return
        step = optimizer.step
        trainer = self

        def guarded_step(opt, *args, **kwargs):
            if trainer._skipped_step is not None and trainer._skipped_step == trainer.state.global_step:
                opt.zero_grad(set_to_none=True)
                return None
            return step(*args, **kwargs)

        # A bound method: torch's LR scheduler re-wraps optimizer.step through its __func__.
        optimizer.step = types.MethodType(guarded_step, optimizer)
        optimizer._geounlearn_step_guard = True

    def _log_terms(self, **terms: torch.Tensor) -> None:
        mode = "train" if self.model.training else "eval"
        for name, value in terms.items():
            # One scalar per process: plain gather (gather_for_metrics would drop some at an uneven last batch).
            value = self.accelerator.gather(value.detach().reshape(1)).mean().item()
            self._metrics[mode][name].append(value if math.isfinite(value) else float("nan"))


def _mode_selects_a_kernel(module: torch.nn.Module) -> bool:
    """bitsandbytes layers read ``training`` only to pick a kernel, not a behaviour: in eval mode on CPU, Linear4bit
    repacks its weight in place and computes with another kernel (different numerics than the policy's forward)."""
    return type(module).__module__.startswith("bitsandbytes")


@contextlib.contextmanager
def _eval_mode(module: torch.nn.Module):
    """Eval mode inside (no dropout, attention dropout included), every module's training flag restored afterwards.

    Quantised layers keep their mode (:func:`_mode_selects_a_kernel`): the reference computes as the policy does.
    """
    modes = [(submodule, submodule.training) for submodule in module.modules()]
    try:
        for submodule, _ in modes:
            if not _mode_selects_a_kernel(submodule):
                submodule.training = False
        yield
    finally:
        for submodule, training in modes:
            submodule.training = training
