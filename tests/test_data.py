"""MCQ data: the real shared CSVs, the shipped sample, splits, and bad input with file/row/column errors."""

from __future__ import annotations

import csv

import pytest

from geounlearn_trl.languages import available_languages, load_language_pack
from geounlearn_trl.mcq import MCQFormatError, load_mcq, split_by_pair
from geounlearn_trl.unlearn_data import (
    load_retain,
    parse_languages,
    sample_control_path,
    sample_mcq_path,
    sample_retain_path,
)

HEADER = ["identity", "attribute", "MCQ_Question", "Option_1", "Option_2", "Option_3", "Option_4", "Correct_Option"]
GOOD = ["German", "punctual", 'I know a person who is "punctual". The person is:', "Thai", "German", "Peruvian", "Swiss", "Option_2"]


def write_csv(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.mark.parametrize("language", ["en", "fr", "hi"])
def test_real_shared_csvs_load(shared_data, language):
    mcq = load_mcq(str(shared_data / f"seegull_mcq/mcq_stereotype_dataset_{language}.csv"))
    assert len(mcq) == 6781
    for row in mcq.select(range(0, 6781, 97)):
        assert row["options"][row["target_index"]] == row["target"]
        assert len(set(row["options"])) == len(row["options"])


def test_duplicated_stereotype_option_is_merged(shared_data):
    # 132 en rows list the stereotyped identity twice among the four options: they load with three options.
    mcq = load_mcq(str(shared_data / "seegull_mcq/mcq_stereotype_dataset_en.csv"))
    merged = [row for row in mcq if len(row["options"]) < 4]
    assert len(merged) == 132
    assert all(row["options"][row["target_index"]] == row["target"] for row in merged)


@pytest.mark.parametrize("language", ["en", "fr", "hi"])
def test_shipped_sample_data(language):
    mcq = load_mcq(sample_mcq_path(language))
    control = load_mcq(sample_control_path(language), is_control=True)
    retain = load_retain(sample_retain_path(language))
    assert len(mcq) >= 90 and len(control) >= 40 and len(retain) >= 100
    assert all(control["is_control"]) and not any(mcq["is_control"])
    assert len(mcq) == len(load_mcq(sample_mcq_path("en")))  # aligned across languages


def test_split_is_deterministic_and_pair_disjoint(shared_data):
    mcq = load_mcq(str(shared_data / "seegull_mcq/mcq_stereotype_dataset_en.csv"))
    train, held_out = split_by_pair(mcq, 0.2, seed=7)
    again_train, again_held_out = split_by_pair(mcq, 0.2, seed=7)
    assert train["row"] == again_train["row"] and held_out["row"] == again_held_out["row"]
    pairs = lambda d: {(i.casefold(), a.casefold()) for i, a in zip(d["identity"], d["attribute"])}  # noqa: E731
    assert not pairs(train) & pairs(held_out)
    assert len(train) + len(held_out) == len(mcq)
    assert split_by_pair(mcq, 0.2, seed=8)[1]["row"] != held_out["row"]


@pytest.mark.parametrize(
    "row, column, message",
    [
        (GOOD[:7] + ["Option_7"], "Correct_Option", "is not one of"),
        (GOOD[:3] + ["Thai", "", "Peruvian", "Swiss", "Option_2"], "Option_2", "empty option"),
        (GOOD[:2] + ["  "] + GOOD[3:], "MCQ_Question", "empty question"),
    ],
)
def test_bad_row_names_file_row_and_column(tmp_path, row, column, message):
    path = write_csv(tmp_path / "bad.csv", [GOOD, GOOD, row])
    with pytest.raises(MCQFormatError, match=message) as error:
        load_mcq(path)
    assert error.value.source == path and error.value.row == 3 and error.value.column == column
    assert f"{path}, row 3, column '{column}'" in str(error.value)


def test_bad_rows_can_be_skipped_with_a_count(tmp_path):
    path = write_csv(tmp_path / "bad.csv", [GOOD, GOOD[:7] + ["Option_9"], GOOD])
    mcq = load_mcq(path, skip_bad_rows=True)
    assert len(mcq) == 2 and mcq["row"] == [1, 3]
    assert mcq.info.description == "1 bad rows skipped"


def test_missing_column_is_named(tmp_path):
    path = write_csv(tmp_path / "cols.csv", [GOOD[:7]], header=HEADER[:7])
    with pytest.raises(MCQFormatError, match="Correct_Option"):
        load_mcq(path)


def test_options_named_na_stay_text(tmp_path):
    row = ["NA", "x", "Q?", "NA", "None", "null", "Other", "Option_1"]
    mcq = load_mcq(write_csv(tmp_path / "na.csv", [row]))
    assert mcq[0]["options"] == ["NA", "None", "null", "Other"] and mcq[0]["target"] == "NA"


def test_missing_file_and_unknown_language(tmp_path):
    with pytest.raises(MCQFormatError, match="no such file"):
        load_mcq(str(tmp_path / "nope.csv"))
    with pytest.raises(ValueError, match="Available: en, fr, hi"):
        parse_languages("en,xx")
    assert {"en", "fr", "hi"} <= set(available_languages())


def test_retain_set_errors_name_row_and_field(tmp_path):
    path = tmp_path / "retain.jsonl"
    path.write_text('{"question": "q", "answer": "a"}\n{"question": "q2", "answer": " "}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="row 2, column 'answer'"):
        load_retain(str(path))
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"prompt": "q"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="needs 'question' and 'answer'"):
        load_retain(str(wrong))


def test_language_pack_has_several_unknown_phrases():
    for code in ("en", "fr", "hi"):
        assert len(load_language_pack(code).unknown_phrases) >= 3
