"""``--dataset`` with several languages: one file per language (``en=a.csv,fr=b.csv`` or ``seegull_{language}.csv``),
read the same way by ``unlearn``, ``demo``/``compare`` (``prepare_run``) and ``lm-eval-tasks``; one file for several
languages is refused (it would give every language the same questions)."""

from __future__ import annotations

import shutil

import pytest
from trl import ModelConfig

from geounlearn_trl.data.mcq import SplitArguments, file_for_language
from geounlearn_trl.data.unlearning import sample_mcq_path
from geounlearn_trl.evaluation.measurement import MeasurementArguments
from geounlearn_trl.evaluation.unlearning_run import prepare_run
from geounlearn_trl.methods.gradient_ascent import GradientAscentConfig
from geounlearn_trl.methods.training import UnlearnArguments


def test_file_for_language_reads_mappings_templates_and_single_files():
    assert file_for_language(None, "en", True) is None
    assert file_for_language("en=a.csv, fr = b.csv", "fr", True) == "b.csv"
    assert file_for_language("en=a.csv", "hi", True) is None  # not named: the caller's default (the shipped sample)
    assert file_for_language("data/seegull_{language}.csv", "hi", True) == "data/seegull_hi.csv"
    assert file_for_language("one.csv", "en", False) == "one.csv"
    with pytest.raises(ValueError, match=r"--dataset 'one.csv' names one file for several languages"):
        file_for_language("one.csv", "en", True)
    with pytest.raises(ValueError, match=r"--control_dataset: 'fr' is not 'language=path'"):
        file_for_language("en=a.csv,fr", "en", True, "--control_dataset")


def language_copies(tmp_path):
    """Copies of the shipped en and fr samples under new names: the rows a run reads say which file they came from."""
    paths = {}
    for language in ("en", "fr"):
        paths[language] = tmp_path / f"mine_{language}.csv"
        shutil.copy(sample_mcq_path(language), paths[language])
    return paths


def prepared(tiny_model_dir, tmp_path, dataset: str):
    return prepare_run(
        MeasurementArguments(eval_languages="en,fr", max_control_questions=4),
        UnlearnArguments(language="en,fr", dataset=dataset, max_train_samples=4),
        SplitArguments(),
        GradientAscentConfig(output_dir=str(tmp_path / "out"), use_cpu=True, report_to="none"),
        ModelConfig(model_name_or_path=tiny_model_dir),
    )


@pytest.mark.parametrize("form", ["mapping", "template"])
def test_measured_runs_read_each_languages_own_file(tiny_model_dir, tmp_path, form):
    paths = language_copies(tmp_path)
    spec = f"en={paths['en']},fr={paths['fr']}" if form == "mapping" else str(tmp_path / "mine_{language}.csv")
    run = prepared(tiny_model_dir, tmp_path, spec)
    for eval_set in run.eval_sets:
        stereotype_rows = eval_set.items.filter(lambda row: not row["is_control"])
        assert set(stereotype_rows["source"]) == {str(paths[eval_set.language])}
    assert [eval_set.language for eval_set in run.eval_sets] == ["en", "fr"]


def test_measured_runs_refuse_one_file_for_several_languages(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="names one file for several languages"):
        prepared(tiny_model_dir, tmp_path, str(language_copies(tmp_path)["en"]))


def test_unlearn_refuses_one_file_for_several_languages(tmp_path, capsys):
    from geounlearn_trl.cli.main import main

    assert main(["unlearn", "--language", "en,fr", "--dataset", str(sample_mcq_path("en")), "--output_dir",
                 str(tmp_path), "--use_cpu", "--report_to", "none"]) == 2  # fmt: skip
    message = capsys.readouterr().err.strip()
    assert message.startswith("geounlearn-trl unlearn: error: --dataset") and "names one file for several" in message
