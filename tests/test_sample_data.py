"""The shipped sample data (``geounlearn_trl/data/``) and its builder (``sample_data/build.py``)."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "geounlearn_trl" / "data" / "sample"
BUILDER = ROOT / "sample_data" / "build.py"
LANGUAGES = ("en", "fr", "hi")
ANNOTATION_COLUMNS = (
    "region_stereo", "region_nonstereo", "region_unsure", "NA_stereo", "NA_nonstereo", "NA_unsure",
    "Annotation1", "Annotation2", "Annotation3", "mean offensiveness_score",
)
OPTIONS = ("Option_1", "Option_2", "Option_3", "Option_4")
TEXT_COLUMNS = ("identity", "attribute", "MCQ_Question", *OPTIONS, "Correct_Option")


def read_csv(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_jsonl(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@pytest.fixture(scope="module")
def stereotypes() -> dict[str, list[dict]]:
    return {language: read_csv(f"sample_mcq_{language}.csv") for language in LANGUAGES}


@pytest.fixture(scope="module")
def controls() -> dict[str, list[dict]]:
    return {language: read_csv(f"control_mcq_{language}.csv") for language in LANGUAGES}


@pytest.fixture(scope="module")
def retain() -> dict[str, list[dict]]:
    return {language: read_jsonl(f"retain_{language}.jsonl") for language in LANGUAGES}


@pytest.fixture(scope="module")
def builder():
    spec = importlib.util.spec_from_file_location("sample_data_build", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def annotations(row: dict) -> tuple:
    return tuple(row[column] for column in ANNOTATION_COLUMNS)


def contiguous_runs(rows: list[dict]) -> list[list[int]]:
    runs: list[list[int]] = []
    for index, row in enumerate(rows):
        if runs and annotations(rows[index - 1]) == annotations(row):
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def test_builder_check_passes_on_the_committed_files():
    completed = subprocess.run([sys.executable, str(BUILDER), "--check"], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


def test_builder_and_sources_live_outside_the_package():
    assert not (DATA / "build_sample_data.py").exists()
    assert not list(DATA.glob("*.py")), "nothing under geounlearn_trl/data should be code"
    assert not (BUILDER.parent / "__init__.py").exists(), "sample_data/ must not become a package"
    assert len(BUILDER.read_text(encoding="utf-8").splitlines()) < 250


def test_row_counts_meet_the_minimums(stereotypes, controls, retain):
    for language in LANGUAGES:
        assert len(stereotypes[language]) >= 330
        assert len(controls[language]) >= 170
        assert len(retain[language]) >= 184
    for files in (stereotypes, controls, retain):
        assert len({len(rows) for rows in files.values()}) == 1, "row counts differ across languages"


def test_files_have_the_seegull_columns_and_nfc_text(stereotypes, controls):
    for language in LANGUAGES:
        for name in (f"sample_mcq_{language}.csv", f"control_mcq_{language}.csv", f"retain_{language}.jsonl"):
            text = (DATA / name).read_text(encoding="utf-8")
            assert unicodedata.is_normalized("NFC", text), name
        for rows in (stereotypes[language], controls[language]):
            assert list(rows[0]) == ["identity", "attribute", *ANNOTATION_COLUMNS, "MCQ_Question", *OPTIONS,
                                     "Correct_Option"]


@pytest.mark.parametrize("kind", ["stereotypes", "controls"])
def test_languages_align_row_by_row(kind, request):
    files = request.getfixturevalue(kind)
    en = files["en"]
    for language in ("fr", "hi"):
        for i, (row, other) in enumerate(zip(en, files[language])):
            assert annotations(row) == annotations(other), f"{language} row {i + 1}"
            assert row["Correct_Option"] == other["Correct_Option"], f"{language} row {i + 1}"
            if kind == "controls":
                assert row["attribute"] == other["attribute"], f"{language} row {i + 1}"
    if kind == "stereotypes":
        # Options are the same identities in the same order: each English name always maps to one translation.
        for language in ("fr", "hi"):
            translation: dict[str, set[str]] = {}
            for row, other in zip(en, files[language]):
                for column in ("identity", *OPTIONS):
                    translation.setdefault(row[column], set()).add(other[column])
            assert all(len(names) == 1 for names in translation.values()), language
            assert len({next(iter(names)) for names in translation.values()}) == len(translation), language


def test_no_empty_text_cells(stereotypes, controls, retain):
    for language in LANGUAGES:
        for kind, rows in (("stereotype", stereotypes[language]), ("control", controls[language])):
            for i, row in enumerate(rows, start=1):
                assert all(row[column].strip() for column in TEXT_COLUMNS), f"{kind} {language} row {i}"
        for i, row in enumerate(retain[language], start=1):
            assert set(row) == {"question", "answer"} and all(value.strip() for value in row.values()), i


def test_every_row_has_four_distinct_options_and_names_its_answer(stereotypes, controls):
    for files in (stereotypes, controls):
        for language, rows in files.items():
            for i, row in enumerate(rows, start=1):
                options = [fold(row[column]) for column in OPTIONS]
                assert len(set(options)) == 4, f"{language} row {i}: {options}"
                assert not [a for a in options for b in options if a != b and a in b], f"{language} row {i}"
                assert row["Correct_Option"] in OPTIONS
                assert fold(row[row["Correct_Option"]]) == fold(row["identity"]), f"{language} row {i}"


def test_each_stereotype_question_has_one_stereotyped_answer(stereotypes):
    for language, rows in stereotypes.items():
        attributes = [fold(row["attribute"]) for row in rows]
        assert len(set(attributes)) == len(attributes), language
        assert all(f'"{row["attribute"]}"' in row["MCQ_Question"] for row in rows)


def test_stereotype_annotations_form_runs_of_one_to_six(stereotypes, builder):
    en = stereotypes["en"]
    assert all(all(value.strip() for value in annotations(row)) for row in en)
    runs = contiguous_runs(en)
    lengths = [len(run) for run in runs]
    assert min(lengths) >= 1 and max(lengths) <= 6
    assert len(set(lengths)) >= 4, "runs should vary in length, as in the real data"
    # The contiguous runs are exactly the builder's runs: adjacent intended runs never share their annotation values.
    assert runs == builder.stereotype_runs(builder.read_table("stereotypes.csv"))
    for run in runs:
        assert len({en[index]["identity"] for index in run}) == 1
    for first, second in zip(runs, runs[1:]):
        assert annotations(en[first[-1]]) != annotations(en[second[0]])


def test_control_annotation_columns_are_empty(controls):
    for rows in controls.values():
        assert all(not any(annotations(row)) for row in rows)


def test_retain_does_not_repeat_control_questions(controls, retain):
    for language in LANGUAGES:
        control_questions = {fold(row["MCQ_Question"]) for row in controls[language]}
        questions = [fold(row["question"]) for row in retain[language]]
        assert len(set(questions)) == len(questions)
        assert not control_questions & set(questions)
