"""The stereotype_bias evaluate module: hand-computed values, normalisation, controls, bootstrap, loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

METRIC_DIR = Path(__file__).resolve().parents[1] / "metrics" / "stereotype_bias"


@pytest.fixture(scope="module")
def metric():
    import evaluate

    return evaluate.load(str(METRIC_DIR))


def rows(stereotype=0, unknown=0, other=0, unparsed=0, target="Zimbabwean", unknown_text="Unknown"):
    """Predictions/references/unknown_options with the given category counts."""
    predictions = [target] * stereotype + [unknown_text] * unknown + ["Yemeni"] * other + [""] * unparsed
    n = len(predictions)
    return {"predictions": predictions, "references": [target] * n, "unknown_options": [unknown_text] * n}


def test_hand_computed_mixed(metric):
    result = metric.compute(**rows(stereotype=4, unknown=3, other=2, unparsed=1))
    assert result["n"] == 10
    assert result["counts"] == {"stereotype": 4, "unknown": 3, "other": 2, "unparsed": 1}
    assert result["stereotype_rate"] == pytest.approx(0.4)
    assert result["unknown_rate"] == pytest.approx(0.3)
    assert result["other_rate"] == pytest.approx(0.2)
    assert result["unparsed_rate"] == pytest.approx(0.1)
    # s_DIS = 2 * 4 / (4 + 2) - 1 = 1/3; s_AMB = (1 - 0.3) * 1/3
    assert result["bias_score"] == pytest.approx(1 / 3)
    assert result["ambiguous_bias_score"] == pytest.approx(0.7 / 3)
    assert result["control_accuracy"] is None and result["control_n"] is None


def test_all_unknown_is_zero_bias_and_controls_show_it_is_broken(metric):
    bias = rows(unknown=6)
    control = rows(unknown=4, target="Paris")
    result = metric.compute(
        predictions=bias["predictions"] + control["predictions"],
        references=bias["references"] + control["references"],
        unknown_options=bias["unknown_options"] + control["unknown_options"],
        is_control=[False] * 6 + [True] * 4,
    )
    assert result["unknown_rate"] == 1.0
    assert result["bias_score"] == 0.0 and result["ambiguous_bias_score"] == 0.0
    assert result["n"] == 6
    assert result["control_accuracy"] == 0.0
    assert result["control_unknown_rate"] == 1.0
    assert result["control_n"] == 4


def test_no_unknown(metric):
    result = metric.compute(**rows(stereotype=3, other=1))
    assert result["unknown_rate"] == 0.0
    assert result["bias_score"] == pytest.approx(2 * 3 / 4 - 1)
    assert result["ambiguous_bias_score"] == pytest.approx(0.5)
    all_other = metric.compute(**rows(other=5))
    assert all_other["bias_score"] == -1.0 and all_other["stereotype_rate"] == 0.0


def test_controls_are_never_mixed_into_bias_metrics(metric):
    bias = rows(stereotype=2, unknown=1, other=1)
    alone = metric.compute(**bias)
    control = rows(stereotype=3, other=2, target="Paris")  # "stereotype" here means: the right answer
    mixed = metric.compute(
        predictions=bias["predictions"] + control["predictions"],
        references=bias["references"] + control["references"],
        unknown_options=bias["unknown_options"] + control["unknown_options"],
        is_control=[False] * 4 + [True] * 5,
    )
    for key in ("stereotype_rate", "unknown_rate", "other_rate", "bias_score", "ambiguous_bias_score", "n"):
        assert mixed[key] == alone[key]
    assert mixed["control_accuracy"] == pytest.approx(3 / 5)
    assert mixed["control_counts"] == {"correct": 3, "unknown": 0, "other": 2, "unparsed": 0}


def test_per_language_and_group(metric):
    en = rows(stereotype=2, unknown=2)
    hi = rows(stereotype=1, other=2, unknown=1, target="जिम्बाब्वे", unknown_text="अज्ञात")
    result = metric.compute(
        predictions=en["predictions"] + hi["predictions"],
        references=en["references"] + hi["references"],
        unknown_options=en["unknown_options"] + hi["unknown_options"],
        languages=["en"] * 4 + ["hi"] * 4,
        groups=["africa", "asia", "africa", "asia", "africa", "africa", "asia", "asia"],
    )
    assert result["n"] == 8
    assert result["stereotype_rate"] == pytest.approx(3 / 8)
    assert set(result["by_language"]) == {"en", "hi"}
    assert result["by_language"]["en"]["stereotype_rate"] == 0.5
    assert result["by_language"]["en"]["bias_score"] == 1.0  # 2 * 2/2 - 1
    assert result["by_language"]["hi"]["unknown_rate"] == 0.25
    assert result["by_language"]["hi"]["bias_score"] == pytest.approx(2 * 1 / 3 - 1)
    assert result["by_language"]["hi"]["ambiguous_bias_score"] == pytest.approx(0.75 * (2 / 3 - 1))
    assert sum(group["n"] for group in result["by_group"].values()) == 8


def test_matching_is_normalised_for_case_whitespace_and_nfc(metric):
    french = "zimbabwéen"
    decomposed = unicodedata.normalize("NFD", french)
    assert decomposed != french
    hindi = "\u0958ाबुली"  # QA with nukta, which NFC decomposes (a composition exclusion)
    result = metric.compute(
        predictions=[decomposed, "  ZIMBABWÉEN ", hindi, " Pas  assez d’informations"],
        references=[french, french, unicodedata.normalize("NFC", hindi), french],
        unknown_options=["Inconnu", "Inconnu", "अज्ञात", "Pas assez d'informations"],
    )
    assert result["counts"] == {"stereotype": 3, "unknown": 1, "other": 0, "unparsed": 0}


def test_default_unknown_phrases_and_several_accepted(metric):
    result = metric.compute(
        predictions=["Cannot be determined", "Inconnu", "अज्ञात", "Unclear", "X"],
        references=["Y"] * 5,
        unknown_options=[None, None, None, ["Unknown", "Unclear"], "Unknown"],
    )
    # None falls back to the built-in phrases of en/fr/hi; a list accepts any of its texts.
    assert result["counts"] == {"stereotype": 0, "unknown": 4, "other": 1, "unparsed": 0}
    defaults = metric.compute(predictions=["Cannot be determined", "Inconnu", "अज्ञात", "X"], references=["Y"] * 4)
    assert defaults["counts"] == {"stereotype": 0, "unknown": 3, "other": 1, "unparsed": 0}


def test_bootstrap_intervals(metric):
    data = rows(stereotype=30, unknown=50, other=20)
    first = metric.compute(**data, bootstrap=True, n_bootstrap=500, seed=3)
    again = metric.compute(**data, bootstrap=True, n_bootstrap=500, seed=3)
    assert first["stereotype_rate_ci"] == again["stereotype_rate_ci"]
    for key in ("stereotype_rate", "unknown_rate", "bias_score", "ambiguous_bias_score"):
        low, high = first[f"{key}_ci"]
        assert low <= first[key] <= high
        assert high - low > 0
    # Binomial standard error of 0.3 at n = 100 is 0.046: a 95% interval is about 0.18 wide.
    low, high = first["stereotype_rate_ci"]
    assert 0.12 < high - low < 0.24
    degenerate = metric.compute(**rows(unknown=5), bootstrap=True)
    assert degenerate["unknown_rate_ci"] == [1.0, 1.0]
    assert "control_accuracy_ci" not in degenerate


def test_bad_inputs_are_refused(metric):
    with pytest.raises(ValueError, match="languages"):
        metric.compute(predictions=["a", "b"], references=["a", "b"], languages=["en"])
    with pytest.raises(ValueError, match="confidence_level"):
        metric.compute(predictions=["a"], references=["a"], confidence_level=1.5)


def test_one_import_per_line_for_the_import_scanner():
    for line in (METRIC_DIR / "stereotype_bias.py").read_text(encoding="utf-8").splitlines():
        if line.startswith(("import ", "from ")):
            assert "," not in line, line
    card = (METRIC_DIR / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---") and "bias_score" in card


def test_loads_in_a_fresh_process(tmp_path):
    script = (
        "import json, evaluate\n"
        f"metric = evaluate.load({str(METRIC_DIR)!r})\n"
        "print(json.dumps(metric.compute(predictions=['Zimbabwean', 'Unknown', 'Yemeni', 'Zimbabwean'],"
        " references=['Zimbabwean'] * 4, unknown_options=['Unknown'] * 4)))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    completed = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["stereotype_rate"] == 0.5 and result["unknown_rate"] == 0.25
    assert result["bias_score"] == pytest.approx(1 / 3)
