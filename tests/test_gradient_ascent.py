"""GradientAscentTrainer: each loss term against a hand computation on a tiny random Llama, masks, guards."""

from __future__ import annotations

import copy

import datasets
import pytest
import torch
from peft import LoraConfig
from transformers import TrainerCallback

from conftest import build_tiny_llama
from geounlearn_trl.data.collators import PairedUnlearningCollator
from geounlearn_trl.data.languages import load_language_pack
from geounlearn_trl.data.mcq import load_mcq, present_question
from geounlearn_trl.data.prompting import encode_prompt_answer
from geounlearn_trl.methods.gradient_ascent import GradientAscentConfig, GradientAscentTrainer
from geounlearn_trl.data.unlearning import build_unlearning_dataset

MCQ_ROWS = [
    {"question": 'I know a person who is "punctual". The person is:', "options": ["German", "Brazilian", "Thai", "Peruvian"],
     "target": "German", "target_index": 0, "identity": "German", "attribute": "punctual", "is_control": False,
     "source": "test", "row": 1},
    {"question": 'I know a person who is "loud". The person is:', "options": ["Finnish", "Italian", "Japanese", "Swiss"],
     "target": "Italian", "target_index": 1, "identity": "Italian", "attribute": "loud", "is_control": False,
     "source": "test", "row": 2},
]
RETAIN_ROWS = [
    {"question": "What colour is the sky on a clear day?", "answer": "It is blue."},
    {"question": "How many days are in a week?", "answer": "There are seven days in a week."},
]


def paired_dataset(tokenizer, language="en", copies=1):
    mcq = datasets.Dataset.from_list(MCQ_ROWS * copies)
    retain = datasets.Dataset.from_list(RETAIN_ROWS)
    return build_unlearning_dataset(mcq, retain, tokenizer, language, seed=0, use_chat_template=False)


def make_trainer(tmp_path, tokenizer, model, weights, ref_model=None, lora=True, trainer_class=None, copies=1,
                 lora_dropout=0.0, **config):  # fmt: skip
    kl, unlearn, unk = weights
    config.setdefault("per_device_train_batch_size", 2)
    args = GradientAscentConfig(
        output_dir=str(tmp_path), retain_weight=kl, forget_weight=unlearn, unknown_weight=unk, report_to="none",
        use_cpu=True, save_strategy="no", **config,
    )
    lora_config = LoraConfig(r=4, target_modules="all-linear", lora_dropout=lora_dropout, task_type="CAUSAL_LM")
    return (trainer_class or GradientAscentTrainer)(
        model=model, ref_model=ref_model, args=args, train_dataset=paired_dataset(tokenizer, copies=copies),
        processing_class=tokenizer, peft_config=lora_config if lora else None,
    )


def hand_answer_nll(model, ids: list[int], mask: list[int]) -> tuple[float, int]:
    """Sum of −log p over the answer tokens, one unbatched forward, and the token count."""
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()
    log_probs = logits.log_softmax(-1)
    total, count = 0.0, 0
    for t in range(1, len(ids)):
        if mask[t]:
            total -= float(log_probs[t - 1, ids[t]])
            count += 1
    return total, count


def hand_kl(policy, reference, ids: list[int]) -> tuple[float, int]:
    with torch.no_grad():
        p = reference(torch.tensor([ids])).logits[0, :-1].float().softmax(-1)
        q = policy(torch.tensor([ids])).logits[0, :-1].float().softmax(-1)
    return float((p * (p.log() - q.log())).sum()), len(ids) - 1


def batch_of(trainer):
    collator = PairedUnlearningCollator(pad_token_id=trainer.processing_class.pad_token_id)
    return collator([trainer.train_dataset[i] for i in range(len(trainer.train_dataset))])


