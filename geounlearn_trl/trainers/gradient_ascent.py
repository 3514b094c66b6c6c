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
* the LM head runs only where a term reads it (:mod:`geounlearn_trl.trainers.logprobs`): on the answer tokens, and on
  the retain tokens for the KL, in chunks of positions, for policy and reference alike; never on the whole
  ``(3B, L, vocabulary)`` batch (with Gemma 3's 262,144 entries the head costs more than the rest of the model);
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
from transformers import PreTrainedModel
from transformers.modeling_outputs import CausalLMOutput
from trl import SFTConfig, SFTTrainer
from trl.models.utils import disable_gradient_checkpointing, prepare_deepspeed
from trl.trainer.utils import disable_dropout_in_model, use_adapter

from ..collators import PairedUnlearningCollator
from . import cpu_memory, logprobs

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
        if self.args.device.type == "cpu":
            cpu_memory.return_large_frees_to_os()  # freed activations leave the resident set (cpu_memory)

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
        # With kl_weight 0 the reference pass would be wasted work: skip it (and log no kl).
        reference = self._reference_retain_states(model, inputs) if self.args.kl_weight else None
        policy = self._policy_terms(model, inputs, reference)
        forget_nll_per_answer, forget_tokens = self._answer_nll(policy, inputs, FORGET)
        unknown_nll_per_answer, unknown_tokens = self._answer_nll(policy, inputs, UNKNOWN)
        forget_nll = (forget_nll_per_answer * forget_tokens).sum() / forget_tokens.sum()
        unk_nll = (unknown_nll_per_answer * unknown_tokens).sum() / unknown_tokens.sum()
        kl = self._retain_kl(policy) if reference is not None else None

        unlearn_term = -self._bounded_forget_nll(forget_nll_per_answer, forget_tokens, forget_nll)
        loss = self.args.unlearn_weight * unlearn_term + self.args.unk_weight * unk_nll
        if kl is not None:
            loss = loss + self.args.kl_weight * kl

        self._log_terms(unlearn_nll=forget_nll, unk_nll=unk_nll, **({"kl": kl} if kl is not None else {}))
        loss = self._guard_step(loss, policy, forget_nll_per_answer, forget_tokens)
        if not return_outputs:
            return loss
        # Trainer.prediction_step wants logits: the full (3B, L, V) logits, only when asked for, without gradients.
        with torch.no_grad():
            logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False).logits
        return loss, CausalLMOutput(loss=loss, logits=logits)

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        self._guard_optimizer_step(optimizer)
        return optimizer

    def _rows(self, tensor: torch.Tensor, group: int) -> torch.Tensor:
        rows = tensor.size(0) // 3
        return tensor[group * rows : (group + 1) * rows]

    def _policy_terms(self, model, inputs: dict, reference: dict | None) -> dict[str, torch.Tensor]:
        """One policy forward over the concatenated batch; the LM head only where a loss reads it.

        Returns ``answer_log_probs`` ``(3B, L−1)`` (log-probability of each answer token of the forget and unknown rows
        at the position that predicts it, 0 elsewhere), ``retain_kl`` (``KL(p_ref ‖ p_θ)`` at each retain position, or
        None without a reference) and ``anchor`` (a zero on the body's graph, see :meth:`_zero_loss`). The body runs to
        hidden states; the head projects only the answer positions and, for the KL, the retain positions in chunks
        (:mod:`geounlearn_trl.trainers.logprobs`). It runs as the forward of the wrapped model (DDP, DeepSpeed).
        """
        unwrapped = self.accelerator.unwrap_model(model)

        def terms() -> dict[str, torch.Tensor]:
            hidden = logprobs.hidden_states(unwrapped, inputs["input_ids"], inputs["attention_mask"])
            head = logprobs.OutputHead.of(unwrapped)
            rows = hidden.size(0) // 3
            answers = logprobs.next_token_positions(inputs["loss_mask"])
            answers[2 * rows :] = False  # retain rows: no answer
            answer_log_probs = logprobs.gather_log_probs(
                head, hidden[:, :-1][answers], inputs["input_ids"][:, 1:][answers]
            )
            terms = {
                "answer_log_probs": answer_log_probs.new_zeros(answers.shape).masked_scatter(answers, answer_log_probs),
                "anchor": hidden.nan_to_num(0.0, 0.0, 0.0).sum() * 0.0,
            }
            if reference is not None:
                retain = logprobs.next_token_positions(self._rows(inputs["loss_mask"], RETAIN))
                terms["retain_kl"] = logprobs.kl_divergence(
                    head, self._rows(hidden, RETAIN)[:, :-1][retain], reference["head"], reference["hidden"]
                )
            return terms

        return logprobs.run_inside_forward(model, unwrapped, terms)

    def _answer_nll(self, policy: dict, inputs: dict, group: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-answer mean NLL over the answer's tokens, and each answer's token count.

        Token ``t`` is predicted by position ``t−1``; the loss mask (answer ∧ attention) is read at the predicted token.
        ``policy["answer_log_probs"]`` holds the log-probability of each answer token (see :meth:`_policy_terms`).
        """
        token_log_probs = self._rows(policy["answer_log_probs"], group)
        mask = self._rows(inputs["loss_mask"], group)[:, 1:].bool()
        tokens = mask.sum(-1).clamp(min=1)
        return -(token_log_probs * mask).sum(-1) / tokens, tokens

    def _retain_kl(self, policy: dict) -> torch.Tensor:
        """Mean over retain tokens of KL(p_ref ‖ p_θ)."""
        kl_per_token = policy["retain_kl"]
        return kl_per_token.mean() if kl_per_token.numel() else policy["anchor"]

    def _reference_retain_states(self, model, inputs: dict) -> dict:
        """The reference's last hidden states at the retain positions (no gradients, dropout off) and its LM head.

        The reference runs on the retain rows only, cut to their longest row (right padding: the cut changes nothing).
        """
        attention = self._rows(inputs["attention_mask"], RETAIN)
        length = max(int(attention.sum(-1).max()), 1)
        input_ids, attention = self._rows(inputs["input_ids"], RETAIN)[:, :length], attention[:, :length]
        positions = logprobs.next_token_positions(self._rows(inputs["loss_mask"], RETAIN)[:, :length])
        hidden = self._reference_hidden(model, input_ids, attention)
        reference = self.accelerator.unwrap_model(self.ref_model if self.ref_model is not None else model)
        return {"hidden": hidden[:, :-1][positions], "head": logprobs.OutputHead.of(reference, reference=True)}

    def _reference_hidden(self, model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Last hidden states ``(B, L, H)`` of the reference model (no gradients, dropout off) for ``input_ids``."""
        reference = self.ref_model if self.ref_model is not None else model
        unwrapped = self.accelerator.unwrap_model(reference)
        with torch.no_grad(), self._reference_context(model):
            return logprobs.run_inside_forward(
                reference, unwrapped, lambda: logprobs.hidden_states(unwrapped, input_ids, attention_mask)
            )

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
        self, loss: torch.Tensor, policy: dict, nll_per_answer: torch.Tensor, tokens: torch.Tensor
    ) -> torch.Tensor:
        """The non-finite guard and the ``on_ceiling='stop'`` bound, decided by every process together.

        In training each process shares (non-finite loss?, forget NLL sum, forget tokens) of its micro-batch; if any
        process's loss is non-finite, or the forget NLL of the micro-batch over all processes passes the ceiling, every
        process stops at this same micro-batch and drops this step's update (see :meth:`_guard_optimizer_step`).
        """
        non_finite = not torch.isfinite(loss).item()
        if not self.model.training:
            return self._zero_loss(policy) if non_finite else loss
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
            return self._zero_loss(policy)
        return loss

    @staticmethod
    def _zero_loss(policy: dict) -> torch.Tensor:
        """A zero on the forward's graph: backward (DDP's reduction, ZeRO's hooks) runs as for any step, with zero
        gradients at the body's hidden states and the KL (non-finite values included); the update is dropped anyway."""
        zero = policy["anchor"]
        if policy.get("retain_kl") is not None:
            zero = zero + policy["retain_kl"].nan_to_num(0.0, 0.0, 0.0).sum() * 0.0
        return zero

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
