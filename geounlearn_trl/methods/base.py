"""The trainer every unlearning method is written on: what the methods share, once.

A batch holds ``B`` questions, each as three sequences (the row groups of
:class:`~geounlearn_trl.data.collators.PairedUnlearningCollator`, in this order):

* **forget**: the question's prompt followed by the stereotyped answer ``y_f``;
* **unknown**: the same prompt followed by the language's "unknown" answer ``y_u``;
* **retain**: a retain text, or a *disambiguated* item (its context states the identity; the answer is the stated
  identity), see :func:`~geounlearn_trl.data.unlearning.build_unlearning_dataset`.

Every method's loss is

.. math::

    \\mathcal{L} = w_{forget}\\,\\mathcal{L}_{forget}
                 + w_{retain}\\,\\mathcal{L}_{retain}
                 + w_{unknown}\\,\\mathrm{NLL}_\\theta(y_u \\mid x)

where a method defines :math:`\\mathcal{L}_{forget}` (:meth:`UnlearningTrainer.forget_loss`) and may redefine
:math:`\\mathcal{L}_{retain}` (:meth:`UnlearningTrainer.retain_loss`; by default the retain NLL, or with
``retain_loss='kl'`` the mean over retain tokens of ``KL(π_ref ‖ π_θ)``). ``NLL`` is the mean negative log-likelihood
per answer token over the batch. The last term is the original paper's ``unk_weight`` term, open to every method.

The base owns:

* the **reference** ``π_ref``, the model before unlearning, for the methods and terms that read it: with LoRA the
  same model with its adapter disabled, in eval mode (no dropout; no second copy in memory); with full fine-tuning a
  frozen prepared copy (ZeRO-3: sharded like the policy); none at all when nothing reads it (reference-free methods
  with an NLL retain term);
* the **batch views** (:class:`UnlearningBatch`): per-answer sequence log-probabilities ``log π(y | x) = Σ_t log
  π(y_t | x, y_<t)`` of policy and reference, and the retain terms, from one policy forward over the row groups the loss
  reads, with the LM head only at the positions a term reads (in chunks: for a frozen head one fused product per
  chunk, the reference's retain positions beside the policy's; else TRL's ``selective_log_softmax``), see
  :mod:`geounlearn_trl.methods.logprobs`;
* ``torch_compile``: the decoder blocks compiled in place (:class:`BodyLossMixin`);
* the **guards**: a non-finite loss stops training, and so does (``on_ceiling='stop'``) a forget NLL past
  ``forget_nll_ceiling``, decided by every process together at the same micro-batch; that step is *not applied*: the
  innermost optimizer's ``step()`` only zeroes the gradients, so weights and optimizer state stay as they were (the
  Trainer still counts the step and advances the scheduler; training then ends);
* **logging** of every term (``forget_nll``, ``unknown_nll``, ``retain_nll`` / ``retain_kl`` and a method's own), one
  value per process averaged over processes;
* the **model card** through TRL's own hooks: ``_name``, ``_tag_names``, ``_paper`` (title, arXiv id, BibTeX) and
  ``create_model_card``, which writes this project's card (:mod:`geounlearn_trl.hub.model_card`) once the run is
  described (:attr:`UnlearningTrainer.card_info`).

Every term is a per-batch mean, so ``loss_is_scaled_for_ga = False``: the Trainer divides by the gradient accumulation
steps (otherwise the effective learning rate would grow with accumulation).
"""

from __future__ import annotations

import contextlib
import logging
import math
import types
from dataclasses import dataclass, field, fields

import torch
from transformers import PreTrainedModel
from transformers.modeling_outputs import CausalLMOutput
from trl import SFTConfig, SFTTrainer
from trl.models.utils import disable_gradient_checkpointing, prepare_deepspeed
from trl.trainer.utils import disable_dropout_in_model, use_adapter

from ..data.collators import PairedUnlearningCollator
from . import cpu_memory, logprobs

