"""Kills and restarts (issue 11): ``respond`` and ``unlearn`` resume to the same result; a kill or an error while a
result file is written leaves the previous file whole (``bench/kill_trials.py`` runs the many-trial version)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from geounlearn_trl import files
from geounlearn_trl.methods import checkpoints
from geounlearn_trl.data.mcq import SplitArguments

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "geounlearn_trl" / "data" / "sample"


def kill_trials():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import kill_trials as module
    finally:
        sys.path.remove(str(REPO / "bench"))
    return module


# --- checkpoints: which one a run resumes from ---------------------------------------------------------------------


def fake_checkpoint(folder: Path, step: int, complete: bool = True) -> Path:
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "adapter_model.safetensors").write_bytes(b"weights")
    if complete:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}), encoding="utf-8")
    return path


def test_newest_complete_checkpoint_is_chosen(tmp_path, caplog):
    fake_checkpoint(tmp_path, 2)
    fake_checkpoint(tmp_path, 10)
    fake_checkpoint(tmp_path, 12, complete=False)  # killed before trainer_state.json
    cut = fake_checkpoint(tmp_path, 14, complete=False)
    (cut / "trainer_state.json").write_text('{"global_st', encoding="utf-8")  # killed while writing it
    (tmp_path / "checkpoint-16").write_text("not a folder")
    assert checkpoints.last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")  # 10 > 2: numeric order
    assert "checkpoint-14: incomplete checkpoint" in caplog.text and "checkpoint-12: incomplete" in caplog.text
    assert checkpoints.last_complete_checkpoint(tmp_path / "missing") is None


def test_resume_flag_wins_and_overwrite_starts_over(tmp_path):
    fake_checkpoint(tmp_path, 4)
    args = SimpleNamespace(output_dir=str(tmp_path), resume_from_checkpoint=None, overwrite_output_dir=False)
    assert checkpoints.resolve_resume(args) == str(tmp_path / "checkpoint-4")
    args.resume_from_checkpoint = "elsewhere/checkpoint-2"
    assert checkpoints.resolve_resume(args) == "elsewhere/checkpoint-2"
    args.resume_from_checkpoint, args.overwrite_output_dir = None, True
    assert checkpoints.resolve_resume(args) is None
    assert not (tmp_path / "checkpoint-4").exists()  # a later resume never picks the old run's checkpoint


def test_training_configs_have_the_opt_out():
    from geounlearn_trl.methods.selective.arguments import ReinforceConfig
    from geounlearn_trl.methods.gradient_ascent import GradientAscentConfig
    from geounlearn_trl.methods.selective_relabel import SelectiveRelabelConfig

    from transformers import TrainingArguments

    assert "overwrite_output_dir" not in TrainingArguments.__dataclass_fields__  # gone in transformers 5
    for config in (GradientAscentConfig, SelectiveRelabelConfig, ReinforceConfig):
        assert config.__dataclass_fields__["overwrite_output_dir"].default is False


UNLEARN = ["--use_peft", "--lora_target_modules", "all-linear", "--lora_dropout", "0.1", "--language", "en",
           "--max_train_samples", "4", "--max_steps", "4", "--per_device_train_batch_size", "2", "--learning_rate",
           "1e-3", "--logging_steps", "1", "--report_to", "none", "--use_cpu", "--save_strategy", "steps",
           "--save_steps", "2", "--seed", "0"]  # fmt: skip


def adapter_tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_unlearn_resumes_by_itself_to_the_same_adapter(tmp_path, tiny_model_dir, caplog):
    """A run killed after checkpoint-2 (and while writing checkpoint-4) started again with the same command resumes
    from checkpoint-2 by itself: two epochs, LoRA dropout, AdamW and the schedule give the uninterrupted adapter."""
    from geounlearn_trl.cli import unlearn

    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert unlearn.main(["--model_name_or_path", tiny_model_dir, *UNLEARN, "--output_dir", str(whole)]) == 0
    assert sorted(p.name for p in whole.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert not (whole / ".saving").exists()
    # What a kill while checkpoint-4 was written leaves: checkpoint-2 whole, checkpoint-4 without its trainer state.
    shutil.copytree(whole / "checkpoint-2", resumed / "checkpoint-2")
    shutil.copytree(whole / "checkpoint-4", resumed / "checkpoint-4", ignore=shutil.ignore_patterns("trainer_state.json"))
    assert unlearn.main(["--model_name_or_path", tiny_model_dir, *UNLEARN, "--output_dir", str(resumed)]) == 0
    assert f"Resuming from {resumed / 'checkpoint-2'}" in caplog.text
    first, second = adapter_tensors(whole), adapter_tensors(resumed)
    assert first.keys() == second.keys()
    for name in first:
        assert (first[name] - second[name]).abs().max() <= 1e-6, name
    log = json.loads((resumed / "training_log.json").read_text(encoding="utf-8"))
    assert [entry["step"] for entry in log["log_history"] if "forget_nll" in entry] == [1, 2, 3, 4]


# --- kill -9 in subprocesses (the real CLI) ------------------------------------------------------------------------


@pytest.mark.slow
def test_respond_killed_twice_equals_an_uninterrupted_run(tmp_path, tiny_model_dir):
    trials = kill_trials()
    reference, folder = tmp_path / "whole", tmp_path / "killed"
    trials.run_to_end(trials.respond_command(tiny_model_dir, reference, "loglik"), tmp_path / "whole.log")
    expected = (reference / "run.jsonl").read_bytes()
    for fraction in (0.3, 0.7):  # killed once the JSONL holds 30%, then 70% of its bytes
        event = trials.run_and_kill(
            trials.respond_command(tiny_model_dir, folder, "loglik"),
            trials.when(trials.size_at_least(folder / "run.jsonl", int(len(expected) * fraction)), 0.0),
            tmp_path / "killed.log",
        )
        assert event["killed"], event
        assert 0 < (folder / "run.jsonl").stat().st_size < len(expected)
    trials.run_to_end(trials.respond_command(tiny_model_dir, folder, "loglik"), tmp_path / "killed.log")
    assert (folder / "run.jsonl").read_bytes() == expected
    assert (folder / "run.json").read_bytes() == (reference / "run.json").read_bytes()
    keys = [json.loads(line)["key"] for line in expected.splitlines()]
    assert len(keys) == len(set(keys))


@pytest.mark.slow
def test_unlearn_killed_at_checkpoints_resumes_to_the_same_adapter(tmp_path, tiny_model_dir):
    trials = kill_trials()
    reference, folder = tmp_path / "whole", tmp_path / "killed"
    trials.run_to_end(trials.unlearn_command(tiny_model_dir, reference), tmp_path / "whole.log")
    for step in (2, 6):  # killed the moment checkpoint-2 (then checkpoint-6) appears: mid-save, usually
        event = trials.run_and_kill(
            trials.unlearn_command(tiny_model_dir, folder),
            trials.when(lambda s=step: (folder / f"checkpoint-{s}").is_dir(), 0.0),
            tmp_path / "killed.log",
        )
        assert event["killed"], event
    before = checkpoints.last_complete_checkpoint(folder)
    trials.run_to_end(trials.unlearn_command(tiny_model_dir, folder), tmp_path / "final.log")
    if before is not None:
        assert f"Resuming from {before}" in (tmp_path / "final.log").read_text(errors="replace")
    assert trials.adapter_difference(reference, folder) <= 1e-6


# --- a kill or an error while a result file is written ---------------------------------------------------------------


class HalfWritten(RuntimeError):
    """Raised by the patched writers halfway through a file."""


@pytest.fixture
def writes_fail_halfway(monkeypatch):
    """Every text write of geounlearn_trl.files writes half its text, then raises (a kill mid-write, as near as a
    test can get)."""
    real_fdopen = os.fdopen

    def fdopen(handle, *args, **kwargs):
        stream = real_fdopen(handle, *args, **kwargs)
        write = stream.write

        def half(text):
            write(text[: len(text) // 2])
            stream.flush()
            raise HalfWritten("killed")

        stream.write = half
        return stream

    monkeypatch.setattr(files.os, "fdopen", fdopen)


def visible_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def test_write_text_atomic_keeps_the_previous_file(tmp_path, writes_fail_halfway):
    path = tmp_path / "summary.json"
    path.write_text('{"runs": []}\n', encoding="utf-8")
    with pytest.raises(HalfWritten):
        files.write_json_atomic(path, {"runs": [1, 2, 3] * 100})
    assert path.read_text(encoding="utf-8") == '{"runs": []}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]  # the staging file is removed


def test_staged_path_keeps_the_previous_file(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(b"old picture")
    mode = path.stat().st_mode & 0o777
    with pytest.raises(HalfWritten), files.staged_path(path) as staging:
        assert staging.suffix == ".png" and staging.parent == tmp_path  # savefig reads the format from the suffix
        staging.write_bytes(b"half a pic")
        raise HalfWritten("killed")
    assert path.read_bytes() == b"old picture" and [p.name for p in tmp_path.iterdir()] == ["plot.png"]
    with files.staged_path(path) as staging:
        staging.write_bytes(b"new picture")
    assert path.read_bytes() == b"new picture" and path.stat().st_mode & 0o777 == mode  # not mkstemp's 0600


def test_score_killed_while_writing_keeps_the_previous_results(tmp_path, monkeypatch):
    from geounlearn_trl.cli import score

    responses = tmp_path / "responses.json"
    responses.write_text(json.dumps({"question": ["Q: a) x\nb) y\nAnswer:"] * 3, "target": ["x"] * 3,
                                     "model_answer": ["a) x", "b) y", "a) x"]}), encoding="utf-8")
    out = tmp_path / "out"
    argv = ["--language", "en", "--input_file", str(responses), "--output_dir", str(out), "--bootstrap", "20"]
    assert score.main(argv) == 0
    before = visible_files(out)
    assert set(before) == {"responses_evaluated.jsonl", "summary.json", "summary.md"}
    real_fdopen = os.fdopen
    calls = {"n": 0}

    def fdopen(handle, *args, **kwargs):  # the second file written is cut in half
        stream = real_fdopen(handle, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:
            write = stream.write

            def half(text):
                write(text[: len(text) // 2])
                raise HalfWritten("killed")

            stream.write = half
        return stream

    monkeypatch.setattr(files.os, "fdopen", fdopen)
    with pytest.raises(HalfWritten):
        score.main([*argv, "--seed", "3"])
    after = visible_files(out)
    assert after == before  # each file the old one or a whole new one; here the summary stayed the old one
    assert all(not p.name.startswith(".") for p in out.iterdir())


def test_report_killed_while_drawing_keeps_the_previous_picture(tmp_path, monkeypatch):
    import matplotlib.figure

    from geounlearn_trl.cli import report

    summary = tmp_path / "summary.json"
    metrics = {"n": 10, "stereotype_rate": 0.5, "unknown_rate": 0.3, "other_rate": 0.2, "unparsed_rate": 0.0,
               "bias_score": 0.1, "ambiguous_bias_score": 0.05, "control_accuracy": 0.9, "control_unknown_rate": 0.0,
               "control_n": 5}  # fmt: skip
    runs = [{"input_file": f"{model}.jsonl", "model": model, "language": "en", "mode": "loglik", "metrics": metrics}
            for model in ("base", "ga-en")]
    summary.write_text(json.dumps({"runs": runs}), encoding="utf-8")
    out = tmp_path / "report"
    assert report.main(["--summaries", str(summary), "--output_dir", str(out), "--baseline", "base"]) == 0
    before = visible_files(out)
    assert {"report.md", "before_after.png"} <= set(before)
    real_savefig = matplotlib.figure.Figure.savefig

    def savefig(figure, path, *args, **kwargs):
        real_savefig(figure, path, *args, **kwargs)
        with open(path, "r+b") as handle:  # half the PNG on disk, then the kill
            handle.truncate(os.path.getsize(path) // 2)
        raise HalfWritten("killed")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    with pytest.raises(HalfWritten):
        report.main(["--summaries", str(summary), "--output_dir", str(out), "--baseline", "base", "--title", "other"])
    assert visible_files(out) == before and [p for p in out.iterdir() if p.name.startswith(".")] == []


def test_relabel_killed_while_saving_keeps_the_previous_dataset(tmp_path, monkeypatch):
    import datasets

    from geounlearn_trl.methods.selective import pipeline

    output = tmp_path / "relabeled"
    pipeline.save_dataset(datasets.Dataset.from_dict({"input_ids": [[1, 2, 3]]}), str(output), {"split": SplitArguments()})
    assert (output / "geounlearn_config.yaml").is_file()
    before = visible_files(output)

    def save_to_disk(self, path, *args, **kwargs):
        Path(path, "data-00000-of-00001.arrow").write_bytes(b"half an arrow file")
        raise HalfWritten("killed")

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", save_to_disk)
    with pytest.raises(HalfWritten):
        pipeline.save_dataset(datasets.Dataset.from_dict({"input_ids": [[4, 5]]}), str(output), {"split": SplitArguments()})
    assert visible_files(output) == before
    assert datasets.load_from_disk(str(output))["input_ids"] == [[1, 2, 3]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relabeled"]


def test_model_saved_through_a_staging_folder(tmp_path):
    """unlearn / reinforce / selective / demo save the adapter and tokenizer into ``.saving`` first: a kill while the
    weights are written leaves the previous adapter, whole, under the final names."""
    output = tmp_path / "adapter"
    output.mkdir()
    (output / "adapter_model.safetensors").write_bytes(b"previous adapter")
    accelerator = SimpleNamespace(is_main_process=True, wait_for_everyone=lambda: None)

    def half_save(path):
        Path(path).mkdir(parents=True, exist_ok=True)
        Path(path, "adapter_model.safetensors").write_bytes(b"half")
        raise HalfWritten("killed")

    tokenizer = SimpleNamespace(save_pretrained=lambda path: Path(path, "tokenizer.json").write_text("{}"))
    with pytest.raises(HalfWritten):
        checkpoints.save_model_atomically(SimpleNamespace(accelerator=accelerator, save_model=half_save), tokenizer, str(output))
    assert visible_files(output) == {"adapter_model.safetensors": b"previous adapter"}

    def save(path):
        Path(path).mkdir(parents=True, exist_ok=True)
        Path(path, "adapter_model.safetensors").write_bytes(b"new adapter")

    checkpoints.save_model_atomically(SimpleNamespace(accelerator=accelerator, save_model=save), tokenizer, str(output))
    assert visible_files(output) == {"adapter_model.safetensors": b"new adapter", "tokenizer.json": b"{}"}
    assert not (output / ".saving").exists()
