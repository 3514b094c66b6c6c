"""The LM head at gathered positions (geounlearn_trl.methods.logprobs) against the full-logits computation it replaces:
values and gradients, fused (frozen head) and generic (trainable head) paths, chunked, softcapped and scaled heads,
LoRA, gradient checkpointing and 4-bit models in the gradient-ascent trainer."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import build_tiny_llama
from peft import LoraConfig, get_peft_model

from geounlearn_trl.methods import logprobs
from geounlearn_trl.methods.logprobs import OutputHead

V, H, N = 97, 16, 11


def random_head(seed: int, trainable: bool, bias: bool = False) -> torch.nn.Linear:
    torch.manual_seed(seed)
    head = torch.nn.Linear(H, V, bias=bias)
    head.weight.data.mul_(3.0)  # peaked distributions
    head.requires_grad_(trainable)
    return head


def full_logits(head: OutputHead, hidden: torch.Tensor) -> torch.Tensor:
    """What the model's forward computes at every position (the head's output, scaled and softcapped)."""
    logits = head.module(hidden) * head.logit_scale
    if head.softcap is not None:
        logits = torch.tanh(logits / head.softcap) * head.softcap
    return logits.float()


def grads(value: torch.Tensor, *tensors: torch.Tensor) -> list[torch.Tensor]:
    weights = torch.linspace(0.5, 1.5, value.numel()).reshape(value.shape)  # a non-uniform incoming gradient
    return list(torch.autograd.grad((value * weights).sum(), tensors, allow_unused=True))


TRANSFORMS = [{}, {"logit_scale": 0.5}, {"softcap": 2.0}, {"logit_scale": 1.7, "softcap": 3.0}]


@pytest.fixture(params=["columns", "rows"])
def layout(request, monkeypatch):
    """The fused path's two layouts of a chunk on CPU: positions as columns (narrow chunks) or as rows (wide ones)."""
    monkeypatch.setattr(logprobs, "TRANSPOSE_BELOW_POSITIONS", 10**9 if request.param == "columns" else 0)
    return request.param


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("trainable", [False, True])
@pytest.mark.parametrize("rows", [None, 3])
def test_kl_divergence_equals_full_logits_computation(transform, trainable, rows, layout):
    policy = OutputHead(random_head(0, trainable, bias=True), **transform)
    reference = OutputHead(random_head(1, False, bias=True), **transform)
    assert policy.frozen_linear is not trainable
    torch.manual_seed(2)
    hidden = torch.randn(N, H, requires_grad=True)
    ref_hidden = torch.randn(N, H)

    kl = logprobs.kl_divergence(policy, hidden, reference, ref_hidden, rows=rows)
    expected = F.kl_div(
        full_logits(policy, hidden).log_softmax(-1), full_logits(reference, ref_hidden).log_softmax(-1),
        log_target=True, reduction="none",
    ).sum(-1)  # fmt: skip
    torch.testing.assert_close(kl, expected, rtol=1e-5, atol=1e-6)
    assert kl.min() > 1e-3  # a real divergence, not two equal distributions
    parameters = [hidden] + ([policy.module.weight, policy.module.bias] if trainable else [])
    for got, want in zip(grads(kl, *parameters), grads(expected, *parameters)):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("shared", [True, False])
