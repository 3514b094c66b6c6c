"""SelectiveRelabelTrainer: its losses against hand-written formulas, its collator, its checks and that it learns."""

from __future__ import annotations

import datasets
import pytest
import torch
import torch.nn.functional as F
from peft import LoraConfig

from geounlearn_trl.methods.selective_relabel import (
    IGNORE_INDEX,
    RelabeledBlockCollator,
    SelectiveRelabelConfig,
    SelectiveRelabelTrainer,
)

M = IGNORE_INDEX


def relabeled_rows(soft: bool, k: int = 3) -> list[dict]:
    """Two blocks of different lengths; labels in the causal-LM convention (labels[t] predicted from < t)."""
    generator = torch.Generator().manual_seed(0)
    rows = []
    for length, labels in ((6, [M, 11, M, 13, 14, M]), (4, [M, M, 22, 23])):
        row = {
            "input_ids": torch.randint(100, 2000, (length,), generator=generator).tolist(),
            "attention_mask": [1] * length,
            "labels": labels,
            "text": "unused by the trainer",
        }
        if soft:
            ids = torch.randint(100, 2000, (length, k), generator=generator)
            probs = torch.rand(length, k, generator=generator)
            probs = probs / probs.sum(-1, keepdim=True)
            for t, label in enumerate(labels):
                if label == M:
                    ids[t], probs[t] = 0, 0.0
            row["soft_label_ids"], row["soft_label_probs"] = ids.tolist(), probs.tolist()
        rows.append(row)
    return rows


def make_trainer(model, tokenizer, tmp_path, soft: bool, **config):
    args = SelectiveRelabelConfig(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=2,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        **config,
    )
    dataset = datasets.Dataset.from_list(relabeled_rows(soft))
    return SelectiveRelabelTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)


def test_collator_pads_with_masks_not_pad_ids():
    rows = relabeled_rows(soft=True)
    batch = RelabeledBlockCollator(pad_token_id=7, soft_labels=True)(rows)
    assert batch["input_ids"].shape == (2, 6) and batch["soft_label_ids"].shape == (2, 6, 3)
    assert batch["input_ids"][1, 4:].tolist() == [7, 7]
    assert batch["attention_mask"].tolist() == [[1] * 6, [1, 1, 1, 1, 0, 0]]
    assert batch["labels"][1].tolist() == [M, M, 22, 23, M, M]
    assert batch["soft_label_probs"][1, 4:].abs().sum() == 0
    assert "text" not in batch


def test_hard_loss_is_mean_cross_entropy(tiny_model, tokenizer, tmp_path):
    trainer = make_trainer(tiny_model, tokenizer, tmp_path, soft=False)
    assert not trainer.use_soft_labels
    batch = trainer.data_collator(relabeled_rows(soft=False))
    loss = trainer.compute_loss(trainer.model, dict(batch))
    with torch.no_grad():
        logits = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    # −(1/N) Σ_t log p(y_t | x_<t): logits at t−1 against labels at t, −100 ignored
    expected = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), batch["labels"][:, 1:].reshape(-1))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert trainer._metrics["train"]["generic_nll"][-1] == pytest.approx(expected.item(), rel=1e-5)


def test_soft_loss_is_mean_kl_to_targets(tiny_model, tokenizer, tmp_path):
    trainer = make_trainer(tiny_model, tokenizer, tmp_path, soft=True)
    assert trainer.use_soft_labels  # label_type="auto" and the dataset has soft targets
    batch = trainer.data_collator(relabeled_rows(soft=True))
    loss = trainer.compute_loss(trainer.model, dict(batch))
    with torch.no_grad():
        log_p = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.log_softmax(-1)
    terms = []
    for b in range(2):
        for t in range(1, 6):
            if batch["labels"][b, t] == M:
                continue
            q, v = batch["soft_label_probs"][b, t], batch["soft_label_ids"][b, t]
            terms.append(sum(q[i] * (torch.log(q[i]) - log_p[b, t - 1, v[i]]) for i in range(3)))
    assert len(terms) == 5
    assert loss.item() == pytest.approx(torch.stack(terms).mean().item(), rel=1e-5)
    metrics = trainer._metrics["train"]
    assert metrics["generic_kl"][-1] == pytest.approx(loss.item(), rel=1e-5)
    assert metrics["generic_nll"][-1] >= metrics["generic_kl"][-1]  # CE = KL + H(q) ≥ KL