logger = logging.getLogger(__name__)

FORGET, UNKNOWN, RETAIN = 0, 1, 2  # row groups of the concatenated batch, in this order
RETAIN_LOSSES = ("nll", "kl")
# The original script's names, kept as aliases of one word per concept (forget, unknown, retain).
ALIASES = {"unlearn_weight": "forget_weight", "unk_weight": "unknown_weight", "kl_weight": "retain_weight"}


@dataclass
class TokenizedRowsConfig(SFTConfig):
    """:class:`~trl.SFTConfig` for datasets this project tokenises itself (paired unlearning rows, relabeled blocks),
    with resuming by default and CPU-friendly defaults."""

    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start over even when --output_dir holds checkpoints (deleted first); without it a run resumes "
                          "from the newest complete checkpoint-N there (transformers 5 has no such flag)."},
    )
    # The rows are already tokenised, hold columns SFTTrainer doesn't know, and come with their own collator.
    dataset_kwargs: dict | None = field(default_factory=lambda: {"skip_prepare_dataset": True})
    remove_unused_columns: bool = False
    # CPU-friendly defaults (SFTConfig turns both on); recipes turn them on for GPUs.
    bf16: bool | None = False
    gradient_checkpointing: bool = False
    cpu_malloc_threshold_mib: float | None = field(
        default=1.0,
        metadata={"help": "On CPU, freed buffers above this size (MiB) go back to the OS (glibc's mmap threshold, "
                          "methods/cpu_memory.py): a lower peak, paid in step time (Gemma 3 270M, 8 questions, 2 cores, "
                          "bench/RESULTS.md: 3,682 MiB and 11.2 s at 1; 4,555 MiB and 7.5 s at 0). 0 or none: glibc's "
                          "own dynamic threshold."},
    )


@dataclass
class UnlearningConfig(TokenizedRowsConfig):
    """:class:`~trl.SFTConfig` plus the weights of the three terms, the retain term and the guards of every method."""

    learning_rate: float = field(default=1e-6, metadata={"help": "The original's learning rate."})
    forget_weight: float = field(default=1.0, metadata={"help": "Weight of the method's forget term."})
    retain_weight: float = field(default=1.0, metadata={"help": "Weight of the retain term (0: no retain rows run)."})
    unknown_weight: float = field(
        default=0.0, metadata={"help": "Weight of NLL of the language's 'unknown' answer (the original's unk term)."}
    )
    retain_loss: str = field(
        default="nll",
        metadata={"help": "Retain term: 'nll' of the retain tokens, or 'kl': KL(reference‖model) over them.",
                  "choices": list(RETAIN_LOSSES)},
    )
    forget_nll_ceiling: float | None = field(
        default=None,
        metadata={"help": "The forget NLL (nats/token) past which an answer counts as unlearned: 'clamp' stops a "
                          "method's ascent on it (gradient_ascent, grad_diff), 'stop' ends training. None: no bound."},
    )
    on_ceiling: str = field(
        default="clamp",
        metadata={"help": "'clamp': each answer's NLL is clamped at the ceiling in an NLL forget term; 'stop': training "
                          "stops when a batch's mean forget NLL (over all processes) passes the ceiling, without "
                          "applying that step.", "choices": ["clamp", "stop"]},
    )
    unlearn_weight: float | None = field(default=None, metadata={"help": "Alias of --forget_weight (the original)."})
    unk_weight: float | None = field(default=None, metadata={"help": "Alias of --unknown_weight (the original)."})
    kl_weight: float | None = field(
        default=None, metadata={"help": "Alias of --retain_weight with --retain_loss kl (the original's KL term)."}
    )
    use_chat_template: bool | None = field(
        default=None, metadata={"help": "Render prompts with the chat template; None: when the tokenizer has one."}
    )

    def __post_init__(self):
        for alias, name in ALIASES.items():
            if getattr(self, alias) is not None:
                if alias == "kl_weight":
                    self.retain_loss = "kl"
                setattr(self, name, getattr(self, alias))
                setattr(self, alias, None)  # one source of truth in the saved config
        super().__post_init__()
        if self.retain_loss not in RETAIN_LOSSES:
            raise ValueError(f"retain_loss must be one of {', '.join(RETAIN_LOSSES)}, got {self.retain_loss!r}")
        if self.on_ceiling not in ("clamp", "stop"):
            raise ValueError(f"on_ceiling must be 'clamp' or 'stop', got {self.on_ceiling!r}")
        if self.forget_nll_ceiling is not None and self.forget_nll_ceiling <= 0:
            raise ValueError(f"forget_nll_ceiling must be positive, got {self.forget_nll_ceiling}")

    def method_settings(self) -> dict:
        """What a model card reports as the method's settings: the fields this config adds to ``SFTConfig`` (the
        shared weights and guards, and the method's own hyper-parameters), without aliases and housekeeping."""
        sft = {f.name for f in fields(TokenizedRowsConfig)} | set(ALIASES) | {"use_chat_template"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in sft}


