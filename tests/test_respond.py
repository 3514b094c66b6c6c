"""`geounlearn-trl respond`: outputs in the original shape, JSONL records, resuming, model folders and adapters."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from geounlearn_trl.cli import respond
from geounlearn_trl.data.mcq import held_out_split, load_mcq
from geounlearn_trl.evaluation import responding
from geounlearn_trl.evaluation.scoring import DEFAULT_SCORING_RULE, choose_options

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "geounlearn_trl" / "data" / "sample"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(argv: list[str]) -> int:
    return respond.main(argv)


@pytest.mark.parametrize("language", ["en", "fr", "hi"])
def test_loglik_on_real_csv_rows(tmp_path, tiny_model_dir, shared_data, language):
    dataset = shared_data / "seegull_mcq" / f"mcq_stereotype_dataset_{language}.csv"
    assert run(["--model_dir", tiny_model_dir, "--dataset", str(dataset), "--language", language,
                "--control_dataset", str(SAMPLE / f"control_mcq_{language}.csv"), "--max_rows", "5",
                "--batch_size", "4", "--output_dir", str(tmp_path), "--filename", "run"]) == 0
    original = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert set(original) == {"question", "target", "model_answer"}
    assert len(original["question"]) == len(original["target"]) == len(original["model_answer"]) == 5
    records = read_jsonl(tmp_path / "run.jsonl")
    kinds = [r["item_type"] for r in records]
    assert len(records) == 20 and kinds.count("control") == sum(r["is_control"] for r in records) == 5
    assert kinds.count("ambiguous") == 5 and kinds.count("disambiguated") == 10
    for record in records:
        assert record["scoring_rule"] == DEFAULT_SCORING_RULE and record["prompt_style"] == "cloze"
        assert record["split"]["rows"] == "eval" and record["split"]["rule"] == "annotation runs"
        if record["item_type"] == "disambiguated":  # the context states the right answer
            assert record["target"] in record["question"] and record["stereotype"] in record["options"]
        assert record["language"] == language and record["mode"] == "loglik" and record["seed"] == 42
        assert len(record["options"]) == len(record["scores"]) == 5
        assert record["chosen_index"] == choose_options([record["scores"]])[0]
        assert record["options"][record["unknown_index"]] == record["unknown_option"]
        assert record["options"][record["target_index"]] == record["target"]
        assert record["model_answer"] == f"{'abcde'[record['chosen_index']]}) {record['chosen_option']}"
        assert record["use_chat_template"] is True  # the embedded tokenizer has one
    stereotype = [r for r in records if r["item_type"] == "ambiguous"]
    assert original["question"] == [r["question"] for r in stereotype]
    assert original["question"][0].endswith({"en": "Answer:", "fr": "Réponse:", "hi": "उत्तर:"}[language])


def _interrupt_after(monkeypatch, calls: int):
    real = responding.answer_batch
    count = {"n": 0}

    def answer_batch(*args, **kwargs):
        count["n"] += 1
        if count["n"] > calls:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(responding, "answer_batch", answer_batch)


@pytest.mark.parametrize("mode", ["loglik", "generate"])
def test_resume_gives_the_same_output_as_an_uninterrupted_run(tmp_path, tiny_model_dir, monkeypatch, mode):
    argv = ["--model_dir", tiny_model_dir, "--dataset", str(SAMPLE / "sample_mcq_hi.csv"), "--language", "hi",
            "--control_dataset", str(SAMPLE / "control_mcq_hi.csv"), "--max_rows", "5", "--batch_size", "3",
            "--mode", mode, "--max_new_tokens", "3", "--filename", "run"]
    assert run([*argv, "--output_dir", str(tmp_path / "whole")]) == 0

    resumed = tmp_path / "resumed"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, calls=2)
        assert run([*argv, "--output_dir", str(resumed)]) == 130  # stopped after 2 batches = 6 rows
    assert len(read_jsonl(resumed / "run.jsonl")) == 6
    # A kill in the middle of a write leaves half a line: it is dropped and its row answered again.
    with open(resumed / "run.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"model": "tiny", "key": "control:1", "ques')
    assert run([*argv, "--output_dir", str(resumed)]) == 0
    for name in ("run.jsonl", "run.json"):
        assert (resumed / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    keys = [record["key"] for record in read_jsonl(resumed / "run.jsonl")]
    assert len(keys) == len(set(keys)) == 20  # 5 stereotype rows, their 10 disambiguated items, 5 control rows

    # A third call has nothing left to do and leaves the files as they are.
    before = (resumed / "run.jsonl").read_bytes()
    assert run([*argv, "--output_dir", str(resumed)]) == 0
    assert (resumed / "run.jsonl").read_bytes() == before


def test_resume_refuses_other_settings(tmp_path, tiny_model_dir):
    argv = ["--model_dir", tiny_model_dir, "--dataset", str(SAMPLE / "sample_mcq_en.csv"), "--max_rows", "6",
            "--output_dir", str(tmp_path)]
    assert run([*argv, "--max_rows", "3"]) == 0
    with pytest.raises(ValueError, match="another prompt"):
        run([*argv, "--seed", "7"])
    with pytest.raises(ValueError, match="mode"):
        run([*argv, "--mode", "generate"])


def test_folder_of_models_with_a_peft_adapter(tmp_path, tiny_model_dir, tokenizer):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    models = tmp_path / "models"
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    base.save_pretrained(models / "base", safe_serialization=True)
    tokenizer.save_pretrained(models / "base")
    adapter = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                             LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    adapter.save_pretrained(models / "lora-en")  # adapter only: its base is tiny_model_dir
    (models / "notes").mkdir()  # not a model: ignored

    found, is_collection = responding.discover_models(str(models))
    assert is_collection and [entry.name for entry in found] == ["base", "lora-en"]
    assert run(["--model_dir", str(models), "--dataset", str(SAMPLE / "sample_mcq_en.csv"), "--max_rows", "4",
                "--output_dir", str(tmp_path / "out"), "--filename", "eval"]) == 0
    records = read_jsonl(tmp_path / "out" / "eval.jsonl")
    assert {r["model"] for r in records} == {"base", "lora-en"}
    first_key = records[0]["key"]
    scores = {r["model"]: r["scores"] for r in records if r["key"] == first_key}
    assert scores["base"] != scores["lora-en"]  # the (non-zero) adapter is applied
    for name in ("base", "lora-en"):
        original = json.loads((tmp_path / "out" / f"eval_{name}.json").read_text(encoding="utf-8"))
        assert len(original["model_answer"]) == 4


def test_missing_model_is_a_clear_error(tmp_path):
    from geounlearn_trl.models import ModelNotFoundError

    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="no subfolder"):
        responding.discover_models(str(tmp_path / "empty"))
    with pytest.raises(ModelNotFoundError):
        responding.discover_models(str(tmp_path / "nope"))


def test_corrupt_line_in_the_middle_is_refused(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text('{"model": "m", "key": "stereotype:1"}\nnot json\n{"model": "m", "key": "stereotype:2"}\n')
    with pytest.raises(ValueError, match="line 2"):
        responding.ResponseStore(path)
    assert os.path.getsize(path) > 0  # nothing already written is lost


def test_split_and_item_types_choose_the_rows(tmp_path, tiny_model_dir):
    """--split eval/train/all answer the held-out rows of the split every command makes, the others, or all."""
    dataset = SAMPLE / "sample_mcq_en.csv"
    common = ["--model_dir", tiny_model_dir, "--dataset", str(dataset), "--item_types", "ambiguous",
              "--eval_fraction", "0.3", "--split_seed", "3"]
    split = held_out_split(load_mcq(str(dataset)), 0.3, 3)
    rows = {}
    for name in ("eval", "train"):
        assert run([*common, "--split", name, "--output_dir", str(tmp_path / name)]) == 0
        records = read_jsonl(tmp_path / name / "unlearned_models_output.jsonl")
        assert {r["item_type"] for r in records} == {"ambiguous"}
        rows[name] = [r["row"] for r in records]
    assert rows["eval"] == [i + 1 for i in split.eval] and rows["train"] == [i + 1 for i in split.train]
    with pytest.raises(ValueError, match="item_types"):
        run([*common, "--item_types", "ambiguous,everything", "--output_dir", str(tmp_path / "bad")])
    with pytest.raises(ValueError, match="prompt_style options"):
        run([*common, "--mode", "generate", "--prompt_style", "cloze", "--output_dir", str(tmp_path / "bad")])