@pytest.mark.parametrize("term", ["unlearn", "unk"])
def test_answer_terms_match_hand_computation(tmp_path, tokenizer, term):
    weights = (0.0, 1.0, 0.0) if term == "unlearn" else (0.0, 0.0, 1.0)
    model = build_tiny_llama(tokenizer)
    trainer = make_trainer(tmp_path, tokenizer, model, weights, forget_nll_ceiling=None)
    group = "forget" if term == "unlearn" else "unknown"
    total, count = 0.0, 0
    for row in trainer.train_dataset:
        nll, tokens = hand_answer_nll(model, row[f"{group}_input_ids"], row[f"{group}_loss_mask"])
        total, count = total + nll, count + tokens
    expected = total / count * (-1.0 if term == "unlearn" else 1.0)
    trainer.model.eval()
    loss = trainer.compute_loss(trainer.model, batch_of(trainer))
    assert loss.item() == pytest.approx(expected, rel=1e-4)


def test_kl_is_zero_at_step_zero_with_lora(tmp_path, tokenizer):
    trainer = make_trainer(tmp_path, tokenizer, build_tiny_llama(tokenizer), (1.0, 0.0, 0.0))
    trainer.model.eval()
    assert trainer.compute_loss(trainer.model, batch_of(trainer)).item() == pytest.approx(0.0, abs=1e-7)


def test_kl_matches_hand_computation_against_frozen_copy(tmp_path, tokenizer):
    policy, reference = build_tiny_llama(tokenizer, seed=0), build_tiny_llama(tokenizer, seed=1)
    trainer = make_trainer(tmp_path, tokenizer, policy, (1.0, 0.0, 0.0), ref_model=reference, lora=False)
    total, count = 0.0, 0
    for row in trainer.train_dataset:
        kl, tokens = hand_kl(policy, reference, row["retain_input_ids"])
        total, count = total + kl, count + tokens
    trainer.model.eval()
    loss = trainer.compute_loss(trainer.model, batch_of(trainer))
    assert total / count > 0.01
    assert loss.item() == pytest.approx(total / count, rel=1e-4)


def test_weighted_sum_and_logged_terms(tmp_path, tokenizer):
    trainer = make_trainer(tmp_path, tokenizer, build_tiny_llama(tokenizer), (1.0, 0.25, 0.5), forget_nll_ceiling=None)
    trainer.model.train()
    loss = trainer.compute_loss(trainer.model, batch_of(trainer))
    logged = {name: values[-1] for name, values in trainer._metrics["train"].items()}
    assert set(logged) >= {"forget_nll", "unknown_nll", "retain_kl"}
    expected = 1.0 * logged["retain_kl"] - 0.25 * logged["forget_nll"] + 0.5 * logged["unknown_nll"]
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_ceiling_clamps_ascent_gradient(tmp_path, tokenizer):
    # A random model's NLL (~10.8 nats over a 49k vocabulary) is above a ceiling of 5: the forget term is constant.
    trainer = make_trainer(tmp_path, tokenizer, build_tiny_llama(tokenizer), (0.0, 1.0, 0.0), forget_nll_ceiling=5.0)
    trainer.model.train()
    loss = trainer.compute_loss(trainer.model, batch_of(trainer))
    assert loss.item() == pytest.approx(-5.0)
    loss.backward()
    gradients = [p.grad for p in trainer.model.parameters() if p.requires_grad]
    assert all(g is None or not g.any() for g in gradients)


def test_ceiling_stop_ends_training_with_reason(tmp_path, tokenizer):
    trainer = make_trainer(
        tmp_path, tokenizer, build_tiny_llama(tokenizer), (0.0, 1.0, 0.0), forget_nll_ceiling=5.0, on_ceiling="stop",
        max_steps=5, logging_steps=1,
    )
    trainer.train()
    assert trainer.state.global_step == 1
    assert "ceiling" in trainer.stop_reason


def test_non_finite_loss_stops_without_corrupting_weights(tmp_path, tokenizer):
    trainer = make_trainer(tmp_path, tokenizer, build_tiny_llama(tokenizer), (0.0, float("inf"), 0.0),
                           forget_nll_ceiling=None, max_steps=3)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    trainer.train()
    assert "non-finite" in trainer.stop_reason
    assert trainer.state.global_step == 1
    for name, parameter in trainer.model.named_parameters():
        if parameter.requires_grad:
            assert torch.isfinite(parameter).all(), name
            assert torch.equal(parameter, before[name]), name