@dataclass
class AnswerLogProbs:
    """One answer per question: sequence log-probabilities ``log π(y | x)`` (sum over the answer's tokens) of the policy
    and, when the method reads it, of the reference (no gradient); and each answer's token count ``|y|``."""

    policy: torch.Tensor  # (B,)
    tokens: torch.Tensor  # (B,)
    reference: torch.Tensor | None = None  # (B,)

    @property
    def nll_per_answer(self) -> torch.Tensor:
        """Mean NLL per token of each answer, ``−log π_θ(y|x) / |y|``."""
        return -self.policy / self.tokens

    @property
    def nll(self) -> torch.Tensor:
        """Mean NLL per answer token over the batch (each token weighs the same)."""
        return -self.policy.sum() / self.tokens.sum()

    @property
    def log_ratio(self) -> torch.Tensor:
        """``log π_θ(y|x) − log π_ref(y|x)`` of each answer."""
        return self.policy - self.reference


@dataclass
class UnlearningBatch:
    """The views of one batch a loss reads (None where no term reads them)."""

    forget: AnswerLogProbs
    unknown: AnswerLogProbs | None
    retain_nll: torch.Tensor | None  # mean NLL over the retain tokens (gradient)
    retain_kl: torch.Tensor | None  # mean KL(π_ref ‖ π_θ) over the retain tokens (gradient)
    anchor: torch.Tensor  # a zero on the forward's graph (see UnlearningTrainer._zero_loss)


class ProjectCardMixin:
    """The model card through TRL's hook: ``create_model_card`` (called at checkpoints and by ``push_to_hub``) writes
    this project's card (:mod:`geounlearn_trl.hub.model_card`) once the run is described in :attr:`card_info`, and
    TRL's generic one before. What the card says of the method is read off the class: ``_paper`` (TRL's: title,
    arXiv id, BibTeX), ``card_title``, :meth:`card_summary`, ``card_citations`` (keys of the shared BibTeX entries)."""

    card_title: str = ""
    card_citations: tuple[str, ...] = ("vonwerra2020trl",)
    card_evaluation_hint: str = ""
    card_info = None

    @classmethod
    def card_summary(cls) -> str:
        return cls.__doc__ or ""

    def create_model_card(self, model_name=None, dataset_name=None, tags=None):
        if self.card_info is None:
            return super().create_model_card(model_name=model_name, dataset_name=dataset_name, tags=tags)
        if self.is_world_process_zero():
            from ..hub.model_card import write_model_card

            write_model_card(self.args.output_dir, self.card_info)


