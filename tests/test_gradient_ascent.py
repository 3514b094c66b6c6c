"""GradientAscentTrainer: each loss term against a hand computation on a tiny random Llama, masks, guards."""

from __future__ import annotations


import datasets
import pytest
import torch
from peft import LoraConfig

from conftest import build_tiny_llama
from geounlearn_trl.collators import PairedUnlearningCollator
from geounlearn_trl.languages import load_language_pack
from geounlearn_trl.mcq import load_mcq, present_question
from geounlearn_trl.prompting import encode_prompt_answer
from geounlearn_trl.trainers.gradient_ascent import GradientAscentConfig, GradientAscentTrainer
from geounlearn_trl.unlearn_data import build_gradient_ascent_dataset

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


def paired_dataset(tokenizer, language="en"):
    mcq = datasets.Dataset.from_list(MCQ_ROWS)
    retain = datasets.Dataset.from_list(RETAIN_ROWS)
    return build_gradient_ascent_dataset(mcq, retain, tokenizer, language, seed=0, use_chat_template=False)


def make_trainer(tmp_path, tokenizer, model, weights, ref_model=None, lora=True, **config):
    kl, unlearn, unk = weights
    args = GradientAscentConfig(
        output_dir=str(tmp_path), kl_weight=kl, unlearn_weight=unlearn, unk_weight=unk, report_to="none",
        use_cpu=True, per_device_train_batch_size=2, save_strategy="no", **config,
    )
    return GradientAscentTrainer(
        model=model, ref_model=ref_model, args=args, train_dataset=paired_dataset(tokenizer),
        processing_class=tokenizer,
        peft_config=LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM") if lora else None,
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
    assert set(logged) >= {"unlearn_nll", "unk_nll", "kl"}
    expected = 1.0 * logged["kl"] - 0.25 * logged["unlearn_nll"] + 0.5 * logged["unk_nll"]
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


def test_gradient_accumulation_divides_the_loss(tmp_path, tokenizer):
    assert GradientAscentTrainer.loss_is_scaled_for_ga is False


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