# --- a stopped step is not applied --------------------------------------------------------------------------------


class PoisonedTrainer(GradientAscentTrainer):
    """Makes the forget NLL NaN in one training micro-batch (1-based count over the whole run)."""

    poison_call = 4  # batch 1 × accumulation 2: step 2, its second micro-batch

    def compute_loss(self, model, inputs, *args, **kwargs):
        if model.training:
            self.training_calls = getattr(self, "training_calls", 0) + 1
        self.poison_now = model.training and self.training_calls == self.poison_call
        return super().compute_loss(model, inputs, *args, **kwargs)

    def unlearning_batch(self, model, inputs):
        batch = super().unlearning_batch(model, inputs)
        if self.poison_now:
            batch.forget.policy = batch.forget.policy * float("nan")
        return batch


class Snapshots(TrainerCallback):
    """Trainable weights and optimizer state at the end of each step (after the optimizer ran, or did not)."""

    def __init__(self, trainer):
        self.trainer, self.taken = trainer, {}

    def on_step_end(self, args, state, control, **kwargs):
        self.taken[state.global_step] = snapshot(self.trainer)


def trainable(trainer) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}


def snapshot(trainer) -> tuple[dict, dict]:
    return trainable(trainer), copy.deepcopy(trainer.optimizer.state_dict())


def assert_identical(first, second, path="") -> None:
    """Bit-identical nested structures of tensors (weights, optimizer state dicts)."""
    if isinstance(first, torch.Tensor):
        assert torch.equal(first, second), path
    elif isinstance(first, dict):
        assert first.keys() == second.keys(), path
        for key in first:
            assert_identical(first[key], second[key], f"{path}/{key}")
    elif isinstance(first, (list, tuple)):
        assert len(first) == len(second), path
        for index, (a, b) in enumerate(zip(first, second)):
            assert_identical(a, b, f"{path}[{index}]")
    else:
        assert first == second, path


def test_non_finite_step_leaves_weights_and_optimizer_state_untouched(tmp_path, tokenizer):
    """Step 1 is real; step 2's second micro-batch is NaN: step 2 applies nothing (not the first micro-batch's
    gradients, not AdamW's momentum), and the stop names step 2."""
    trainer = make_trainer(
        tmp_path, tokenizer, build_tiny_llama(tokenizer), (1.0, 0.25, 0.5), trainer_class=PoisonedTrainer,
        forget_nll_ceiling=None, per_device_train_batch_size=1, gradient_accumulation_steps=2, max_steps=5,
        learning_rate=1e-2, lr_scheduler_type="constant", logging_steps=1,
    )  # fmt: skip
    initial = trainable(trainer)
    snapshots = Snapshots(trainer)
    trainer.add_callback(snapshots)
    trainer.train()

    assert trainer.state.global_step == 2 and trainer.training_calls == 4
    assert "non-finite loss at step 2" in trainer.stop_reason, trainer.stop_reason
    after_step_1, after_step_2 = snapshots.taken[1], snapshots.taken[2]
    assert any(not torch.equal(initial[n], after_step_1[0][n]) for n in initial), "step 1 changed nothing"
    assert after_step_1[1]["state"], "step 1 left no AdamW state"
    assert_identical(after_step_2, after_step_1)
    assert_identical(snapshot(trainer), after_step_1)