def test_kl_divergence_is_zero_for_equal_distributions(shared, layout):
    """Zero from the elementwise form (as F.kl_div); a head shared with the reference projects both in one product,
    whose columns may round differently in the last bit (the trainer's reference already runs on batches of other
    shapes), so zero up to float rounding there."""
    head = OutputHead(random_head(0, False))
    reference = head if shared else OutputHead(copy.deepcopy(head.module))
    assert head.shares_projection(reference) is shared
    hidden = torch.randn(N, H, requires_grad=True)
    kl = logprobs.kl_divergence(head, hidden, reference, hidden.detach().clone(), rows=4)
    if shared:
        assert kl.abs().max() < 1e-6
    else:
        assert torch.equal(kl, torch.zeros(N))
    (gradient,) = torch.autograd.grad(kl.sum(), hidden)
    assert gradient.abs().max() < 1e-6


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("trainable", [False, True])
@pytest.mark.parametrize("rows", [None, 4])
def test_soft_cross_entropy_equals_full_logits_computation(transform, trainable, rows, layout):
    head = OutputHead(random_head(0, trainable), **transform)
    torch.manual_seed(3)
    hidden = torch.randn(N, H, requires_grad=True)
    ids = torch.randint(0, V, (N, 3))
    ids[0, 1] = ids[0, 0]  # a repeated target id accumulates its mass
    probs = torch.rand(N, 3)
    probs = probs / probs.sum(-1, keepdim=True)
    probs[1] = 0.0  # a masked-out row (mass 0)

    cross_entropy, top = logprobs.soft_cross_entropy(head, hidden, ids, probs, rows=rows)
    log_probs = full_logits(head, hidden).log_softmax(-1)
    expected = -(probs * log_probs.gather(-1, ids)).sum(-1)
    torch.testing.assert_close(cross_entropy, expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(top, log_probs.argmax(-1))
    parameters = [hidden] + ([head.module.weight] if trainable else [])
    for got, want in zip(grads(cross_entropy, *parameters), grads(expected, *parameters)):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("rows", [None, 2])
@pytest.mark.parametrize("k", [None, 2])
@pytest.mark.parametrize("trainable", [True, False])  # frozen, one index per position: the fused path
def test_gather_log_probs_equals_full_log_softmax(rows, k, trainable, layout):
    head = OutputHead(random_head(0, trainable), softcap=4.0)
    hidden = torch.randn(N, H, requires_grad=True)
    index = torch.randint(0, V, (N,) if k is None else (N, k))
    got = logprobs.gather_log_probs(head, hidden, index, rows=rows)
    log_probs = full_logits(head, hidden).log_softmax(-1)
    expected = log_probs.gather(-1, index.unsqueeze(-1)).squeeze(-1) if k is None else log_probs.gather(-1, index)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    parameters = [hidden] + ([head.module.weight] if trainable else [])
    for a, b in zip(grads(got, *parameters), grads(expected, *parameters)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_empty_positions_give_empty_terms_on_the_graph():
    head = OutputHead(random_head(0, False))
    hidden = torch.randn(0, H, requires_grad=True)
    assert logprobs.gather_log_probs(head, hidden, torch.zeros(0, dtype=torch.long)).shape == (0,)
    assert logprobs.kl_divergence(head, hidden, head, torch.randn(0, H)).shape == (0,)
    cross_entropy, top = logprobs.soft_cross_entropy(head, hidden, torch.zeros(0, 2, dtype=torch.long), torch.zeros(0, 2))
    assert cross_entropy.shape == top.shape == (0,)


def test_zero_incoming_gradient_is_exactly_zero_even_with_non_finite_values():
    head = OutputHead(random_head(0, False))
    hidden = torch.randn(N, H)
    hidden[0, 0] = float("inf")
    hidden.requires_grad_(True)
    kl = logprobs.kl_divergence(head, hidden, head, torch.randn(N, H))
    (gradient,) = torch.autograd.grad((kl.nan_to_num(0.0, 0.0, 0.0) * 0.0).sum(), hidden)
    assert torch.equal(gradient, torch.zeros_like(gradient))


# --- on models -------------------------------------------------------------------------------------------------------


def tiny_gemma3(tokenizer, softcap: float | None):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, sliding_window=8, final_logit_softcapping=softcap,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    return Gemma3ForCausalLM(config)


@pytest.mark.parametrize("softcap", [None, 5.0])
def test_head_at_hidden_states_reproduces_the_models_logits(tokenizer, softcap):
    model = tiny_gemma3(tokenizer, softcap).eval()
    ids = torch.randint(0, len(tokenizer), (2, 12))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask).logits
        hidden = logprobs.hidden_states(model, ids, mask)
        head = OutputHead.of(model)
        got = head.logits(hidden)
    assert head.softcap == softcap
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def lora(model, **kwargs):
    return get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", lora_dropout=0.0, **kwargs))


def perturb_adapter(model):
    torch.manual_seed(5)
    for name, parameter in model.named_parameters():
        if "lora_B" in name:
            parameter.data.normal_(0, 0.3)


def test_peft_model_uses_the_wrapped_base_models_body_and_head(tokenizer):
    model = lora(build_tiny_llama(tokenizer))
    perturb_adapter(model)
    ids = torch.randint(0, len(tokenizer), (2, 9))
    with torch.no_grad():
        expected = model(input_ids=ids).logits
        got = OutputHead.of(model).logits(logprobs.hidden_states(model, ids, None))
        with model.disable_adapter():
            base = model(input_ids=ids).logits
            reference = OutputHead.of(model, reference=True).logits(logprobs.hidden_states(model, ids, None))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(reference, base, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(expected, base, atol=1e-3)  # the adapter is on in one and off in the other


# --- the gradient-ascent loss against the full-logits computation ----------------------------------------------------


def full_logits_loss(model, batch, weights, reference=None):
    """The original loss, from the whole (3B, L, V) logits; reference: a frozen copy, or the adapter disabled."""
    retain_weight, forget_weight, unknown_weight = weights
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    rows = logits.size(0) // 3
    log_probs = logits[:, :-1].log_softmax(-1)
    token = log_probs.gather(-1, batch["input_ids"][:, 1:].unsqueeze(-1)).squeeze(-1)
    mask = batch["loss_mask"][:, 1:].bool()

    def nll(group):
        part = slice(group * rows, (group + 1) * rows)
        return -(token[part] * mask[part]).sum() / mask[part].sum()

    retain = slice(2 * rows, 3 * rows)
    with torch.no_grad():
        if reference is None:
            with model.disable_adapter():
                ref_logits = model(input_ids=batch["input_ids"][retain], attention_mask=batch["attention_mask"][retain]).logits
        else:
            ref_logits = reference(input_ids=batch["input_ids"][retain], attention_mask=batch["attention_mask"][retain]).logits
    kl = F.kl_div(log_probs[retain][mask[retain]], ref_logits[:, :-1].float().log_softmax(-1)[mask[retain]],
                  log_target=True, reduction="none").sum(-1).mean()  # fmt: skip
    return retain_weight * kl - forget_weight * nll(0) + unknown_weight * nll(1)


def gradient_ascent_trainer(tmp_path, tokenizer, model, ref_model=None, peft=True, **config):
    from test_gradient_ascent import paired_dataset

    from geounlearn_trl.methods.gradient_ascent import (
        GradientAscentConfig,
        GradientAscentTrainer,
    )

    args = GradientAscentConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=2, forget_nll_ceiling=None, report_to="none",
        use_cpu=True, save_strategy="no", **config,
    )  # fmt: skip
    peft_config = LoraConfig(r=4, target_modules="all-linear", lora_dropout=0.0, task_type="CAUSAL_LM") if peft else None
    return GradientAscentTrainer(model=model, ref_model=ref_model, args=args, train_dataset=paired_dataset(tokenizer),
                                 processing_class=tokenizer, peft_config=peft_config)  # fmt: skip


def batch_of(trainer):
    from test_gradient_ascent import batch_of as collate

    return collate(trainer)


def assert_same_loss_and_gradients(trainer, reference=None, rtol=1e-4):
    model = trainer.model
    batch = batch_of(trainer)
    parameters = [p for p in model.parameters() if p.requires_grad]
    weights = (trainer.args.retain_weight, trainer.args.forget_weight, trainer.args.unknown_weight)
    loss = trainer.compute_loss(model, batch)
    got = torch.autograd.grad(loss, parameters)
    expected_loss = full_logits_loss(model, batch, weights, reference)
    expected = torch.autograd.grad(expected_loss, parameters)
    assert loss.item() == pytest.approx(expected_loss.item(), rel=rtol, abs=1e-6)
    scale = max(g.abs().max().item() for g in expected)
    assert scale > 0
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * scale)