class BodyLossMixin:
    """What a trainer needs whose loss runs the model's body and its LM head at gathered positions
    (:mod:`~geounlearn_trl.methods.logprobs`) instead of the model's forward; :meth:`_prepare_body` after the
    Trainer's ``__init__``.

    * ``torch_compile`` (the Trainer's flag, with ``torch_compile_backend`` / ``torch_compile_mode``): the Trainer
      compiles the whole model (accelerate's dynamo plugin), a forward these losses never call, so the flag would
      compile nothing. Here the body's repeated decoder blocks are compiled in place instead (regional compilation as
      accelerate's ``compile_regions_fsdp2`` does it: ``module.compile()``, so the module, its hooks and PEFT's
      adapter switches stay as they are); the first steps pay the compilation (dynamic shapes after the first new
      length, a second variant for the adapter-disabled reference).
    * on CPU, large frees go back to the OS (:mod:`~geounlearn_trl.methods.cpu_memory`), above
      ``cpu_malloc_threshold_mib``.
    """

    def _build_accelerator_args(self, **kwargs) -> dict:
        accelerator_args = super()._build_accelerator_args(**kwargs)
        if self.args.torch_compile:
            accelerator_args.pop("dynamo_plugin", None)  # compiled in place by _prepare_body instead
        return accelerator_args

    def _prepare_body(self) -> None:
        if self.args.torch_compile:
            compile_kwargs = {"backend": self.args.torch_compile_backend, "mode": self.args.torch_compile_mode}
            compile_kwargs = {key: value for key, value in compile_kwargs.items() if value is not None}
            blocks = logprobs.compile_body(self.model, **compile_kwargs)
            logger.info("torch_compile: %d decoder blocks compiled in place (%s)", blocks, compile_kwargs)
        threshold = self.args.cpu_malloc_threshold_mib
        if self.args.device.type == "cpu" and threshold:
            # freed activations leave the resident set (cpu_memory): memory for time, see the flag's help
            cpu_memory.return_large_frees_to_os(int(threshold * 2**20))


