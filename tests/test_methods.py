"""The methods over UnlearningTrainer: each loss and its gradient against a hand computation from the whole logits of a
tiny random Llama, the registry, the reference (adapter disabled, frozen copy, none), aliases, the disambiguated
retain set, and `unlearn --method` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
import torch
import torch.nn.functional as F
import yaml
from peft import LoraConfig

from conftest import build_tiny_llama
from geounlearn_trl.data.collators import PairedUnlearningCollator
from geounlearn_trl.data.mcq import NORMALISED_FEATURES
from geounlearn_trl.data.unlearning import build_unlearning_dataset
from geounlearn_trl.methods import METHODS, PAIRED_METHODS, method_classes
from geounlearn_trl.methods.base import UnlearningConfig, UnlearningTrainer
from test_gradient_ascent import MCQ_ROWS, RETAIN_ROWS

REPO = Path(__file__).resolve().parents[1]


def paired(tokenizer, retain_source="text"):
    # Normalised rows as load_mcq gives them (disambiguated items are derived from the ambiguous ones).
    rows = [dict(row, split_group=str(row["row"]), item_type="ambiguous", stereotype=row["target"]) for row in MCQ_ROWS]
    return build_unlearning_dataset(
        datasets.Dataset.from_list(rows, features=NORMALISED_FEATURES), datasets.Dataset.from_list(RETAIN_ROWS),
        tokenizer, "en", seed=0, use_chat_template=False, retain_source=retain_source,
    )  # fmt: skip


def make(method, tmp_path, tokenizer, peft=True, ref_model=None, **config):
    config_class, trainer_class = method_classes(method)
    args = config_class(output_dir=str(tmp_path / method), per_device_train_batch_size=2, report_to="none",
                        use_cpu=True, save_strategy="no", **config)  # fmt: skip
    lora = LoraConfig(r=4, target_modules="all-linear", lora_dropout=0.0, task_type="CAUSAL_LM") if peft else None
    trainer = trainer_class(model=build_tiny_llama(tokenizer), ref_model=ref_model, args=args,
                            train_dataset=paired(tokenizer), processing_class=tokenizer, peft_config=lora)  # fmt: skip
    if peft:  # move the adapter off zero so that policy and reference differ
        torch.manual_seed(1)
        with torch.no_grad():
            for name, parameter in trainer.model.named_parameters():
                if "lora_B" in name:
                    parameter.normal_(0.0, 0.05)
    return trainer


def batch_of(trainer):
    collator = PairedUnlearningCollator(pad_token_id=trainer.processing_class.pad_token_id)
    return collator([trainer.train_dataset[i] for i in range(len(trainer.train_dataset))])


def hand_terms(model, batch, reference=None):
    """Per group: per-answer sequence log-probabilities Σ_t log π(y_t|…) and token counts, from the whole logits of the
    policy (with gradient) and of the reference (no gradient; the adapter disabled unless a frozen copy is given);
    and the retain KL per token."""
    def sequence_log_probs(logits):
        token = logits[:, :-1].float().log_softmax(-1).gather(-1, batch["input_ids"][:, 1:].unsqueeze(-1)).squeeze(-1)
        mask = batch["loss_mask"][:, 1:].bool()
        return (token * mask).sum(-1), mask.sum(-1)

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    with torch.no_grad():
        if reference is None:
            model.eval()
            with model.disable_adapter():
                ref_logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            model.train()
        else:
            ref_logits = reference(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    policy, tokens = sequence_log_probs(logits)
    ref, _ = sequence_log_probs(ref_logits)
    rows = logits.size(0) // 3
    mask = batch["loss_mask"][2 * rows :, 1:].bool()
    kl = F.kl_div(logits[2 * rows :, :-1].float().log_softmax(-1)[mask],
                  ref_logits[2 * rows :, :-1].float().log_softmax(-1)[mask], log_target=True,
                  reduction="none").sum(-1).mean()  # fmt: skip
    split = lambda t: (t[:rows], t[rows : 2 * rows], t[2 * rows :])  # noqa: E731
    return split(policy), split(ref), split(tokens), kl


def expected_loss(method, args, model, batch, reference=None):
    (forget, unknown, retain), (ref_forget, ref_unknown, _), (n_forget, n_unknown, n_retain), kl = hand_terms(
        model, batch, reference
    )
    nll = lambda logp, n: -logp.sum() / n.sum()  # noqa: E731
    if method in ("gradient_ascent", "grad_diff"):
        per_answer = (-forget / n_forget).clamp(max=args.forget_nll_ceiling) if args.forget_nll_ceiling else -forget / n_forget
        forget_term = -(per_answer * n_forget).sum() / n_forget.sum()
    elif method == "npo":
        forget_term = -(2 / args.beta) * F.logsigmoid(-args.beta * (forget - ref_forget)).mean()
    elif method == "simnpo":
        forget_term = -(2 / args.beta) * F.logsigmoid(-(args.beta / n_forget) * forget - args.gamma).mean()
    elif method == "idk_dpo":
        margin = (unknown - ref_unknown) - (forget - ref_forget)
        forget_term = -(2 / args.beta) * F.logsigmoid(args.beta * margin).mean()
    retain_term = kl if args.retain_loss == "kl" else nll(retain, n_retain)
    return args.forget_weight * forget_term + args.unknown_weight * nll(unknown, n_unknown) + args.retain_weight * retain_term


def assert_loss_and_gradients(trainer, method, reference=None):
    model = trainer.model
    batch = batch_of(trainer)
    parameters = [p for p in model.parameters() if p.requires_grad]
    loss = trainer.compute_loss(model, batch)
    got = torch.autograd.grad(loss, parameters)
    expected = expected_loss(method, trainer.args, model, batch, reference)
    want = torch.autograd.grad(expected, parameters)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4, abs=1e-6)
    scale = max(g.abs().max().item() for g in want)
    assert scale > 0
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4 * scale)


@pytest.mark.parametrize("method", PAIRED_METHODS)
def test_each_method_defaults_against_the_whole_logits(method, tmp_path, tokenizer):
    trainer = make(method, tmp_path, tokenizer)
    trainer.model.train()
    assert_loss_and_gradients(trainer, method)


@pytest.mark.parametrize("method,config", [
    ("npo", {"beta": 0.5, "retain_loss": "kl", "unknown_weight": 0.5}),
    ("simnpo", {"beta": 2.0, "gamma": 0.3, "retain_weight": 0.0}),
    ("idk_dpo", {"beta": 0.2, "retain_loss": "kl", "forget_weight": 0.5}),
    ("grad_diff", {"forget_nll_ceiling": None, "unknown_weight": 0.25}),
    ("gradient_ascent", {"retain_loss": "nll", "forget_nll_ceiling": 9.0}),
])
def test_other_settings_against_the_whole_logits(method, config, tmp_path, tokenizer):
    trainer = make(method, tmp_path, tokenizer, **config)
    trainer.model.train()
    assert_loss_and_gradients(trainer, method)


def test_full_fine_tuning_reads_a_frozen_copy(tmp_path, tokenizer):
    reference = build_tiny_llama(tokenizer, seed=3)
    trainer = make("npo", tmp_path, tokenizer, peft=False, ref_model=reference)
    trainer.model.train()
    assert_loss_and_gradients(trainer, "npo", reference=trainer.ref_model)
    with pytest.raises(ValueError, match="frozen reference copy"):
        make("idk_dpo", tmp_path, tokenizer, peft=False)


def test_reference_free_simnpo_runs_no_reference(tmp_path, tokenizer, monkeypatch):
    trainer = make("simnpo", tmp_path, tokenizer, peft=False)  # full fine-tuning, no copy needed
    assert trainer.ref_model is None and not trainer.needs_reference(trainer.args)
    monkeypatch.setattr(trainer, "_reference_hidden", lambda *a: pytest.fail("the reference ran"))
    trainer.compute_loss(trainer.model, batch_of(trainer))
    assert method_classes("simnpo")[1].needs_reference(method_classes("simnpo")[0](output_dir=str(tmp_path),
                                                                                    retain_loss="kl"))


def test_unknown_rows_run_only_when_read(tmp_path, tokenizer):
    npo = make("npo", tmp_path, tokenizer)
    assert npo._policy_groups() == [0, 2] and npo._reference_groups() == [0]
    dpo = make("idk_dpo", tmp_path, tokenizer, retain_weight=0.0)
    assert dpo._policy_groups() == [0, 1] and dpo._reference_groups() == [0, 1]
    ga = make("gradient_ascent", tmp_path, tokenizer)
    assert ga._policy_groups() == [0, 1, 2] and ga._reference_groups() == [2]


def test_logged_terms(tmp_path, tokenizer):
    trainer = make("idk_dpo", tmp_path, tokenizer, unknown_weight=0.5)
    trainer.compute_loss(trainer.model, batch_of(trainer))
    assert {"forget_nll", "unknown_nll", "retain_nll", "preference_margin"} <= set(trainer._metrics["train"])


def test_original_names_are_aliases(tmp_path):
    args = UnlearningConfig(output_dir=str(tmp_path), kl_weight=2.0, unlearn_weight=0.3, unk_weight=0.7)
    assert (args.retain_weight, args.retain_loss, args.forget_weight, args.unknown_weight) == (2.0, "kl", 0.3, 0.7)
    assert args.kl_weight is None and args.unlearn_weight is None and args.unk_weight is None  # one source of truth
    with pytest.raises(ValueError, match="retain_loss"):
        UnlearningConfig(output_dir=str(tmp_path), retain_loss="mse")
    with pytest.raises(ValueError, match="beta"):
        method_classes("npo")[0](output_dir=str(tmp_path), beta=0.0)


def test_registry_every_method_has_config_trainer_and_recipe():
    for name, method in METHODS.items():
        config_class, trainer_class = method.classes()
        assert trainer_class._paper.get("citation", "").startswith("@"), name
        assert trainer_class.card_title and trainer_class.__doc__, name
        if method.data == "paired":
            assert issubclass(trainer_class, UnlearningTrainer) and issubclass(config_class, UnlearningConfig), name
            recipes = sorted((REPO / "recipes" / name).glob("*.yaml"))
            assert recipes, f"no recipe under recipes/{name}/"
            for recipe in recipes:
                assert yaml.safe_load(recipe.read_text(encoding="utf-8")).get("method", name) == name, recipe


def test_disambiguated_retain_items(tokenizer):
    rows = paired(tokenizer, retain_source="disambiguated")
    for row in rows:
        ids, mask = row["retain_input_ids"], row["retain_loss_mask"]
        text = tokenizer.decode(ids)
        answer = tokenizer.decode([t for t, m in zip(ids, mask) if m]).strip()
        # The context states the identity; the answer is that identity, and only it is in the loss.
        assert "This person is" in text and answer in {option for r in MCQ_ROWS for option in r["options"]}, text
        assert f"This person is {answer}" in text
        assert 0 < sum(mask) < len(ids)


def test_unlearn_method_npo_end_to_end(tmp_path, tiny_model_dir):
    from geounlearn_trl.cli import unlearn

    out = tmp_path / "npo"
    assert unlearn.main([
        "--method", "npo", "--beta", "0.2", "--model_name_or_path", tiny_model_dir, "--use_peft",
        "--lora_target_modules", "all-linear", "--language", "en", "--max_train_samples", "4", "--max_steps", "2",
        "--per_device_train_batch_size", "2", "--logging_steps", "1", "--report_to", "none", "--use_cpu",
        "--save_strategy", "no", "--retain_source", "disambiguated", "--output_dir", str(out),
    ]) == 0  # fmt: skip
    config = yaml.safe_load((out / "geounlearn_config.yaml").read_text(encoding="utf-8"))
    assert config["script"]["method"] == "npo" and config["training"]["beta"] == 0.2
    assert config["script"]["retain_source"] == "disambiguated"
    log = json.loads((out / "training_log.json").read_text())["log_history"]
    assert [entry["step"] for entry in log if "forget_log_ratio" in entry] == [1, 2]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "NPO stereotype unlearning" in card and "zhang2024negative" in card and "| `beta` | 0.2 |" in card
    assert "npo" in yaml.safe_load(card.split("---")[1])["tags"]


def test_unlearn_reads_the_method_from_the_recipe(tmp_path, tiny_model_dir):
    from geounlearn_trl.cli import unlearn

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"method": "simnpo", "gamma": 0.1, "max_steps": 1, "report_to": "none",
                                      "use_cpu": True, "save_strategy": "no", "per_device_train_batch_size": 2}))
    out = tmp_path / "simnpo"
    assert unlearn.main(["--config", str(recipe), "--model_name_or_path", tiny_model_dir, "--use_peft",
                         "--max_train_samples", "2", "--output_dir", str(out)]) == 0  # fmt: skip
    config = yaml.safe_load((out / "geounlearn_config.yaml").read_text(encoding="utf-8"))
    assert config["script"]["method"] == "simnpo" and config["training"]["gamma"] == 0.1
    with pytest.raises(SystemExit, match="unknown --method 'rmu'"):
        unlearn.main(["--method", "rmu"])


@pytest.mark.parametrize("method", ["npo", "simnpo", "idk_dpo", "grad_diff"])
def test_every_method_trains_under_qlora(method, tmp_path, tokenizer):
    """4-bit weights (bitsandbytes nf4 on CPU) with a LoRA adapter: each method's reference (the adapter disabled on
    the quantised base) and terms run, the adapter moves, and the loss stays finite."""
    from safetensors.torch import load_file

    from geounlearn_trl.cli import unlearn
    from test_unlearn_cli import tiny_4bit_ready_model

    out = tmp_path / method
    assert unlearn.main([
        "--method", method, "--model_name_or_path", tiny_4bit_ready_model(tokenizer, tmp_path / "tiny64"),
        "--load_in_4bit", "--use_peft", "--lora_target_modules", "all-linear", "--language", "en",
        "--max_train_samples", "4", "--max_steps", "2", "--per_device_train_batch_size", "2", "--learning_rate", "1e-2",
        "--logging_steps", "1", "--report_to", "none", "--use_cpu", "--save_strategy", "no", "--output_dir", str(out),
    ]) == 0  # fmt: skip
    log = json.loads((out / "training_log.json").read_text())["log_history"]
    losses = [entry["loss"] for entry in log if "loss" in entry]
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    adapter = load_file(out / "adapter_model.safetensors")
    assert any(name.endswith("lora_B.weight") and tensor.abs().max() > 0 for name, tensor in adapter.items())
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"].endswith("tiny64")
    config = yaml.safe_load((out / "geounlearn_config.yaml").read_text(encoding="utf-8"))
    assert config["model"]["load_in_4bit"] is True and config["script"]["method"] == method