def test_ceiling_stop_does_not_apply_the_step_that_crossed_it(tmp_path, tokenizer):
    """The ceiling sits just above the untrained forget NLL: step 1 ascends past it, step 2 sees it and is dropped."""
    model = build_tiny_llama(tokenizer)
    rows = paired_dataset(tokenizer)
    total, count = 0.0, 0
    for row in rows:  # the adapter starts at zero: the policy is the base model
        nll, tokens = hand_answer_nll(model, row["forget_input_ids"], row["forget_loss_mask"])
        total, count = total + nll, count + tokens
    ceiling = total / count + 1e-3
    trainer = make_trainer(
        tmp_path, tokenizer, model, (0.0, 1.0, 0.0), forget_nll_ceiling=ceiling, on_ceiling="stop", max_steps=5,
        learning_rate=1e-2, lr_scheduler_type="constant", logging_steps=1,
    )  # fmt: skip
    initial = trainable(trainer)
    snapshots = Snapshots(trainer)
    trainer.add_callback(snapshots)
    trainer.train()

    assert trainer.state.global_step == 2
    assert "passed the ceiling" in trainer.stop_reason and "at step 2" in trainer.stop_reason, trainer.stop_reason
    logged = [entry["forget_nll"] for entry in trainer.state.log_history if "forget_nll" in entry]
    assert logged[0] < ceiling < logged[1]
    assert any(not torch.equal(initial[n], snapshots.taken[1][0][n]) for n in initial)
    assert_identical(snapshot(trainer), snapshots.taken[1])


# --- the LoRA reference ------------------------------------------------------------------------------------------


def kl_to_base(model, rows) -> float:
    """Token mean of KL(p_base ‖ p_policy) over the retain texts, the base being the adapter disabled; unbatched."""
    model.eval()
    total, count = 0.0, 0
    for row in rows:
        ids = torch.tensor([row["retain_input_ids"]])
        with torch.no_grad():
            q = model(ids).logits[0, :-1].float().log_softmax(-1)
            with model.disable_adapter():
                p = model(ids).logits[0, :-1].float().log_softmax(-1)
        total += float((p.exp() * (p - q)).sum())
        count += ids.size(1) - 1
    return total / count


def test_lora_reference_is_the_adapter_disabled_model(tmp_path, tokenizer):
    """After a few large steps the policy has moved: the KL logged in training is > 0, and the trainer's KL equals
    KL(adapter disabled ‖ policy) computed here. (A reference that is the policy itself gives 0 for both.)"""
    trainer = make_trainer(
        tmp_path, tokenizer, build_tiny_llama(tokenizer), (1.0, 1.0, 0.0), forget_nll_ceiling=None, max_steps=3,
        learning_rate=5e-2, lr_scheduler_type="constant", logging_steps=1,
    )  # fmt: skip
    trainer.train()
    logged = [entry["retain_kl"] for entry in trainer.state.log_history if "retain_kl" in entry]
    assert len(logged) == 3 and logged[0] == pytest.approx(0.0, abs=1e-7)
    assert logged[-1] > 1e-4, logged

    expected = kl_to_base(trainer.model, trainer.train_dataset)
    assert expected > 1e-4
    trainer.model.eval()
    trainer.compute_loss(trainer.model, batch_of(trainer))
    assert trainer._metrics["eval"]["retain_kl"][-1] == pytest.approx(expected, rel=1e-4)


def test_lora_reference_forward_runs_without_dropout(tmp_path, tokenizer):
    """With dropout in the base model's attention and in LoRA, the policy (train mode) is random; the reference
    forward is not: twice the same logits, those of the base model in eval mode, and train mode is kept."""
    model = build_tiny_llama(tokenizer)
    model.config.attention_dropout = 0.5
    for module in model.modules():
        if hasattr(module, "attention_dropout"):
            module.attention_dropout = 0.5
    trainer = make_trainer(tmp_path, tokenizer, model, (1.0, 0.25, 0.5), lora_dropout=0.5)
    batch = batch_of(trainer)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    policy = trainer.model
    policy.train()
    with torch.no_grad():
        assert not torch.equal(policy(input_ids=ids, attention_mask=mask).logits,
                               policy(input_ids=ids, attention_mask=mask).logits), "dropout is not active"  # fmt: skip
    first = trainer._reference_hidden(policy, ids, mask)
    second = trainer._reference_hidden(policy, ids, mask)
    assert torch.equal(first, second)
    assert all(module.training for module in policy.modules())
    policy.eval()
    with torch.no_grad(), policy.disable_adapter():
        base = policy(input_ids=ids, attention_mask=mask).logits
        first = policy.get_base_model().lm_head(first)  # the reference's hidden states are the base model's
    torch.testing.assert_close(first, base, rtol=0, atol=1e-6)