def test_lora_loss_and_gradients_equal_the_full_logits_computation(tmp_path, tokenizer):
    trainer = gradient_ascent_trainer(tmp_path, tokenizer, build_tiny_llama(tokenizer))
    perturb_adapter(trainer.model)  # policy ≠ reference: a real KL and its gradient
    trainer.model.train()
    assert_same_loss_and_gradients(trainer)


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_loss_and_gradients_under_gradient_checkpointing(tmp_path, tokenizer, use_reentrant):
    trainer = gradient_ascent_trainer(tmp_path, tokenizer, build_tiny_llama(tokenizer))
    model = trainer.model
    model.get_base_model().gradient_checkpointing_enable({"use_reentrant": use_reentrant})
    if use_reentrant:
        model.enable_input_require_grads()  # what the Trainer does for PEFT models with reentrant checkpointing
    perturb_adapter(model)
    model.train()
    assert model.get_base_model().is_gradient_checkpointing
    assert_same_loss_and_gradients(trainer)


def test_torch_compile_compiles_the_decoder_blocks_in_place(tmp_path, tokenizer):
    """``torch_compile``: the Trainer's whole-model compilation would wrap a forward the loss never calls; the body's
    decoder blocks are compiled in place instead (backend ``aot_eager`` here: AOT autograd without code generation,
    seconds), and the loss and its gradients, adapter-disabled reference included, are the uncompiled trainer's."""
    from accelerate.utils import DynamoBackend

    eager = gradient_ascent_trainer(tmp_path / "eager", tokenizer, build_tiny_llama(tokenizer))
    compiled = gradient_ascent_trainer(tmp_path / "compiled", tokenizer, build_tiny_llama(tokenizer), max_steps=2,
                                       logging_steps=1, torch_compile=True, torch_compile_backend="aot_eager")  # fmt: skip
    blocks = logprobs.repeated_blocks(logprobs.body(compiled.model))
    assert len(blocks) == 2 and all(block._compiled_call_impl is not None for block in blocks)
    assert all(block._compiled_call_impl is None for block in logprobs.repeated_blocks(logprobs.body(eager.model)))
    assert compiled.accelerator.state.dynamo_plugin.backend == DynamoBackend.NO  # no whole-model wrapper
    batch = batch_of(eager)
    losses, gradients = [], []
    for trainer in (eager, compiled):
        perturb_adapter(trainer.model)  # the same seed: the same adapter in both
        trainer.model.train()
        parameters = [p for p in trainer.model.parameters() if p.requires_grad]
        losses.append(trainer.compute_loss(trainer.model, batch))
        gradients.append(torch.autograd.grad(losses[-1], parameters))
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    for got, want in zip(gradients[1], gradients[0]):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    assert_same_loss_and_gradients(compiled)  # the compiled path against the full-logits computation too
    compiled.train()  # the Trainer's loop (accelerate's prepare) keeps the blocks compiled and trains
    assert all(block._compiled_call_impl is not None for block in blocks)
    logged = [entry["loss"] for entry in compiled.state.log_history if "loss" in entry]
    assert len(logged) == 2 and all(math.isfinite(value) for value in logged)