def test_label_type_hard_ignores_soft_columns(tiny_model, tokenizer, tmp_path):
    trainer = make_trainer(tiny_model, tokenizer, tmp_path, soft=True, label_type="hard")
    assert not trainer.use_soft_labels
    assert "soft_label_ids" not in trainer.data_collator(relabeled_rows(soft=True))


def test_missing_columns_fail_before_training(tiny_model, tokenizer, tmp_path):
    with pytest.raises(ValueError, match="label_type='soft' needs soft_label_ids"):
        make_trainer(tiny_model, tokenizer, tmp_path, soft=False, label_type="soft")
    args = SelectiveRelabelConfig(output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True)
    plain = datasets.Dataset.from_dict({"input_ids": [[1, 2, 3]]})
    with pytest.raises(ValueError, match="lacks labels"):
        SelectiveRelabelTrainer(model=tiny_model, args=args, train_dataset=plain, processing_class=tokenizer)
    with pytest.raises(ValueError, match="label_type must be"):
        SelectiveRelabelConfig(output_dir=str(tmp_path / "out"), label_type="medium")


def one_sgd_step(tokenizer, tmp_path, soft: bool, batch_size: int, accumulation: int) -> dict[str, torch.Tensor]:
    """Weight changes of one plain-SGD step (proportional to the gradient: Adam would hide a scale error) over the
    rows [A, B, A, B] in order, so every micro-batch holds the labeled positions of the whole batch in proportion."""
    from conftest import build_tiny_llama

    args = SelectiveRelabelConfig(
        output_dir=str(tmp_path / f"{batch_size}x{accumulation}"), per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=accumulation, max_steps=1, optim="sgd", learning_rate=0.5, max_grad_norm=0.0,
        lr_scheduler_type="constant", train_sampling_strategy="sequential", report_to="none", save_strategy="no",
        use_cpu=True,
    )  # fmt: skip
    trainer = SelectiveRelabelTrainer(
        model=build_tiny_llama(tokenizer), args=args, processing_class=tokenizer,
        train_dataset=datasets.Dataset.from_list(relabeled_rows(soft) * 2),
    )  # fmt: skip
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.train()
    return {name: p.detach() - before[name] for name, p in trainer.model.named_parameters()}


@pytest.mark.parametrize("soft", [False, True])
def test_gradient_accumulation_gives_the_same_update(tokenizer, tmp_path, soft):
    """Batch 4 × accumulation 1 and batch 2 × accumulation 2: the same update (the Trainer divides the per-batch mean
    by the accumulation steps; not dividing would double it)."""
    whole = one_sgd_step(tokenizer, tmp_path, soft, 4, 1)
    accumulated = one_sgd_step(tokenizer, tmp_path, soft, 2, 2)
    assert max(delta.abs().max().item() for delta in whole.values()) > 1e-4, "the step changed nothing"
    for name in whole:
        torch.testing.assert_close(accumulated[name], whole[name], rtol=1e-3, atol=1e-6, msg=name)


@pytest.mark.parametrize("soft", [False, True])
def test_training_moves_the_model_toward_the_generic_labels(tiny_model, tokenizer, tmp_path, soft):
    trainer = make_trainer(
        tiny_model,
        tokenizer,
        tmp_path,
        soft=soft,
        max_steps=15,
        learning_rate=5e-3,
        lr_scheduler_type="constant",
        logging_steps=1,
    )
    batch = trainer.data_collator(relabeled_rows(soft=soft))
    before = trainer.compute_loss(trainer.model, dict(batch)).item()
    trainer.train()
    after = trainer.compute_loss(trainer.model, dict(batch)).item()
    assert after < before - 0.1
    logged = [entry for entry in trainer.state.log_history if "generic_nll" in entry]
    assert logged and "generic_top1_accuracy" in logged[0]


def test_lora_through_peft_config(tiny_model, tokenizer, tmp_path):
    args = SelectiveRelabelConfig(
        output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True, max_steps=2, save_strategy="no",
        per_device_train_batch_size=2,
    )  # fmt: skip
    trainer = SelectiveRelabelTrainer(
        model=tiny_model,
        args=args,
        train_dataset=datasets.Dataset.from_list(relabeled_rows(soft=False)),
        processing_class=tokenizer,
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
    )
    trainer.train()
    trainer.save_model(str(tmp_path / "adapter"))
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    assert "selective-relabel" in (tmp_path / "adapter" / "README.md").read_text(encoding="utf-8")