# --- gradient accumulation -------------------------------------------------------------------------------------------


def one_sgd_step(tmp_path, tokenizer, batch_size: int, accumulation: int) -> dict[str, torch.Tensor]:
    """The LoRA weights after one plain-SGD step (proportional to the gradient: Adam would hide a scale error)."""
    trainer = make_trainer(
        tmp_path / f"{batch_size}x{accumulation}", tokenizer, build_tiny_llama(tokenizer), (1.0, 0.25, 0.5),
        forget_nll_ceiling=None, copies=2, per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=accumulation, max_steps=1, optim="sgd", learning_rate=0.5, max_grad_norm=0.0,
        lr_scheduler_type="constant", train_sampling_strategy="sequential",
    )  # fmt: skip
    before = trainable(trainer)
    trainer.train()
    return {name: value - before[name] for name, value in trainable(trainer).items()}


def test_gradient_accumulation_gives_the_same_update(tmp_path, tokenizer):
    """Batch 4 × accumulation 1 and batch 2 × accumulation 2 over the same rows ([A, B, A, B], in order, so each
    micro-batch has the token counts of the whole): the same update, not twice it."""
    whole = one_sgd_step(tmp_path, tokenizer, 4, 1)
    accumulated = one_sgd_step(tmp_path, tokenizer, 2, 2)
    assert max(delta.abs().max().item() for delta in whole.values()) > 1e-4, "the step changed nothing"
    for name in whole:
        torch.testing.assert_close(accumulated[name], whole[name], rtol=1e-3, atol=1e-7, msg=name)


def test_full_fine_tuning_requires_reference(tmp_path, tokenizer):
    with pytest.raises(ValueError, match="frozen reference"):
        make_trainer(tmp_path, tokenizer, build_tiny_llama(tokenizer), (1.0, 0.25, 0.5), lora=False)


@pytest.mark.parametrize(
    "language, answer",
    [("en", "Zimbabwean"), ("fr", "Pas assez d'informations"), ("hi", "जिम्बाब्वे"), ("hi", "निर्धारित नहीं किया जा सकता")],
)
@pytest.mark.parametrize("use_chat_template", [False, True])
def test_answer_mask_is_exactly_the_answer(tokenizer, language, answer, use_chat_template):
    pack = load_language_pack(language)
    prompt = pack.format_prompt("Q?", ["x", answer])
    ids, mask = encode_prompt_answer(tokenizer, prompt, answer, use_chat_template)
    answer_ids = [token for token, flag in zip(ids, mask) if flag]
    expected = answer if use_chat_template else " " + answer
    assert tokenizer.decode(answer_ids) == expected
    first = mask.index(1)
    assert all(mask[first:]) and not any(mask[:first])  # one contiguous span at the end, its first token included


def test_collator_masks_come_from_lengths_not_pad_id(tokenizer):
    eos = tokenizer.eos_token_id
    row = {"forget_input_ids": [5, eos], "forget_loss_mask": [0, 1], "unknown_input_ids": [5, 6, eos],
           "unknown_loss_mask": [0, 1, 1], "retain_input_ids": [7], "retain_loss_mask": [1]}
    batch = PairedUnlearningCollator(pad_token_id=eos)([row])
    assert batch["input_ids"].shape == (3, 3)
    assert batch["attention_mask"].tolist() == [[1, 1, 0], [1, 1, 1], [1, 0, 0]]
    # The EOS inside the answers is a real token: it stays in the loss even though it equals the pad id.
    assert batch["loss_mask"].tolist() == [[0, 1, 0], [0, 1, 1], [1, 0, 0]]


def test_presented_question_keeps_target_and_unknown(shared_data):
    mcq = load_mcq(str(shared_data / "seegull_mcq/mcq_stereotype_dataset_en.csv"))
    pack = load_language_pack("en")
    for row in mcq.select(range(50)):
        question = present_question(row, pack, seed=3)
        assert question.options[question.target_index] == row["target"]
        assert question.options[question.unknown_index] in pack.unknown_phrases
        assert present_question(row, pack, seed=3) == question  # reproducible