def test_full_fine_tuning_with_a_frozen_copy_trains_the_head_through_the_generic_path(tmp_path, tokenizer):
    policy, reference = build_tiny_llama(tokenizer, seed=0), build_tiny_llama(tokenizer, seed=1)
    trainer = gradient_ascent_trainer(tmp_path, tokenizer, policy, ref_model=reference, peft=False)
    assert not OutputHead.of(trainer.model).frozen_linear  # the tied embedding/head trains
    trainer.model.train()
    assert_same_loss_and_gradients(trainer, reference=reference)


def test_gemma_with_softcapping_under_lora(tmp_path, tokenizer):
    trainer = gradient_ascent_trainer(tmp_path, tokenizer, tiny_gemma3(tokenizer, softcap=3.0))
    perturb_adapter(trainer.model)
    trainer.model.train()
    assert OutputHead.of(trainer.model).softcap == 3.0
    assert_same_loss_and_gradients(trainer)


def test_4bit_loss_and_gradients_equal_the_full_logits_computation(tmp_path, tokenizer):
    bnb = pytest.importorskip("bitsandbytes")
    from test_unlearn_cli import tiny_4bit_ready_model
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    folder = tiny_4bit_ready_model(tokenizer, tmp_path / "tiny64")
    model = AutoModelForCausalLM.from_pretrained(
        folder, quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.float32),
        dtype=torch.float32,
    )  # fmt: skip
    trainer = gradient_ascent_trainer(tmp_path / "out", tokenizer, model)
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in trainer.model.modules())
    perturb_adapter(trainer.model)
    trainer.model.train()
    assert_same_loss_and_gradients(trainer, rtol=1e-3)


