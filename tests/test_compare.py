"""`geounlearn-trl compare --methods`: every method measured against one base on the very same questions."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def tiny_recipes(tmp_path: Path) -> Path:
    """The shipped Gemma recipes of each method, cut to 2 steps of 4 questions (the model is given on the command
    line): the methods' own settings stay as shipped."""
    folder = tmp_path / "recipes"
    for method in ("gradient_ascent", "npo", "idk_dpo"):
        recipe = yaml.safe_load((REPO / "recipes" / method / "gemma3_270m_cpu_lora.yaml").read_text(encoding="utf-8"))
        recipe.update(max_steps=2, per_device_train_batch_size=4, logging_steps=1)
        (folder / method).mkdir(parents=True)
        (folder / method / "gemma3_270m_cpu_lora.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return folder


def test_compare_measures_every_method_on_the_same_questions(tiny_model_dir, tmp_path):
    from geounlearn_trl.cli import compare

    out = tmp_path / "out"
    assert compare.main([
        "--methods", "gradient_ascent,npo,idk_dpo,selective", "--model_name_or_path", tiny_model_dir,
        "--recipes_dir", str(tiny_recipes(tmp_path)), "--output_dir", str(out), "--eval_languages", "en,hi",
        "--reinforce_epochs", "1", "--selective_epochs", "1", "--max_control_questions", "20",
    ]) == 0  # fmt: skip
    saved = json.loads((out / "compare_results.json").read_text(encoding="utf-8"))
    results, questions = saved["results"], saved["questions_sha256"]
    assert list(results) == ["gradient_ascent", "npo", "idk_dpo", "selective_relabel"]
    assert list(questions) == ["base", *results]
    # the very same prompts and options for the base and every method, in every language
    for language in ("en", "hi"):
        assert len({questions[name][language] for name in questions}) == 1
    assert questions["base"]["en"] != questions["base"]["hi"]
    for method in results.values():
        assert list(method["by_language"]) == ["en", "hi"]
        for measured in method["by_language"].values():
            assert measured["n"] > 0 and measured["disambiguated_n"] == 2 * measured["n"] and measured["control_n"] == 20
            for key in ("stereotype_rate", "unknown_rate", "disambiguated_accuracy", "control_accuracy"):
                # paired against the base: the change is the difference of the two measured rates
                assert measured["delta"][key] == pytest.approx(measured[key] - measured["baseline"][key])
            assert math.isfinite(measured["retain_perplexity"]) and measured["retain_n"] > 0
    # one base: every method's baseline is the same measurement
    baselines = {json.dumps(method["by_language"]["en"]["baseline"], sort_keys=True) for method in results.values()}
    assert len(baselines) == 1
    table = (out / "compare_results.md").read_text(encoding="utf-8")
    for method in results:
        assert f"| {method} |" in table and f"### {method}" in table
    assert (out / "forgetting_vs_cost.png").read_bytes()[-8:-4] == b"IEND"
    # each method's adapter saved; the selective one trained through its pipeline
    for method in ("gradient_ascent", "npo", "idk_dpo"):
        assert (out / method / "adapter_model.safetensors").is_file()
        config = yaml.safe_load((out / method / "geounlearn_config.yaml").read_text(encoding="utf-8")) if (
            out / method / "geounlearn_config.yaml").is_file() else None
        assert config is None or config["script"]["method"] == method
    assert list((out / "selective_relabel").rglob("adapter_config.json"))


def test_compare_refuses_unknown_methods_and_missing_recipes(tmp_path):
    from geounlearn_trl.evaluation.comparison import CompareArguments, recipe_path, requested_methods

    with pytest.raises(ValueError, match="unknown rmu"):
        requested_methods(CompareArguments(methods="npo,rmu"))
    with pytest.raises(ValueError, match="at least one of"):
        requested_methods(CompareArguments(methods="selective"))
    assert requested_methods(CompareArguments(methods="selective,simnpo,npo")) == ["simnpo", "npo", "selective_relabel"]
    shutil.copytree(REPO / "recipes" / "npo", tmp_path / "npo")
    assert recipe_path(CompareArguments(recipes_dir=str(tmp_path)), "npo").is_file()
    with pytest.raises(FileNotFoundError, match="no recipe for simnpo"):
        recipe_path(CompareArguments(recipes_dir=str(tmp_path)), "simnpo")