class UnlearningTrainer(BodyLossMixin, ProjectCardMixin, SFTTrainer):
    """:class:`~trl.SFTTrainer` whose loss is a method's forget term plus the shared terms (module docstring).

    A method subclasses it with its ``*Config`` (a :class:`UnlearningConfig` adding its own hyper-parameters) and
    implements :meth:`forget_loss`; it declares the answers its forget term compares with the reference
    (``reference_answers``) and whether that term reads the unknown answer (``reads_unknown``). The train dataset holds
    tokenised triples (``forget_*``, ``unknown_*``, ``retain_*`` columns, see
    :func:`geounlearn_trl.data.unlearning.build_unlearning_dataset`).
    """

    _tag_names = ["trl", "unlearning", "geounlearn-trl"]
    _name = "Unlearning"
    _paper: dict = {}
    # The formula shown on the model card (Markdown, LaTeX between $$).
    card_formula: str = ""
    card_citations = ("farashah2025geocultural", "jha2023seegull", "vonwerra2020trl")
    card_evaluation_hint = (
        "Measure stereotype picks, unknown, disambiguated and control accuracy before/after on held-out questions "
        "with `geounlearn-trl respond --split eval` and `geounlearn-trl score`, or all methods side by side with "
        "`geounlearn-trl compare --methods ...`."
    )
    # Row groups whose answers the forget term compares with the reference (FORGET, UNKNOWN).
    reference_answers: tuple[int, ...] = ()
    # Whether the forget term reads the unknown answer (then the unknown rows always run).
    reads_unknown: bool = False
    # compute_loss returns a per-batch mean: the Trainer must still divide by the gradient accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(self, model, args: UnlearningConfig, ref_model: PreTrainedModel | None = None, **kwargs):
        kwargs.setdefault("data_collator", PairedUnlearningCollator())
        self.stop_reason: str | None = None
        # global_step (steps done so far) of the step whose update is dropped; see _guard_optimizer_step.
        self._skipped_step: int | None = None
        super().__init__(model=model, args=args, **kwargs)
        self.ref_model = self._prepare_reference_model(ref_model)
        self._prepare_body()

    @classmethod
    def card_summary(cls) -> str:
        return (
            f"Trained with `{cls.__name__}` ({cls._name}) on multiple-choice stereotype questions (SeeGULL format), "
            "in the setting of *Unlearning Geo-Cultural Stereotypes in Multilingual LLMs*. For each question with "
            "its stereotyped answer $y_f$, the language's \"unknown\" answer $y_u$ and a retain item, the loss is"
            f"\n\n{cls.card_formula}\n\n"
            "where $\\pi_{ref}$ is the model before unlearning (with LoRA, the base model with the adapter disabled), "
            "$\\log\\pi(y|x)$ sums over the answer's tokens, and NLL is the mean per answer token; "
            "`unknown_weight` adds $w_{unknown}\\,\\mathrm{NLL}_\\theta(y_u|x)$."
        )

    # --- what a method defines ---------------------------------------------------------------------------------------

    def forget_loss(self, batch: UnlearningBatch) -> torch.Tensor:
        """The method's forget term :math:`\\mathcal{L}_{forget}` (a scalar)."""
        raise NotImplementedError(f"{type(self).__name__} must define forget_loss")

    def retain_loss(self, batch: UnlearningBatch) -> torch.Tensor:
        """:math:`\\mathcal{L}_{retain}`: the retain NLL, or ``KL(π_ref ‖ π_θ)`` with ``retain_loss='kl'``."""
        return batch.retain_kl if self.args.retain_loss == "kl" else batch.retain_nll

    def extra_logs(self, batch: UnlearningBatch) -> dict[str, torch.Tensor]:
        """A method's own quantities to log besides the terms (e.g. the mean log-ratio)."""
        return {}

    @classmethod
    def needs_reference(cls, args: UnlearningConfig) -> bool:
        """Whether any term reads the reference model (a reference-free method with an NLL retain term does not)."""
        return bool(cls.reference_answers) or (args.retain_loss == "kl" and args.retain_weight != 0)

    # --- the loss ----------------------------------------------------------------------------------------------------

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        # num_items_in_batch is accepted for the Trainer's signature; every term is a mean over its own tokens.
        batch = self.unlearning_batch(model, inputs)
        loss = self.args.forget_weight * self.forget_loss(batch)
        if self.args.unknown_weight:
            loss = loss + self.args.unknown_weight * batch.unknown.nll
        if self.args.retain_weight:
            loss = loss + self.args.retain_weight * self.retain_loss(batch)
        logged = {"forget_nll": batch.forget.nll}
        if batch.unknown is not None:
            logged["unknown_nll"] = batch.unknown.nll
        for name in ("retain_nll", "retain_kl"):
            if getattr(batch, name) is not None:
                logged[name] = getattr(batch, name)
        self._log_terms(**logged, **self.extra_logs(batch))
        loss = self._guard_step(loss, batch)
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

    # --- batch views -------------------------------------------------------------------------------------------------

    def _policy_groups(self) -> list[int]:
        groups = [FORGET]
        if self.reads_unknown or self.args.unknown_weight:
            groups.append(UNKNOWN)
        if self.args.retain_weight:
            groups.append(RETAIN)
        return groups

    def _reference_groups(self) -> list[int]:
        groups = set(self.reference_answers)
        if self.args.retain_loss == "kl" and self.args.retain_weight:
            groups.add(RETAIN)
        return sorted(groups)

    def unlearning_batch(self, model, inputs: dict) -> UnlearningBatch:
        """One policy forward over the row groups the loss reads (and a no-grad reference forward over those it
        compares with); the LM head only at the answer positions and, for the KL, the retain positions."""
        rows = inputs["input_ids"].size(0) // 3
        reference = self._reference_states(model, inputs, rows)
        groups = self._policy_groups()
        views = _select_groups(inputs, groups, rows)
        unwrapped = self.accelerator.unwrap_model(model)
        retain_tokens_are_answers = self.args.retain_loss == "nll" and RETAIN in groups

        def terms() -> dict:
            hidden = logprobs.hidden_states(unwrapped, views["input_ids"], views["attention_mask"])
            head = logprobs.OutputHead.of(unwrapped)
            positions = logprobs.next_token_positions(views["loss_mask"])
            answer_rows = torch.tensor([g != RETAIN or retain_tokens_are_answers for g in groups],
                                       device=positions.device).repeat_interleave(rows)
            positions &= answer_rows.unsqueeze(-1)
            token_log_probs = logprobs.gather_log_probs(head, hidden[:, :-1][positions], views["input_ids"][:, 1:][positions])
            out = {
                "token_log_probs": token_log_probs.new_zeros(positions.shape).masked_scatter(positions, token_log_probs),
                "anchor": hidden.nan_to_num(0.0, 0.0, 0.0).sum() * 0.0,
            }
            if reference is not None and "retain_hidden" in reference:
                at = groups.index(RETAIN)
                retain_positions = logprobs.next_token_positions(views["loss_mask"][at * rows : (at + 1) * rows])
                out["retain_kl"] = logprobs.kl_divergence(
                    head, hidden[at * rows : (at + 1) * rows, :-1][retain_positions], reference["head"],
                    reference["retain_hidden"],
                )
            return out

        policy = logprobs.run_inside_forward(model, unwrapped, terms)
        mask = views["loss_mask"][:, 1:].bool()
        sums = (policy["token_log_probs"] * mask).sum(-1)
        tokens = mask.sum(-1).clamp(min=1)

        def answers(group: int) -> AnswerLogProbs | None:
            if group not in groups:
                return None
            at = groups.index(group)
            part = slice(at * rows, (at + 1) * rows)
            ref = reference.get(group) if reference is not None else None
            return AnswerLogProbs(policy=sums[part], tokens=tokens[part], reference=ref)

        retain = answers(RETAIN)
        retain_kl = policy.get("retain_kl")
        return UnlearningBatch(
            forget=answers(FORGET),
            unknown=answers(UNKNOWN),
            retain_nll=retain.nll if retain is not None and retain_tokens_are_answers else None,
            retain_kl=(retain_kl.mean() if retain_kl.numel() else policy["anchor"]) if retain_kl is not None else None,
            anchor=policy["anchor"] if retain_kl is None else policy["anchor"] + retain_kl.nan_to_num(0.0, 0.0, 0.0).sum() * 0.0,
        )

    def _reference_states(self, model, inputs: dict, rows: int) -> dict | None:
        """The reference on the row groups it is read on, cut to their longest row (right padding: the cut changes
        nothing): per-answer sequence log-probabilities of the ``reference_answers`` groups, and the last hidden states
        at the retain positions for the KL, with the reference's LM head."""
        groups = self._reference_groups()
        if not groups:
            return None
        views = _select_groups(inputs, groups, rows)
        length = max(int(views["attention_mask"].sum(-1).max()), 1)
        views = {key: value[:, :length] for key, value in views.items()}
        hidden = self._reference_hidden(model, views["input_ids"], views["attention_mask"])
        unwrapped = self.accelerator.unwrap_model(self.ref_model if self.ref_model is not None else model)
        with torch.no_grad():
            head = logprobs.OutputHead.of(unwrapped, reference=True)
            out: dict = {"head": head}
            positions = logprobs.next_token_positions(views["loss_mask"])
            for at, group in enumerate(groups):
                part = slice(at * rows, (at + 1) * rows)
                if group == RETAIN:
                    out["retain_hidden"] = hidden[part, :-1][positions[part]]
                    continue
                token_log_probs = logprobs.gather_log_probs(
                    head, hidden[part, :-1][positions[part]], views["input_ids"][part, 1:][positions[part]]
                )
                dense = token_log_probs.new_zeros(positions[part].shape).masked_scatter(positions[part], token_log_probs)
                out[group] = dense.sum(-1)
        return out

    def _reference_hidden(self, model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Last hidden states ``(B, L, H)`` of the reference model (no gradients, dropout off) for ``input_ids``."""
        reference = self.ref_model if self.ref_model is not None else model
        unwrapped = self.accelerator.unwrap_model(reference)
        with torch.no_grad(), self._reference_context(model):
            return logprobs.run_inside_forward(
                reference, unwrapped, lambda: logprobs.hidden_states(unwrapped, input_ids, attention_mask)
            )

    def _prepare_reference_model(self, ref_model: PreTrainedModel | None) -> PreTrainedModel | None:
        """None with LoRA and no explicit reference (the adapter is disabled instead), or when no term reads it;
        else a frozen, prepared copy."""
        if ref_model is None:
            if self._is_peft_model(self.model) or not self.needs_reference(self.args):
                return None
            raise ValueError(
                f"Full fine-tuning with {type(self).__name__} needs a frozen reference copy: pass ref_model (loaded the "
                "same way as the model)."
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

    # --- guards ------------------------------------------------------------------------------------------------------

    def bounded_forget_nll(self, forget: AnswerLogProbs) -> torch.Tensor:
        """The forget NLL, each answer's clamped at ``forget_nll_ceiling`` with ``on_ceiling='clamp'``: an answer
        already less likely than the ceiling has been unlearned, its gradient stops (clamp has zero gradient above
        max) instead of pushing log-probabilities towards −∞."""
        ceiling = self.args.forget_nll_ceiling
        if ceiling is None or self.args.on_ceiling != "clamp":
            return forget.nll
        return (forget.nll_per_answer.clamp(max=ceiling) * forget.tokens).sum() / forget.tokens.sum()

    def _guard_step(self, loss: torch.Tensor, batch: UnlearningBatch) -> torch.Tensor:
        """The non-finite guard and the ``on_ceiling='stop'`` bound, decided by every process together.

        In training each process shares (non-finite loss?, forget NLL sum, forget tokens) of its micro-batch; if any
        process's loss is non-finite, or the forget NLL of the micro-batch over all processes passes the ceiling, every
        process stops at this same micro-batch and drops this step's update (see :meth:`_guard_optimizer_step`).
        """
        non_finite = not torch.isfinite(loss).item()
        if not self.model.training:
            return batch.anchor if non_finite else loss
        if self.optimizer is not None:
            self._guard_optimizer_step(self.optimizer)
        local = torch.stack([
            torch.tensor(float(non_finite), device=loss.device),
            -batch.forget.policy.detach().sum().float(),
            batch.forget.tokens.sum().float(),
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
            # A zero on the forward's graph: backward (DDP's reduction, ZeRO's hooks) runs as for any step, with zero
            # gradients (non-finite values included); the update is dropped anyway.
            return batch.anchor
        return loss

    def _skip_step(self, reason: str) -> None:
        self._skipped_step = self.state.global_step
        if self.stop_reason is None:
            logger.warning("Stopping %s: %s", self._name, reason)
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

    # --- logging and the card ----------------------------------------------------------------------------------------

    def _log_terms(self, **terms: torch.Tensor) -> None:
        mode = "train" if self.model.training else "eval"
        for name, value in terms.items():
            # One scalar per process: plain gather (gather_for_metrics would drop some at an uneven last batch).
            value = self.accelerator.gather(value.detach().float().reshape(1)).mean().item()
            self._metrics[mode][name].append(value if math.isfinite(value) else float("nan"))

def _select_groups(inputs: dict, groups: list[int], rows: int) -> dict[str, torch.Tensor]:
    """The rows of ``groups`` (in that order) of a concatenated ``(3·B, L)`` batch; the whole batch when all three."""
    keys = ("input_ids", "attention_mask", "loss_mask")
    if groups == [FORGET, UNKNOWN, RETAIN]:
        return {key: inputs[key] for key in keys}
    index = torch.cat([torch.arange(g * rows, (g + 1) * rows) for g in groups]).to(inputs["input_ids"].device)
    return {key: inputs[key].index_select(0, index) for key in keys}


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
