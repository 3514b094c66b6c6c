"""Model cards: what a training run writes beside its adapter, what the card holds, and that no token gets in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from geounlearn_trl.hub.model_card import (
    CITATIONS,
    EVAL_RESULTS_NAME,
    ModelCardInfo,
    build_model_card,
    hub_base_model,
    is_hub_id,
    load_eval_results,
    relabel_provenance,
    save_eval_results,
    write_model_card,
)

FAKE_TOKEN = "hf_fake_secret_123"
EVAL_RESULTS = [
    {"metric": "stereotype_rate", "language": "en", "before": 0.625, "after": 0.25, "n": 8, "lower_is_better": True},
    {"metric": "unknown_rate", "language": "en", "before": 0.125, "after": 0.5, "n": 8, "lower_is_better": False},
    {"metric": "control_accuracy", "language": "en", "before": 0.75, "after": None, "n": 4},
]


def files_containing(folder: Path, needle: str) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and needle.encode() in path.read_bytes()]


@pytest.fixture(scope="module")
def unlearned_adapter(tmp_path_factory, tiny_model_dir) -> Path:
    """`geounlearn-trl unlearn` on the tiny model, with a token in the environment and an evaluation saved beforehand."""
    from geounlearn_trl.cli import unlearn

    out = tmp_path_factory.mktemp("card-run") / "adapter"
    save_eval_results(out, EVAL_RESULTS, evaluation="Held-out SeeGULL-style questions (tiny test set)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_TOKEN", FAKE_TOKEN)
        status = unlearn.main([
            "--model_name_or_path", str(tiny_model_dir), "--language", "en", "--max_train_samples", "4",
            "--use_peft", "--lora_target_modules", "all-linear", "--lora_r", "4", "--lora_alpha", "8",
            "--max_steps", "1", "--per_device_train_batch_size", "2", "--max_length", "64", "--weights", "1.0", "0.3",
            "0.6", "--output_dir", str(out), "--hub_model_id", "someone/geo-unlearned", "--report_to", "none",
            "--use_cpu", "--save_strategy", "no",
        ])
    assert status == 0
    return out


def test_saved_adapter_loads_offline(unlearned_adapter):
    from peft import AutoPeftModelForCausalLM

    model = AutoPeftModelForCausalLM.from_pretrained(str(unlearned_adapter))
    assert model.peft_config["default"].r == 4


def test_card_metadata(unlearned_adapter, tiny_model_dir):
    card = ModelCard.load(unlearned_adapter / "README.md")
    assert card.data.library_name == "peft"
    assert card.data.language == ["en"]
    assert card.data.pipeline_tag == "text-generation"
    assert {"unlearning", "trl", "peft", "lora", "geounlearn-trl", "gradient-ascent"} <= set(card.data.tags)
    # A local base model is not a Hub id: the Hub rejects it as base_model metadata, so it is named in the text only.
    assert card.data.base_model is None and f"`{tiny_model_dir}`" in card.text


def test_card_text(unlearned_adapter):
    text = ModelCard.load(unlearned_adapter / "README.md").text
    for row in ("| `retain_weight` | 1 |", "| `forget_weight` | 0.3 |", "| `unknown_weight` | 0.6 |"):
        assert row in text  # the method's weights, as given with --weights
    assert "- Languages: en" in text
    assert "| `learning_rate` |" in text and "| `max_steps` | 1 |" in text and "| adapter `r` | 4 |" in text
    assert "| distributed type | NO |" in text and "| num processes | 1 |" in text
    # before/after from eval_results.json, with the change and its direction
    assert "Held-out SeeGULL-style questions (tiny test set)" in text
    assert "| en | stereotype_rate | 0.625 | 0.25 | -0.375 (better) | 8 |" in text
    assert "| en | unknown_rate | 0.125 | 0.5 | +0.375 (better) | 8 |" in text
    assert "| en | control_accuracy | 0.75 | — | — | 4 |" in text
    for key in ("farashah2025geocultural", "jha-etal-2023-seegull", "vonwerra2020trl"):
        assert f"{{{key}," in text
    assert 'AutoPeftModelForCausalLM.from_pretrained("someone/geo-unlearned")' in text


def test_token_is_nowhere_in_the_output(unlearned_adapter):
    assert files_containing(unlearned_adapter, FAKE_TOKEN) == []


def test_hub_ids():
    assert is_hub_id("unsloth/Meta-Llama-3.1-8B-Instruct") and is_hub_id("gpt2")
    assert not is_hub_id("/tmp/model") and not is_hub_id("./model") and not is_hub_id("data/mcq_en.csv")
    assert hub_base_model("smollm2-135m-instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert hub_base_model("CohereForAI/aya-expanse-8b") == "CohereForAI/aya-expanse-8b"


def test_qlora_card_of_a_hub_model(tmp_path):
    info = ModelCardInfo(
        method="gradient_ascent",
        base_model="unsloth/Meta-Llama-3.1-8B-Instruct",
        languages=["en", "fr", "hi"],
        datasets=["someone/seegull-mcq", str(tmp_path / "retain.jsonl")],
        method_settings={"retain_weight": 1.0, "forget_weight": 0.25, "unknown_weight": 0.5},
        adapter={"peft_type": "LORA", "r": 16, "lora_alpha": 32, "target_modules": ["k_proj", "q_proj"]},
        quantization={"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True},
        distributed={"distributed_type": "DEEPSPEED", "num_processes": 2, "deepspeed_zero_stage": 3},
    )
    path = write_model_card(tmp_path, info)
    card = ModelCard.load(path)
    assert card.data.base_model == "unsloth/Meta-Llama-3.1-8B-Instruct"
    assert card.data.datasets == ["someone/seegull-mcq"]  # the local retain file stays out of the metadata
    assert card.data.language == ["en", "fr", "hi"]
    assert {"qlora", "peft", "lora"} <= set(card.data.tags)
    assert "[unsloth/Meta-Llama-3.1-8B-Instruct](https://huggingface.co/unsloth/Meta-Llama-3.1-8B-Instruct)" in card.text
    assert "| quantization `bnb_4bit_quant_type` | nf4 |" in card.text
    assert "| deepspeed zero stage | 3 |" in card.text
    assert "No evaluation was saved" in card.text


def test_full_model_and_selective_cards():
    full = build_model_card(ModelCardInfo(method="gradient_ascent", base_model="gpt2"))
    assert full.data.library_name == "transformers"
    assert "peft" not in full.data.tags and "| adapter | none (full fine-tuning) |" in full.text
    assert "AutoModelForCausalLM.from_pretrained" in full.text

    selective = build_model_card(
        ModelCardInfo(
            method="selective_relabel", base_model="gpt2", method_settings={"alpha": 5.0, "top_k": 0},
            adapter={"peft_type": "LORA", "r": 8},
        )
    )
    assert "selective-relabel" in selective.data.tags
    assert "\\alpha\\,\\mathrm{ReLU}" in selective.text and "| `alpha` | 5 |" in selective.text
    assert "{eldan2023whp," in selective.text and "farashah2025geocultural" not in selective.text
    assert "geounlearn-trl familiarity" in selective.text

    reinforced = build_model_card(ModelCardInfo(method="reinforce", base_model="gpt2", adapter={"peft_type": "LORA"}))
    assert "reinforced-model" in reinforced.data.tags and "not an unlearned model" in reinforced.text


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="Unknown method 'rmu'.*gradient_ascent.*npo"):
        ModelCardInfo(method="rmu", base_model="gpt2")


def test_every_citation_is_bibtex():
    for key, entry in CITATIONS.items():
        assert entry.startswith("@") and entry.count("{") == entry.count("}"), key


def test_relabel_provenance(tmp_path):
    (tmp_path / "geounlearn_config.yaml").write_text(
        "target:\n  target_text: null\n  mcq_dataset: data/mcq_fr.csv\n  language: fr\n"
        "relabel:\n  alpha: 3.0\n  top_k: 4\n  anchors: null\n",
        encoding="utf-8",
    )
    provenance = relabel_provenance(tmp_path)
    assert provenance["method_settings"] == {"alpha": 3.0, "top_k": 4}
    assert provenance["languages"] == ["fr"]
    assert provenance["datasets"] == ["data/mcq_fr.csv", str(tmp_path)]
    assert relabel_provenance(tmp_path / "elsewhere") == {"datasets": [str(tmp_path / "elsewhere")]}


def test_eval_results_round_trip(tmp_path):
    save_eval_results(tmp_path, EVAL_RESULTS)
    assert load_eval_results(tmp_path) == {"results": EVAL_RESULTS}
    assert load_eval_results(tmp_path / "none") is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps([]), "expected an object with a 'results' list"),
        (json.dumps({"results": [{"before": 0.1}]}), r"results\[0\], field 'metric'"),
        (json.dumps({"results": [{"metric": "m", "before": "high"}]}), r"results\[0\], field 'before': expected a number"),
        (json.dumps({"results": [{"metric": "m"}]}), r"results\[0\]: needs 'before' or 'after'"),
        (json.dumps({"results": [{"metric": "m", "after": 1, "n": -2}]}), r"results\[0\], field 'n'"),
        (json.dumps({"results": [{"metric": "m", "after": 1}, {"metric": "m", "after": 1, "lower_is_better": "yes"}]}),
         r"results\[1\], field 'lower_is_better'"),
    ],
)
def test_bad_eval_results_name_file_index_and_field(tmp_path, content, message):
    (tmp_path / EVAL_RESULTS_NAME).write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as error:
        load_eval_results(tmp_path)
    assert EVAL_RESULTS_NAME in str(error.value)
