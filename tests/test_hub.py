"""Pushing to the Hub: fails fast offline or without a token, after the adapter and card are on disk; the token never
lands in a file; when the push does go out, it is the standard Trainer push and the uploaded README is our card."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace

import datasets
import pytest
from huggingface_hub import HfApi, ModelCard, RepoUrl
from peft import LoraConfig
from trl import SFTConfig

from geounlearn_trl.hub import push as hub
from geounlearn_trl.hub.push import HubPush, HubPushError, finalize_output, hold_push, push_to_hub
from geounlearn_trl.hub.model_card import describe_run
from geounlearn_trl.methods.selective_relabel import ReinforceTrainer

SECRET = "hf_fake_secret_456"


def files_containing(folder: Path, needle: str) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and needle.encode() in path.read_bytes()]


def test_offline_push_fails_fast_after_saving(tmp_path, tiny_model_dir, caplog):
    """`unlearn --push_to_hub --hub_token ...` with HF_HUB_OFFLINE=1: exit status 1, adapter and card on disk."""
    from geounlearn_trl.cli import unlearn

    out = tmp_path / "adapter"
    with caplog.at_level(logging.INFO, logger="geounlearn_trl.hub.push"):
        status = unlearn.main([
            "--model_name_or_path", str(tiny_model_dir), "--max_train_samples", "2", "--use_peft", "--max_steps", "1",
            "--per_device_train_batch_size", "2", "--max_length", "64", "--output_dir", str(out), "--report_to", "none",
            "--use_cpu", "--save_strategy", "no", "--push_to_hub", "--hub_model_id", "someone/geo", "--hub_private_repo",
            "true", "--hub_token", SECRET,
        ])
    assert status == 1
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "HF_HUB_OFFLINE" in errors[0] and str(out.resolve()) in errors[0] and "hf upload someone/geo" in errors[0]
    assert (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file()
    assert "geounlearn-trl" in ModelCard.load(out / "README.md").data.tags
    # --hub_token never reached the Trainer, whose training_args.bin is a pickle of its arguments
    assert files_containing(out, SECRET) == []
    assert SECRET not in caplog.text


def test_hold_push_keeps_the_token_and_the_push_from_the_trainer(tmp_path):
    args = SFTConfig(output_dir=str(tmp_path), push_to_hub=True, hub_model_id="me/x", hub_token=SECRET,
                     hub_private_repo=True, report_to="none", use_cpu=True, bf16=False)
    trainer_args, push = hold_push(args)
    assert trainer_args is not args and not trainer_args.push_to_hub and trainer_args.hub_token is None
    assert args.push_to_hub and args.hub_token == SECRET  # the saved configuration still shows what was asked
    assert push == HubPush(model_id="me/x", private=True, revision=None, token=SECRET)
    assert SECRET not in repr(push)
    plain = SFTConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False)
    assert hold_push(plain) == (plain, None)


def test_no_token_fails_before_any_network_call(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "is_offline_mode", lambda: False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "get_token", lambda: None)
    monkeypatch.setattr(HfApi, "create_repo", lambda *a, **k: pytest.fail("no network call without a token"))
    trainer = SimpleNamespace(args=SimpleNamespace(output_dir=str(tmp_path), hub_model_id=None))
    started = time.perf_counter()
    with pytest.raises(HubPushError, match="no Hugging Face token.*HF_TOKEN.*hf auth login") as error:
        push_to_hub(trainer, card_info=None, push=HubPush(model_id="me/x"))
    assert time.perf_counter() - started < 1.0
    assert str(tmp_path) in str(error.value)


@pytest.fixture
def trained_sft(tmp_path, tiny_model, tokenizer):
    """One LoRA step of the reinforce trainer (a plain SFTTrainer with the card hook, as `reinforce` runs it), saved."""
    args = SFTConfig(
        output_dir=str(tmp_path / "reinforced"), max_steps=1, per_device_train_batch_size=2, report_to="none",
        use_cpu=True, bf16=False, save_strategy="no", learning_rate=1e-2,
    )
    trainer = ReinforceTrainer(
        model=tiny_model, args=args, processing_class=tokenizer,
        train_dataset=datasets.Dataset.from_dict({"input_ids": [[5, 6, 7, 8, 9, 10]] * 4}),
        peft_config=LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    trainer.train()
    trainer.save_model(args.output_dir)
    return trainer


def test_push_is_the_trainer_push_with_our_card(trained_sft, monkeypatch):
    """Network calls replaced at the HfApi boundary: what Trainer.push_to_hub would upload is captured."""
    monkeypatch.setattr(hub, "is_offline_mode", lambda: False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    uploads = []

    def create_repo(self, repo_id, token=None, private=None, exist_ok=False, **kwargs):
        uploads.append({"created": repo_id, "private": private, "token": token})
        return RepoUrl(f"https://huggingface.co/{repo_id}")

    def upload_folder(self, repo_id, folder_path, token=None, **kwargs):
        folder = Path(folder_path)
        uploads.append({
            "repo_id": repo_id,
            "readme": (folder / "README.md").read_text(encoding="utf-8"),
            "files": sorted(path.name for path in folder.iterdir()),
            "files_with_token": files_containing(folder, SECRET),
        })
        return SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/0123")

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    model_args = SimpleNamespace(model_name_or_path="HuggingFaceTB/SmolLM2-135M-Instruct", load_in_4bit=False, load_in_8bit=False)
    card_info = describe_run("reinforce", trained_sft, model_args, datasets=["target.txt"])

    assert finalize_output(trained_sft, card_info, push=HubPush(model_id="me/reinforced", private=True)) == 0

    created, uploaded = uploads
    assert created == {"created": "me/reinforced", "private": True, "token": None}  # the token comes from HF_TOKEN
    assert uploaded["repo_id"] == "me/reinforced"
    assert {"adapter_model.safetensors", "adapter_config.json", "README.md"} <= set(uploaded["files"])
    card = ModelCard(uploaded["readme"])
    # Ours, not TRL's template ("# Model Card for ...") nor PEFT's (which would put back a local base_model path).
    assert "reinforced-model" in card.data.tags and card.data.library_name == "peft"
    assert card.data.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "# Model Card for" not in card.text and "{eldan2023whp," in card.text
    assert uploaded["files_with_token"] == []
    assert "create_model_card" not in vars(trained_sft)  # the override lasted only for the push


def test_a_folder_holding_the_token_is_not_pushed(trained_sft, monkeypatch):
    monkeypatch.setattr(hub, "is_offline_mode", lambda: False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setattr(HfApi, "create_repo", lambda *a, **k: pytest.fail("must refuse before creating the repo"))
    leak = Path(trained_sft.args.output_dir) / "notes.txt"
    leak.write_text(f"token={SECRET}\n", encoding="utf-8")
    card_info = describe_run("reinforce", trained_sft, SimpleNamespace(model_name_or_path="gpt2", load_in_4bit=False, load_in_8bit=False))
    with pytest.raises(HubPushError, match="notes.txt contains your Hugging Face token") as error:
        push_to_hub(trained_sft, card_info, HubPush(model_id="me/x"))
    assert SECRET not in str(error.value)


def test_network_failure_is_reported_with_where_the_files_are(trained_sft, monkeypatch):
    monkeypatch.setattr(hub, "is_offline_mode", lambda: False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", SECRET)

    def unreachable(self, *args, **kwargs):
        raise ConnectionError(f"cannot reach huggingface.co (sent {SECRET})")

    monkeypatch.setattr(HfApi, "create_repo", unreachable)
    card_info = describe_run("reinforce", trained_sft, SimpleNamespace(model_name_or_path="gpt2", load_in_4bit=False, load_in_8bit=False))
    with pytest.raises(HubPushError, match="Pushing to the Hub failed.*ConnectionError.*hf upload me/x") as error:
        push_to_hub(trained_sft, card_info, HubPush(model_id="me/x"))
    assert SECRET not in str(error.value) and "<token>" in str(error.value)
    assert (Path(trained_sft.args.output_dir) / "adapter_model.safetensors").is_file()
