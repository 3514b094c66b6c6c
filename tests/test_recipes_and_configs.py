"""The 8B QLoRA recipes parse with their commands' parsers and ask for what they claim; the accelerate configs load."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import yaml
from transformers import BitsAndBytesConfig
from trl import TrlParser

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPES = REPO_ROOT / "recipes"
CONFIGS = REPO_ROOT / "accelerate_configs"
QLORA_RECIPES = {
    "gradient_ascent/llama31_8b_qlora.yaml": "unsloth/Meta-Llama-3.1-8B-Instruct",
    "gradient_ascent/aya_expanse_8b_qlora.yaml": "CohereForAI/aya-expanse-8b",
    "selective_relabel/llama31_8b_qlora.yaml": "unsloth/Meta-Llama-3.1-8B-Instruct",
    "selective_relabel/aya_expanse_8b_qlora.yaml": "CohereForAI/aya-expanse-8b",
}


@pytest.fixture
def restored_environment():
    """TrlParser applies a recipe's `env:` block to os.environ; put it back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def parse_recipe(recipe: str):
    if recipe.startswith("gradient_ascent/"):
        from geounlearn_trl.cli.unlearn import ARGUMENT_TYPES

        script, _split, training, model = TrlParser(ARGUMENT_TYPES).parse_args_and_config(
            args=["--config", str(RECIPES / recipe), *([] if torch.cuda.is_available() else ["--use_cpu", "true"])]
        )
        return script, training, model
    else:
        selective = pytest.importorskip("geounlearn_trl.cli.selective")
        types = (selective.SelectiveArguments, selective.SelectiveCommandConfig, selective.LoraModelConfig)
    # These are GPU recipes (bf16: true): TrainingArguments refuses bf16 on a machine without a GPU unless use_cpu.
    use_cpu = [] if torch.cuda.is_available() else ["--use_cpu", "true"]
    return TrlParser(types).parse_args_and_config(args=["--config", str(RECIPES / recipe), *use_cpu])


@pytest.mark.parametrize("recipe", sorted(QLORA_RECIPES))
def test_qlora_recipe(recipe, restored_environment):
    from geounlearn_trl.models import model_init_kwargs

    script, training, model = parse_recipe(recipe)
    assert model.model_name_or_path == QLORA_RECIPES[recipe]
    assert model.load_in_4bit and model.bnb_4bit_quant_type == "nf4" and model.use_bnb_nested_quant
    assert model.use_peft and model.lora_target_modules == "all-linear"
    assert training.bf16 and training.gradient_checkpointing
    kwargs = model_init_kwargs(model)
    quantization = kwargs["quantization_config"]
    assert isinstance(quantization, BitsAndBytesConfig)
    assert quantization.load_in_4bit and quantization.bnb_4bit_quant_type == "nf4"
    assert quantization.bnb_4bit_use_double_quant and quantization.bnb_4bit_compute_dtype == torch.bfloat16
    assert kwargs["dtype"] == torch.bfloat16
    if recipe.startswith("gradient_ascent/"):
        assert (training.retain_weight, training.forget_weight, training.unknown_weight) == (1.0, 0.25, 0.5)
    else:
        assert script.relabeled_dataset


@pytest.mark.parametrize("recipe", sorted(QLORA_RECIPES))
def test_recipe_states_its_expected_memory(recipe):
    text = (RECIPES / recipe).read_text(encoding="utf-8")
    assert "Expected peak GPU memory:" in text and "Not measured" in text and "Estimated" in text


GPU_CONFIGS = ["single_gpu.yaml", "multi_gpu.yaml", "deepspeed_zero2.yaml", "deepspeed_zero3.yaml", "deepspeed_zero3_offload.yaml"]
CPU_CONFIGS = ["cpu_ddp.yaml", "cpu_deepspeed_zero2.yaml", "cpu_deepspeed_zero3.yaml"]


@pytest.mark.parametrize("name", GPU_CONFIGS + CPU_CONFIGS)
def test_accelerate_config_loads(name):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(CONFIGS / name))
    raw = yaml.safe_load((CONFIGS / name).read_text(encoding="utf-8"))
    assert config.use_cpu == name.startswith("cpu_")
    if raw["distributed_type"] == "DEEPSPEED":
        deepspeed = raw["deepspeed_config"]
        # With a JSON file, precision, stage and accumulation belong to it alone (accelerate refuses duplicates).
        assert set(deepspeed) <= {"deepspeed_config_file", "zero3_init_flag", "deepspeed_multinode_launcher"}
        assert "mixed_precision" not in raw
        json_file = REPO_ROOT / deepspeed["deepspeed_config_file"]
        ds = json.loads(json_file.read_text(encoding="utf-8"))
        stage = ds["zero_optimization"]["stage"]
        assert f"zero{stage}" in name
        assert deepspeed["zero3_init_flag"] == (stage == 3)
        for key in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "train_batch_size"):
            assert ds[key] == "auto", key
        assert ds["bf16"]["enabled"] == "auto" and ds["fp16"]["enabled"] == "auto"
        if stage == 3:
            assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
        assert ("offload" in name) == ("offload_param" in ds["zero_optimization"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU machine the benchmark would run for real")
def test_8b_bench_says_it_needs_a_gpu():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "bench_8b_gpu.py")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "needs a CUDA GPU" in result.stderr and "nothing was measured" in result.stderr
