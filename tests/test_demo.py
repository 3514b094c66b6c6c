"""`geounlearn-trl demo`: its numbers are the stereotype_bias metric's on the answers it saved, with CIs, on the
held-out split; and, slow, the demo recipe on the embedded model moves its numbers in the right direction."""

from __future__ import annotations

import json

import pytest

from geounlearn_trl.cli import demo
from geounlearn_trl.evaluation.measurement import load_metric
from geounlearn_trl.data.mcq import held_out_split, load_mcq
from geounlearn_trl.data.unlearning import sample_mcq_path

FAST = ["--max_steps", "2", "--max_eval_questions", "6", "--max_control_questions", "5", "--max_retain_texts", "4",
        "--eval_languages", "en,hi", "--bootstrap_resamples", "200", "--learning_rate", "1e-3", "--logging_steps", "1"]


def test_demo_numbers_are_the_metric_on_its_saved_answers(tiny_model_dir, tmp_path, capsys):
    recipe = "recipes/gradient_ascent/gemma3_270m_cpu_lora.yaml"
    assert demo.main(["--config", recipe, "--model_name_or_path", tiny_model_dir, "--output_dir", str(tmp_path),
                      *FAST]) == 0
    printed = capsys.readouterr().out
    results = json.loads((tmp_path / "demo_results.json").read_text(encoding="utf-8"))
    answers = [json.loads(line) for line in (tmp_path / "demo_answers.jsonl").read_text(encoding="utf-8").splitlines()]
    summary = results["summary"]

    # the held-out rows of the recipe's split, the same in every language, 2 disambiguated items per row
    split = held_out_split(load_mcq(sample_mcq_path("en")), 0.35, 42)
    assert results["split"] == split.describe()
    for language in ("en", "hi"):
        rows = [a["row"] for a in answers if a["language"] == language and a["item_type"] == "ambiguous"]
        assert rows == [i + 1 for i in split.eval[:6]]
        assert sum(a["language"] == language and a["item_type"] == "disambiguated" for a in answers) == 12

    recomputed = load_metric().compute(
        predictions=[a["prediction"] for a in answers], references=[a["target"] for a in answers],
        baseline_predictions=[a["baseline_prediction"] for a in answers],
        item_types=[a["item_type"] for a in answers], stereotyped_options=[a["stereotype"] for a in answers],
        unknown_options=[a["unknown_option"] for a in answers], languages=[a["language"] for a in answers],
    )
    for language in ("en", "hi"):
        ours, theirs = summary["by_language"][language], recomputed["by_language"][language]
        for key in ("stereotype_rate", "unknown_rate", "disambiguated_accuracy", "control_accuracy", "bias_score"):
            assert ours[key] == pytest.approx(theirs[key]), (language, key)
            assert ours["delta"][key] == pytest.approx(theirs["delta"][key]), (language, key)
            low, high = ours[f"{key}_ci"]
            assert low <= ours[key] <= high
        assert ours["retain_perplexity_ci"][0] <= ours["retain_perplexity"] <= ours["retain_perplexity_ci"][1]
    # the printed table is the saved one, with intervals and the paired changes
    table = (tmp_path / "demo_results.md").read_text(encoding="utf-8")
    assert "| en (trained) |" in table and "| hi |" in table and "Δ" in table and "[" in table
    assert table.split("\n\n")[1] in printed
    assert "scoring rule" in printed and "annotation runs" in printed
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "disambiguated_accuracy" in card or "Disambiguated" in card


@pytest.mark.slow
def test_demo_recipe_on_the_embedded_model(gemma_model_dir, tmp_path):
    """The `make demo` recipe itself on Gemma 3 270M (fewer questions, so it runs in minutes): stereotype picks fall in
    the trained language, and the model keeps answering where the answer is known."""
    assert demo.main(["--config", "recipes/gradient_ascent/gemma3_270m_cpu_lora.yaml", "--output_dir", str(tmp_path),
                      "--eval_languages", "en", "--max_eval_questions", "60", "--max_control_questions", "60"]) == 0
    en = json.loads((tmp_path / "demo_results.json").read_text(encoding="utf-8"))["summary"]["by_language"]["en"]
    assert en["n"] == 60 and en["disambiguated_n"] == 120 and en["control_n"] == 60
    assert en["stereotype_rate"] < en["baseline"]["stereotype_rate"]
    assert en["unknown_rate"] > en["baseline"]["unknown_rate"]
    # not the broken "unknown to everything" outcome: most stated identities and facts are still answered
    assert en["disambiguated_accuracy"] >= en["baseline"]["disambiguated_accuracy"] - 0.10
    assert en["control_accuracy"] >= en["baseline"]["control_accuracy"] - 0.10
    assert en["retain_perplexity_ratio"] < 1.10