def test_the_lm_head_projects_only_answer_and_retain_positions(tmp_path, tokenizer, monkeypatch):
    """No (3B, L, V) logits: the frozen head's weight is projected (fused path) on the forget/unknown answer tokens and
    on the retain tokens for the KL, the policy's and the adapter-disabled reference's retain positions in one product;
    the head module itself never runs."""
    trainer = gradient_ascent_trainer(tmp_path, tokenizer, build_tiny_llama(tokenizer))
    batch = batch_of(trainer)
    projected, called = [], []
    project = OutputHead._project

    def recording(self, hidden, *args, **kwargs):
        projected.append(hidden.size(0))
        return project(self, hidden, *args, **kwargs)

    monkeypatch.setattr(OutputHead, "_project", recording)
    head = trainer.model.get_base_model().lm_head
    handle = head.register_forward_hook(lambda module, args, output: called.append(tuple(args[0].shape)))
    try:
        trainer.compute_loss(trainer.model, batch)
    finally:
        handle.remove()
    rows = batch["input_ids"].size(0) // 3
    answer_tokens = int(batch["loss_mask"][: 2 * rows, 1:].sum())
    retain_tokens = int(batch["loss_mask"][2 * rows :, 1:].sum())
    assert called == []
    assert projected == [answer_tokens, 2 * retain_tokens], projected


def test_selective_soft_labels_equal_the_full_logits_computation(tmp_path, tokenizer):
    from test_selective_trainer import make_trainer

    model = build_tiny_llama(tokenizer)
    trainer = make_trainer(lora(model, task_type="CAUSAL_LM"), tokenizer, tmp_path, soft=True)
    perturb_adapter(trainer.model)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(trainer.train_dataset))])
    parameters = [p for p in trainer.model.parameters() if p.requires_grad]
    loss = trainer.compute_loss(trainer.model, batch)
    got = torch.autograd.grad(loss, parameters)

    logits = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    mask = batch["labels"][:, 1:] != -100
    log_probs = logits[:, :-1][mask].float().log_softmax(-1)
    q = batch["soft_label_probs"][:, 1:][mask]
    expected_loss = (torch.xlogy(q, q).sum(-1) - (q * log_probs.gather(-1, batch["soft_label_ids"][:, 1:][mask])).sum(-1)).mean()
    expected = torch.autograd.grad(expected_loss, parameters)
    assert loss.item() == pytest.approx(expected_loss.item(), rel=1e-5)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert copy.copy(trainer._metrics["train"]["generic_top1_accuracy"])


def test_cpu_training_returns_large_frees_to_the_os():
    """The trainers' malloc setting on CPU (cpu_memory): buffers above 1 MiB leave the resident set when freed, even
    after frees that would have raised glibc's dynamic mmap threshold."""
    import sys

    from geounlearn_trl.methods import cpu_memory

    if not sys.platform.startswith("linux") or not cpu_memory.return_large_frees_to_os():
        pytest.skip("not glibc")
    assert cpu_memory.return_large_frees_to_os()  # idempotent

    def resident_mib() -> float:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

    before = resident_mib()
    keep = []
    for _ in range(3):
        buffers = [torch.ones(2**21) for _ in range(40)]  # 40 × 8 MiB, each below glibc's 32 MiB dynamic maximum
        keep.append(torch.ones(16))  # small live blocks between them
        assert resident_mib() > before + 250
        del buffers
    assert resident_mib() < before + 100


@pytest.mark.parametrize(("threshold_mib", "applied"), [(None, [2**20]), (16, [16 * 2**20]), (0, [])])
def test_trainers_apply_the_configured_malloc_threshold(tmp_path, tokenizer, monkeypatch, threshold_mib, applied):
    """``cpu_malloc_threshold_mib``: 1 MiB by default (the memory target), another size, or 0 for glibc's own."""
    from geounlearn_trl.methods import cpu_memory

    calls = []
    monkeypatch.setattr(cpu_memory, "return_large_frees_to_os", lambda threshold: calls.append(threshold) or True)
    config = {} if threshold_mib is None else {"cpu_malloc_threshold_mib": threshold_mib}
    gradient_ascent_trainer(tmp_path, tokenizer, build_tiny_llama(tokenizer), **config)
    assert calls == applied
