"""Hidden states at the positions a loss reads → LM head → log-probabilities / KL, without ``(batch, length, vocab)``.

A causal LM's forward projects every position through the LM head. With a large vocabulary (Gemma 3: 262,144 entries)
that projection costs more than the rest of the model, and its ``(batch, length, vocab)`` logits (plus their
log-softmax copies and gradients) dominate memory, while the unlearning losses read a few positions: the answer tokens,
and the retain tokens for a KL. The pieces here run the model's *body* (its decoder, for a PEFT model the wrapped base
model's) to hidden states, and apply the LM head only to the gathered positions a loss needs:

* :func:`hidden_states` — the body's last hidden states (after the final norm), ``(B, L, H)``;
* :func:`next_token_positions` — where a loss mask over tokens is read: position ``t−1`` predicts token ``t``;
* :func:`gather_log_probs` — per-position log-probabilities of given token ids (answers, top-k labels), in chunks of
  positions: through the fused path below for a frozen head, else through TRL's
  :func:`~trl.trainer.utils.selective_log_softmax` (recomputed in backward, through
  :func:`torch.utils.checkpoint.checkpoint`, when there is more than one chunk);
* :func:`kl_divergence` — per-position ``KL(p_ref ‖ p_θ)`` over the whole vocabulary, both distributions from hidden
  states and their own LM heads, in chunks of positions so the ``(positions × vocab)`` tensors stay bounded; gradient
  only to the policy's hidden states;
* :func:`soft_cross_entropy` — per-position cross-entropy ``−Σ_k q_k log p_θ(v_k)`` to sparse (top-k) targets, and the
  model's argmax, in the same chunks;
* :func:`run_inside_forward` — runs such a computation as the forward of the wrapped model (DDP, DeepSpeed), so the
  wrapper's forward bookkeeping (DDP's ``prepare_for_backward``, ZeRO-3's hooks) happens as for ``model(...)``.

The LM head's output is transformed as the model's own forward does (``logit_scale``-style multipliers, Gemma-2-style
``final_logit_softcapping``), read from the config the way TRL's fused LM head reads them.

For a frozen LM head (LoRA: the head is never adapted; any model whose head does not train), the answer
log-probabilities, the KL and the soft cross-entropy run as one fused autograd function: each chunk's gradient with
respect to the hidden states (``(softmax(z) − target) W``, through the softcap and scale) is computed in the forward,
right after the chunk's logits, so backward recomputes nothing and stores only ``(positions × hidden)``: three
vocabulary-sized matmuls per KL position (reference logits, policy logits, gradient), the least the loss needs; when
the reference's head is the policy's own (a LoRA adapter disabled), its positions and the policy's go through one
product per chunk. A trainable head, or one that is not
a plain :class:`torch.nn.Linear` (quantised, PEFT's ``modules_to_save``), takes the generic path: the head module
called per chunk under activation checkpointing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from accelerate.utils.other import is_repeated_blocks
from torch import nn
from torch.utils.checkpoint import checkpoint
from trl.trainer.utils import maybe_gather_lm_head_ctx, selective_log_softmax

# Positions per chunk are chosen so one fp32 (positions × vocab) tile is about this size: 64 rows of Gemma's 262,144
# entries. A chunk holds ~4 such tiles at once (reference and policy log-probs, probabilities, gradient).
LOGITS_CHUNK_BYTES = 64 * 2**20
# On CPU, the fused path holds a chunk's positions as columns below this many (see _FrozenHeadLoss.forward).
TRANSPOSE_BELOW_POSITIONS = 256


def chunk_rows(vocab_size: int, budget_bytes: int = LOGITS_CHUNK_BYTES) -> int:
    """Positions per chunk so one fp32 ``(positions × vocab_size)`` tile is about ``budget_bytes``."""
    return max(8, budget_bytes // (4 * max(vocab_size, 1)))


# --- the model's parts ----------------------------------------------------------------------------------------------


def causal_lm(model: nn.Module) -> nn.Module:
    """The ``transformers`` causal LM: ``model`` itself, or for a PEFT model the wrapped base model (LoRA layers in)."""
    get_base_model = getattr(model, "get_base_model", None)
    if get_base_model is not None and hasattr(model, "peft_config"):
        if getattr(model, "active_peft_config", None) is not None and model.active_peft_config.is_prompt_learning:
            raise NotImplementedError("Prompt-learning PEFT methods add virtual tokens: use LoRA-style adapters.")
        return get_base_model()
    return model


def body(model: nn.Module) -> nn.Module:
    """The decoder that turns input ids into the last hidden states (``model.model`` for most causal LMs)."""
    lm = causal_lm(model)
    backbone = getattr(lm, getattr(lm, "base_model_prefix", "model"), None)
    if backbone is None or backbone is lm:
        raise ValueError(f"{type(lm).__name__} has no separate decoder to run without its LM head")
    return backbone


def repeated_blocks(module: nn.Module) -> list[nn.Module]:
    """The repeated blocks of ``module`` (a decoder's layers): the members of each outermost ``ModuleList`` whose
    children are all of one class, found as accelerate's regional compilation finds them."""
    if is_repeated_blocks(module):
        return list(module)
    return [block for child in module.children() for block in repeated_blocks(child)]


def compile_body(model: nn.Module, **compile_kwargs) -> int:
    """Regional compilation of ``model``'s body: each repeated block compiled in place (``module.compile()``, so the
    module, its hooks and PEFT's adapter switches stay as they are); the number of blocks compiled."""
    blocks = repeated_blocks(body(model))
    for block in blocks:
        block.compile(**compile_kwargs)
    return len(blocks)


def hidden_states(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """The body's last hidden states ``(B, L, H)``: what the LM head would read at every position."""
    outputs = body(model)(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
    return outputs.last_hidden_state


def next_token_positions(token_mask: torch.Tensor) -> torch.Tensor:
    """``(B, L−1)`` bool: the positions whose next token ``token_mask`` selects (position ``t−1`` predicts ``t``).

    ``hidden[:, :-1][positions]`` are the hidden states to project, ``input_ids[:, 1:][positions]`` their targets.
    """
    return token_mask[:, 1:] != 0


@dataclass(frozen=True)
class OutputHead:
    """A causal LM's output projection and what its forward does to the projection (scale, softcap)."""

    module: nn.Module
    logit_scale: float = 1.0
    softcap: float | None = None

    @classmethod
    def of(cls, model: nn.Module, reference: bool = False) -> OutputHead:
        """The head of ``model`` (a PEFT model's base); ``reference``: the adapter-disabled one, where they differ."""
        lm = causal_lm(model)
        module = lm.get_output_embeddings()
        if reference and hasattr(module, "original_module"):  # PEFT modules_to_save: the reference is the original
            module = module.original_module
        scale, softcap = _logit_transform(lm.config)
        return cls(module=module, logit_scale=scale, softcap=softcap)

    @property
    def weight(self) -> torch.Tensor:
        return self.module.weight

    @property
    def bias(self) -> torch.Tensor | None:
        return getattr(self.module, "bias", None)

    @property
    def vocab_size(self) -> int:
        weight = self.module.weight
        return (getattr(weight, "ds_shape", None) or weight.shape)[0]  # ZeRO-3 partitions: the full shape

    @property
    def frozen_linear(self) -> bool:
        """A plain linear layer whose weights do not train: the fused (gradient-in-forward) path applies."""
        if type(self.module) is not nn.Linear:
            return False
        return not any(p.requires_grad for p in self.module.parameters())

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The model's logits at ``hidden``: the head module called (autograd, hooks), then scale and softcap."""
        logits = self.module(hidden)
        if self.logit_scale != 1.0:
            logits = logits * self.logit_scale
        if self.softcap is not None:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def shares_projection(self, other: OutputHead) -> bool:
        """Whether ``other`` computes the very same logits (one weight, bias and transform: a LoRA policy's head and
        its adapter-disabled reference), so both can go through one product."""
        return (
            self.weight is other.weight
            and self.bias is other.bias
            and (self.logit_scale, self.softcap) == (other.logit_scale, other.softcap)
        )

    def _project(
        self, hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, out: torch.Tensor, transposed: bool
    ) -> torch.Tensor:
        """Fp32 logits without autograd (the fused path), transformed like the model's: ``(n, V)`` for ``hidden``
        ``(n, H)``, or with ``transposed`` ``(V, n)``; ``weight``/``bias`` already in the compute dtype, ``out`` a
        contiguous fp32 buffer of at least ``V·n`` elements. Both are one ``W @ hᵀ`` product, written row-major
        ``(V, n)`` (transposed) or into the transposed view of a row-major ``(n, V)``."""
        vocab, count = weight.size(0), hidden.size(0)
        logits = _view(out, torch.Size((vocab, count) if transposed else (count, vocab)))
        if weight.dtype == torch.float32:
            torch.mm(weight, hidden.to(weight.dtype).t(), out=logits if transposed else logits.t())
        else:
            product = torch.mm(weight, hidden.to(weight.dtype).t())
            logits.copy_(product if transposed else product.t())
        if bias is not None:
            logits.add_(bias.float().unsqueeze(-1) if transposed else bias.float())
        if self.logit_scale != 1.0:
            logits.mul_(self.logit_scale)
        if self.softcap is not None:
            logits.div_(self.softcap).tanh_().mul_(self.softcap)
        return logits


def _logit_transform(config) -> tuple[float, float | None]:
    """(multiplier, softcap) the model's forward applies to the LM head's output (as TRL's fused LM head reads them)."""
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    softcap = getattr(text_config, "final_logit_softcapping", None)
    scale = getattr(text_config, "logit_scale", None)
    if scale is None:
        scale = getattr(text_config, "output_multiplier", None)
    if scale is None:
        scale = getattr(text_config, "lm_head_multiplier", None)
    if scale is None and getattr(text_config, "logits_scaling", None) is not None:
        scaling = text_config.logits_scaling
        scale = scaling if getattr(text_config, "model_type", None) == "hyperclovax" else 1 / scaling
    return (1.0 if scale is None else float(scale)), softcap


# --- running inside the wrapper's forward ---------------------------------------------------------------------------


def run_inside_forward(wrapper: nn.Module, inner: nn.Module, fn: Callable[[], Any]) -> Any:
    """``fn()`` run as the forward of ``inner``, called through ``wrapper`` (DDP, a DeepSpeed engine); plain ``fn()``
    when nothing wraps ``inner``.

    A computation that calls the body and the head itself bypasses ``wrapper.forward``; DDP then never prepares its
    gradient reduction and ZeRO-3 misses its forward bookkeeping. Routing it through ``wrapper(...)`` (what TRL's
    ``_ForwardRedirection`` does) keeps both. ``fn`` takes no arguments: nothing passes through the wrapper's input
    handling (DeepSpeed may cast floating inputs).
    """
    if wrapper is inner:
        return fn()
    original_forward = inner.__dict__.get("forward")

    def redirected_forward(*args, **kwargs):
        _restore_forward(inner, original_forward)
        return fn()

    inner.forward = redirected_forward
    try:
        return wrapper()
    finally:
        _restore_forward(inner, original_forward)


def _restore_forward(module: nn.Module, original) -> None:
    if original is None:
        module.__dict__.pop("forward", None)
    else:
        module.forward = original


# --- log-probabilities of given tokens ------------------------------------------------------------------------------


def gather_log_probs(
    head: OutputHead, hidden: torch.Tensor, index: torch.Tensor, rows: int | None = None
) -> torch.Tensor:
    """``log p(index | hidden)`` at each of ``N`` positions: ``hidden`` ``(N, H)``, ``index`` ``(N,)`` or ``(N, K)``.

    The head runs on ``rows`` positions at a time (default :func:`chunk_rows`). A frozen linear head with one index per
    position takes the fused path (:class:`_FrozenHeadLoss`, a one-hot cross-entropy); otherwise log-softmax and gather
    go through TRL's ``selective_log_softmax`` in fp32, and with more than one chunk and gradients on, each chunk is
    recomputed in backward (activation checkpointing) instead of keeping its logits.
    """
    if hidden.size(0) == 0:
        return hidden.new_zeros(index.shape, dtype=torch.float32) + hidden.sum() * 0.0
    rows = rows or chunk_rows(head.vocab_size)
    if head.frozen_linear and index.dim() == 1:
        # log p(i) is minus the cross-entropy to a one-hot target: the fused path (W @ hᵀ, the gradient with respect to
        # the hidden states computed with the logits, nothing recomputed in backward).
        one_hot = _SparseTarget(index.unsqueeze(-1), torch.ones(index.shape + (1,), device=hidden.device))
        cross_entropy, _ = _FrozenHeadLoss.apply(hidden, head, one_hot, rows, False)
        return -cross_entropy

    def chunk(h: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return selective_log_softmax(head.logits(h).float(), i)

    return _chunked(chunk, rows, hidden, index)


# --- full-vocabulary divergences ------------------------------------------------------------------------------------


@dataclass
class _ReferenceTarget:
    """Dense target: the reference distribution ``p_ref = softmax(head(hidden))`` at each position (no gradient)."""

    head: OutputHead
    hidden: torch.Tensor  # (N, H_ref)


@dataclass
class _SparseTarget:
    """Sparse target: probability ``probs[:, k]`` on token ``ids[:, k]`` at each position, zero elsewhere."""

    ids: torch.Tensor  # (N, K) long
    probs: torch.Tensor  # (N, K) float


def kl_divergence(
    policy_head: OutputHead,
    policy_hidden: torch.Tensor,
    reference_head: OutputHead,
    reference_hidden: torch.Tensor,
    rows: int | None = None,
) -> torch.Tensor:
    """Per-position ``KL(p_ref ‖ p_θ) = Σ_v p_ref(v) (log p_ref(v) − log p_θ(v))`` over the whole vocabulary, ``(N,)``.

    ``p_θ`` from ``policy_hidden`` ``(N, H)`` through ``policy_head``, ``p_ref`` from ``reference_hidden`` through
    ``reference_head`` (no gradient); computed as ``F.kl_div(log p_θ, log p_ref, log_target=True)`` is, on ``rows``
    positions at a time.
    """
    reference_hidden = reference_hidden.detach()
    rows = rows or chunk_rows(policy_head.vocab_size)
    if policy_head.frozen_linear and reference_head.frozen_linear:
        kl, _ = _FrozenHeadLoss.apply(policy_hidden, policy_head, _ReferenceTarget(reference_head, reference_hidden),
                                      rows, False)
        return kl

    def chunk(h: torch.Tensor, h_ref: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            ref_log_probs = reference_head.logits(h_ref).float().log_softmax(-1)
        log_probs = policy_head.logits(h).float().log_softmax(-1)
        return F.kl_div(log_probs, ref_log_probs, log_target=True, reduction="none").sum(-1)

    return _chunked(chunk, rows, policy_hidden, reference_hidden)


def soft_cross_entropy(
    head: OutputHead, hidden: torch.Tensor, ids: torch.Tensor, probs: torch.Tensor, rows: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-position ``(−Σ_k probs_k log p_θ(ids_k), argmax_v p_θ(v))``: cross-entropy to sparse targets ``(N, K)`` and
    the model's most likely token, ``(N,)`` each, on ``rows`` positions at a time."""
    rows = rows or chunk_rows(head.vocab_size)
    probs = probs.float()
    if head.frozen_linear:
        return _FrozenHeadLoss.apply(hidden, head, _SparseTarget(ids, probs), rows, True)

    def chunk(h: torch.Tensor, i: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_probs = head.logits(h).float().log_softmax(-1)
        return -(q * log_probs.gather(-1, i)).sum(-1), log_probs.argmax(-1)

    return _chunked(chunk, rows, hidden, ids, probs)


def _spans(count: int, rows: int) -> list[slice]:
    """``rows`` positions at a time; a remainder under half a chunk joins the last chunk (a few-row product against the
    whole vocabulary costs nearly as much as a full chunk: the weight is read either way)."""
    starts = list(range(0, count, rows))
    if len(starts) > 1 and count - starts[-1] < rows // 2:
        starts.pop()
    return [slice(start, end) for start, end in zip(starts, [*starts[1:], count])]


def _chunked(fn: Callable[..., Any], rows: int, *tensors: torch.Tensor) -> Any:
    """``fn`` over ``rows`` positions (first dimension) of ``tensors`` at a time, outputs concatenated; each chunk is
    recomputed in backward (activation checkpointing) when gradients are on and there is more than one chunk."""
    count = tensors[0].size(0)
    if count <= rows:
        return fn(*tensors)
    recompute = torch.is_grad_enabled() and tensors[0].requires_grad
    parts = []
    for span in _spans(count, rows):
        part = [tensor[span] for tensor in tensors]
        parts.append(checkpoint(fn, *part, use_reentrant=False) if recompute else fn(*part))
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(outputs) for outputs in zip(*parts))
    return torch.cat(parts)


class _FrozenHeadLoss(torch.autograd.Function):
    """Per-position loss against a target distribution, from hidden states and a frozen linear head, in chunks.

    ``_ReferenceTarget``: the loss is ``KL(p_ref ‖ p_θ)``; ``_SparseTarget``: the cross-entropy ``−Σ_k q_k log p_θ(v_k)``.
    Both have the gradient ``∂loss/∂z = (Σ_v t_v) softmax(z) − t`` at the (transformed) logits ``z`` (``Σ_v t_v = 1``
    for the reference distribution, the sum of ``q`` for sparse targets, 0 for masked ones): computed per chunk
    in the forward and taken to the hidden states at once (``∂z/∂h = W`` through scale and softcap), so backward only
    scales the stored ``(N, H)`` gradient by each position's incoming gradient.
    """

    @staticmethod
    def forward(ctx, hidden, head: OutputHead, target, rows: int, want_argmax: bool):
        need_grad = ctx.needs_input_grad[0]
        count = hidden.size(0)
        losses = torch.zeros(count, dtype=torch.float32, device=hidden.device)
        argmax = torch.zeros(count if want_argmax else 0, dtype=torch.long, device=hidden.device)
        grad_hidden = torch.zeros(hidden.shape, dtype=torch.float32, device=hidden.device) if need_grad else None
        compute_dtype = (
            torch.get_autocast_dtype(hidden.device.type) if torch.is_autocast_enabled(hidden.device.type) else hidden.dtype
        )
        reference = target if isinstance(target, _ReferenceTarget) else None
        gathers = [maybe_gather_lm_head_ctx(head.weight, head.bias)]
        if reference is not None:
            gathers.append(maybe_gather_lm_head_ctx(reference.head.weight, reference.head.bias))
        with contextlib.ExitStack() as stack:
            for gather in gathers:
                stack.enter_context(gather)
            weight, bias = _cast(head.weight, compute_dtype), _cast(head.bias, compute_dtype)
            if reference is not None:
                ref_dtype = compute_dtype if torch.is_autocast_enabled(hidden.device.type) else reference.hidden.dtype
                ref_weight, ref_bias = _cast(reference.head.weight, ref_dtype), _cast(reference.head.bias, ref_dtype)
                shared = reference.head.shares_projection(head) and ref_dtype == compute_dtype
            else:
                shared = False
            spans = _spans(count, rows)
            width = max((span.stop - span.start for span in spans), default=0)
            vocab = head.vocab_size
            columns = width * (2 if shared else 1)
            # A few positions against a large vocabulary (Gemma's 262,144 × 640 head, 128 positions) run faster as
            # W @ hᵀ written row-major (V, n) than into a transposed (n, V): ~140 vs ~105 GFLOP/s on the 2-core CI
            # machine; from ~256 positions on (SmolLM2's 49,152-entry head, 341) the products are even and the
            # reductions over the vocabulary are faster along the contiguous last dimension (log-softmax 2.4×, argmax
            # 6×). So on CPU, narrow chunks hold positions as columns (the vocabulary along dim 0); else as rows.
            transposed = hidden.device.type == "cpu" and columns < TRANSPOSE_BELOW_POSITIONS
            over = 0 if transposed else -1  # the vocabulary's dimension

            def positions(tile: torch.Tensor, part: slice) -> torch.Tensor:
                return tile[:, part] if transposed else tile[part]

            # Two flat fp32 buffers of (positions × vocab), reused by every chunk. The first: the logits (the
            # policy's and, when the two share one projection, the reference's beside them; then the reference's
            # probabilities). The second: log p_θ (then the gradient) and log p_ref beside it.
            logits_buffer = torch.empty(vocab * columns, dtype=torch.float32, device=hidden.device)
            log_probs_buffer = torch.empty(vocab * width * (2 if reference is not None else 1), dtype=torch.float32,
                                           device=hidden.device)  # fmt: skip
            for span in spans:
                n = span.stop - span.start
                # One product for the policy's and the reference's positions when they share the projection: W is
                # read once per chunk, and one 128-column product runs nearer the matmul peak than two of 64.
                stacked = torch.cat([hidden[span], reference.hidden[span]]) if shared else hidden[span]
                projected = head._project(stacked, weight, bias, logits_buffer, transposed)
                all_log_probs = torch.log_softmax(projected, over, out=_view(log_probs_buffer, projected.shape))
                logits, log_probs = positions(projected, slice(0, n)), positions(all_log_probs, slice(0, n))
                if want_argmax:
                    argmax[span] = logits.argmax(over)
                if need_grad and head.softcap is not None:  # dz/dz_raw = 1 − (z/c)², z the capped logits
                    chain = logits.div_(head.softcap).square_().neg_().add_(1.0)
                else:
                    chain = None
                if reference is not None:
                    if shared:
                        ref_logits = positions(projected, slice(n, 2 * n))
                        ref_log_probs = positions(all_log_probs, slice(n, 2 * n))
                    else:  # the chain keeps the logits buffer: the reference then needs another
                        out = torch.empty_like(logits_buffer) if chain is not None else logits_buffer
                        ref_logits = reference.head._project(
                            reference.hidden[span], ref_weight, ref_bias, out, transposed
                        )
                        ref_log_probs = torch.log_softmax(
                            ref_logits, over, out=_view(log_probs_buffer[vocab * width :], ref_logits.shape)
                        )
                    target_probs = torch.exp(ref_log_probs, out=ref_logits)
                    # Σ_v p_ref (log p_ref − log p_θ), elementwise as F.kl_div: exactly 0 for equal distributions
                    losses[span] = ref_log_probs.sub_(log_probs).mul_(target_probs).sum(over)
                    if need_grad:  # softmax(z)·Σ_v p_ref − p_ref, with Σ_v p_ref = 1
                        grad = log_probs.exp_().sub_(target_probs)
                    del ref_logits, ref_log_probs, target_probs
                else:
                    ids, probs = target.ids[span], target.probs[span]
                    if transposed:  # (K, n), as the logits
                        ids, probs = ids.t(), probs.t()
                    losses[span] = -(probs * log_probs.gather(over, ids)).sum(over)
                    if need_grad:
                        mass = probs.sum(over, keepdim=True)
                        grad = log_probs.exp_().mul_(mass).scatter_add_(over, ids, -probs)
                if need_grad:
                    if chain is not None:
                        grad.mul_(chain)
                    if head.logit_scale != 1.0:
                        grad.mul_(head.logit_scale)
                    grad = grad.t() if transposed else grad
                    grad_hidden[span] = torch.mm(grad.to(weight.dtype), weight).float()
                    del grad
                del logits, log_probs, chain, projected, all_log_probs
            del logits_buffer, log_probs_buffer
        ctx.mark_non_differentiable(argmax)
        ctx.save_for_backward(grad_hidden)
        ctx.hidden_dtype = hidden.dtype
        return losses, argmax

    @staticmethod
    def backward(ctx, grad_losses, _grad_argmax):
        (grad_hidden,) = ctx.saved_tensors
        if grad_hidden is None or grad_losses is None:
            return None, None, None, None, None
        scale = grad_losses.float().unsqueeze(-1)
        # A zero incoming gradient gives exactly zero, even where the stored gradient is not finite.
        grad = torch.where(scale == 0, torch.zeros_like(grad_hidden), grad_hidden * scale)
        return grad.to(ctx.hidden_dtype), None, None, None, None


def _view(buffer: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The first ``shape.numel()`` elements of a flat buffer, as a contiguous tensor of ``shape``."""
    return buffer[: shape.numel()].view(shape)


def _cast(tensor: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    if tensor is None:
        return None
    return tensor if tensor.dtype == dtype else tensor.to(dtype)
