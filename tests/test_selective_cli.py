"""``reinforce`` → ``relabel`` → ``selective`` (and ``selective-demo``) end to end on tiny models, plus their errors."""

from __future__ import annotations

import json
import math
from importlib.resources import files

import datasets
import pytest
import torch
import yaml

from geounlearn_trl.cli import relabel as relabel_command
from geounlearn_trl.cli import reinforce as reinforce_command
from geounlearn_trl.cli import selective as selective_command
from geounlearn_trl.cli import selective_demo
from geounlearn_trl.cli.common import parse_flags
from geounlearn_trl.methods.selective import pipeline, reinforced_model
from geounlearn_trl.methods.selective.arguments import (
    LoraModelConfig,
    ReinforceConfig,
    SelectiveArguments,
    SelectiveCommandConfig,
)
from geounlearn_trl.methods.selective.relabel import IGNORE_INDEX, AnchorDictionaryError
from geounlearn_trl.models import EMBEDDED_MODEL_NAME
from geounlearn_trl.data.target_text import TargetTextArguments, TargetTextError

TARGET = (
    "Harry Potter went to Hogwarts with Ron and Hermione. Harry said hello to Dumbledore in Hogsmeade, "
    "and Ron laughed at the owl. "
) * 6
ANCHORS = {
    "Harry Potter": ["Jon Smith"],
    "Harry": ["Jon", "Henry"],
    "Hogwarts": ["Mystic Academy", "the school"],
    "Ron": ["Tom"],
    "Hermione": ["Emma"],
    "Dumbledore": ["the headmaster"],
    "Hogsmeade": ["the village"],
}
QUICK = ["--per_device_train_batch_size", "2", "--report_to", "none", "--save_strategy", "no", "--logging_steps", "1",
         "--seed", "0"]  # fmt: skip


@pytest.fixture(scope="module")
def target_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("selective-target")
    (folder / "target.txt").write_text(TARGET, encoding="utf-8")
    (folder / "anchors.json").write_text(json.dumps(ANCHORS), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def reinforced(tiny_model_dir, target_files):
    """One reinforced LoRA adapter on the tiny model, shared by the tests below."""
    output = target_files / "reinforced"
    code = reinforce_command.main(
        ["--model_name_or_path", tiny_model_dir, "--target_text", str(target_files / "target.txt"), "--block_size", "32",
         "--output_dir", str(output), "--max_steps", "2", "--lora_r", "4", "--lora_alpha", "8", *QUICK]
    )  # fmt: skip
    assert code == 0
    return output


def relabel(target_files, reinforced, output, *extra):
    return relabel_command.main(
        ["--target_text", str(target_files / "target.txt"), "--anchors", str(target_files / "anchors.json"),
         "--reinforced_adapter", str(reinforced), "--block_size", "32", "--output_dir", str(output), *extra]
    )  # fmt: skip


def test_reinforce_saves_adapter_tokenizer_and_config(reinforced, tiny_model_dir):
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "geounlearn_config.yaml"):
        assert (reinforced / name).is_file(), name
    config = yaml.safe_load((reinforced / "geounlearn_config.yaml").read_text(encoding="utf-8"))
    assert config["target"]["block_size"] == 32 and config["model"]["use_peft"] is True
    assert config["model"]["model_name_or_path"] == tiny_model_dir
    assert "hub_token" not in config["training"]


def test_relabel_then_selective_hard(tiny_model_dir, target_files, reinforced, tmp_path):
    relabeled = tmp_path / "relabeled"
    assert relabel(target_files, reinforced, relabeled) == 0
    dataset = datasets.load_from_disk(str(relabeled))
    assert {"input_ids", "attention_mask", "labels", "text", "replaced_text", "replacements"} <= set(dataset.column_names)
    assert "soft_label_ids" not in dataset.column_names
    statistics = json.loads(dataset.info.description)
    assert statistics["alpha"] == 5.0 and statistics["anchor_occurrences"] > 0
    assert statistics["positions"]["inside_anchor"] > 0 and statistics["positions"]["repeated_anchor"] > 0
    for row in dataset:
        assert len(row["labels"]) == len(row["input_ids"]) and row["labels"][0] == IGNORE_INDEX
        assert "Hogwarts" not in row["replaced_text"] or "Hogwarts" not in row["text"]
    # The model was loaded once, base and reinforced toggled: the config records the adapter's own base.
    config = yaml.safe_load((relabeled / "geounlearn_config.yaml").read_text(encoding="utf-8"))
    assert config["model"]["model_name_or_path"] == tiny_model_dir

    output = tmp_path / "selective"
    code = selective_command.main(
        ["--model_name_or_path", tiny_model_dir, "--relabeled_dataset", str(relabeled), "--output_dir", str(output),
         "--max_steps", "2", "--lora_r", "4", *QUICK]
    )  # fmt: skip
    assert code == 0
    assert (output / "adapter_model.safetensors").is_file() and (output / "geounlearn_config.yaml").is_file()


def test_relabel_top_k_then_selective_soft(tiny_model_dir, target_files, reinforced, tmp_path):
    relabeled = tmp_path / "relabeled"
    assert relabel(target_files, reinforced, relabeled, "--top_k", "3") == 0
    row = datasets.load_from_disk(str(relabeled))[0]
    labeled = [t for t, label in enumerate(row["labels"]) if label != IGNORE_INDEX]
    assert labeled and all(len(ids) == 3 for ids in row["soft_label_ids"])
    for t in labeled:
        assert math.isclose(sum(row["soft_label_probs"][t]), 1.0, rel_tol=1e-5)
        assert row["soft_label_ids"][t][0] == row["labels"][t]  # the hard label is the top soft target
    # A checkpoint at step 2 keeps the Trainer's log history (selective writes no training_log.json).
    code = selective_command.main(
        ["--model_name_or_path", tiny_model_dir, "--relabeled_dataset", str(relabeled), "--label_type", "soft",
         "--output_dir", str(tmp_path / "selective"), "--max_steps", "2", *QUICK, "--save_strategy", "steps",
         "--save_steps", "2"]
    )  # fmt: skip
    assert code == 0
    state = json.loads((tmp_path / "selective" / "checkpoint-2" / "trainer_state.json").read_text(encoding="utf-8"))
    steps = [entry for entry in state["log_history"] if "loss" in entry]
    assert [entry["step"] for entry in steps] == [1, 2]
    for entry in steps:
        # the soft loss was trained on: its KL is logged, and the loss is that KL (CE = KL + H(q) ≥ KL)
        assert math.isfinite(entry["generic_kl"]) and entry["generic_kl"] >= 0
        assert entry["generic_nll"] >= entry["generic_kl"] - 1e-6
        assert entry["loss"] == pytest.approx(entry["generic_kl"], rel=1e-3)


def test_mcq_statements_as_target(tiny_model_dir, tmp_path):
    mcq = str(files("geounlearn_trl") / "data" / "sample" / "sample_mcq_en.csv")
    mcq_flags = ["--mcq_dataset", mcq, "--language", "en", "--mcq_max_rows", "6", "--block_size", "64"]
    assert reinforce_command.main(
        ["--model_name_or_path", tiny_model_dir, *mcq_flags, "--output_dir", str(tmp_path / "reinforced"),
         "--max_steps", "1", *QUICK]
    ) == 0  # fmt: skip
    assert relabel_command.main(
        [*mcq_flags, "--reinforced_adapter", str(tmp_path / "reinforced"), "--output_dir", str(tmp_path / "relabeled")]
    ) == 0
    dataset = datasets.load_from_disk(str(tmp_path / "relabeled"))
    assert len(dataset) == 6  # one block per statement
    for row in dataset:
        assert row["text"].startswith("I know a person who is")
        assert row["replaced_text"].endswith(("a person", "someone"))
        # the identity's first token is predicted right after "The person is:" and gets a generic label
        assert row["labels"][-len(row["input_ids"]) :].count(IGNORE_INDEX) < len(row["input_ids"])


def test_reinforce_labels_are_shifted_once(tiny_model_dir, tmp_path):
    """After fitting a short text, the model predicts the *next* token (a double shift would teach the current one)."""
    text = tmp_path / "abc.txt"
    text.write_text("alpha beta gamma delta epsilon zeta eta theta iota kappa " * 4, encoding="utf-8")
    assert reinforce_command.main(
        ["--model_name_or_path", tiny_model_dir, "--target_text", str(text), "--block_size", "16", "--use_peft", "false",
         "--output_dir", str(tmp_path / "full"), "--max_steps", "30", "--learning_rate", "1e-2",
         "--lr_scheduler_type", "constant", *QUICK]
    ) == 0  # fmt: skip
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "full").eval()
    ids = torch.tensor([pipeline.block_dataset(
        TargetTextArguments(target_text=str(text), block_size=16), _tokenizer(tmp_path / "full")
    )[0]["input_ids"]])  # fmt: skip
    with torch.no_grad():
        predicted = model(input_ids=ids).logits.argmax(-1)[0]
    next_token = (predicted[:-1] == ids[0, 1:]).float().mean().item()
    same_token = (predicted == ids[0]).float().mean().item()
    assert next_token > 0.8 and same_token < 0.2


def _tokenizer(path):
    from geounlearn_trl.models import load_tokenizer

    return load_tokenizer(str(path))


def test_relabel_errors_are_clear(tiny_model_dir, target_files, reinforced, tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(FileExistsError, match="--overwrite_output_dir"):
        relabel(target_files, reinforced, occupied)
    assert (occupied / "keep.txt").read_text(encoding="utf-8") == "precious"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Harry": "Jon"}), encoding="utf-8")
    with pytest.raises(AnchorDictionaryError, match="bad.json: key 'Harry'"):
        relabel_command.main(
            ["--target_text", str(target_files / "target.txt"), "--anchors", str(bad), "--reinforced_adapter",
             str(reinforced), "--output_dir", str(tmp_path / "a")]
        )  # fmt: skip
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(TargetTextError, match="empty.txt: the target text is empty"):
        relabel_command.main(
            ["--target_text", str(empty), "--anchors", str(target_files / "anchors.json"), "--reinforced_adapter",
             str(reinforced), "--output_dir", str(tmp_path / "b")]
        )  # fmt: skip
    with pytest.raises(FileNotFoundError, match="no adapter_config.json"):
        relabel(target_files, tiny_model_dir, tmp_path / "c")  # a full model, not an adapter
    with pytest.raises(ValueError, match="exactly one of --target_text"):
        relabel_command.main(["--reinforced_adapter", str(reinforced), "--output_dir", str(tmp_path / "d")])
    with pytest.raises(ValueError, match="--anchors is required"):
        relabel_command.main(
            ["--target_text", str(target_files / "target.txt"), "--reinforced_adapter", str(reinforced),
             "--output_dir", str(tmp_path / "e")]
        )  # fmt: skip
    assert not any((tmp_path / name).exists() for name in "abcde")


def test_selective_and_reinforce_errors(tmp_path, target_files):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        selective_command.main(["--relabeled_dataset", str(tmp_path / "missing"), "--output_dir", str(tmp_path / "o")])
    with pytest.raises(ValueError, match="keep --use_peft"):
        reinforce_command.main(
            ["--target_text", str(target_files / "target.txt"), "--use_peft", "false", "--load_in_4bit", "true"]
        )
    with pytest.raises(ValueError, match="shorter than --block_size"):
        reinforce_command.main(["--target_text", str(target_files / "target.txt"), "--block_size", "512", "--max_length", "128"])


def test_training_commands_take_hub_flags():
    flags = ["--push_to_hub", "true", "--hub_model_id", "someone/unlearned", "--output_dir", "x"]
    _, training, _ = parse_flags(
        (TargetTextArguments, ReinforceConfig, LoraModelConfig), flags
    )
    assert training.push_to_hub and training.hub_model_id == "someone/unlearned"
    _, training, model = parse_flags(
        (SelectiveArguments, SelectiveCommandConfig, LoraModelConfig), flags
    )  # fmt: skip
    assert training.push_to_hub and model.use_peft and model.model_name_or_path == EMBEDDED_MODEL_NAME


def linear4bit_layers(model) -> list[str]:
    import bitsandbytes as bnb

    return [name for name, module in model.named_modules() if isinstance(module, bnb.nn.Linear4bit)]


def test_four_bit_reinforce_and_relabel(tokenizer, tmp_path, target_files, monkeypatch):
    """QLoRA end to end on a tiny model wide enough for bitsandbytes' 64-wide CPU blocks: reinforce trains, and
    relabel runs, a model whose 7 projections are bitsandbytes Linear4bit layers (not just the flag echoed)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    seen = {}

    class RecordingSFTTrainer(pipeline.ReinforceTrainer):
        def train(self, *args, **kwargs):
            seen["reinforce"] = linear4bit_layers(self.model)
            return super().train(*args, **kwargs)

    load_model = reinforced_model.load_model

    def recording_load_model(*args, **kwargs):
        model = load_model(*args, **kwargs)
        seen["relabel"] = linear4bit_layers(model)
        return model

    monkeypatch.setattr(pipeline, "ReinforceTrainer", RecordingSFTTrainer)
    monkeypatch.setattr(reinforced_model, "load_model", recording_load_model)

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(tmp_path / "tiny64")
    tokenizer.save_pretrained(tmp_path / "tiny64")
    assert reinforce_command.main(
        ["--model_name_or_path", str(tmp_path / "tiny64"), "--load_in_4bit", "true", "--target_text",
         str(target_files / "target.txt"), "--block_size", "32", "--output_dir", str(tmp_path / "qlora"),
         "--max_steps", "1", *QUICK]
    ) == 0  # fmt: skip
    assert relabel(target_files, tmp_path / "qlora", tmp_path / "relabeled", "--load_in_4bit", "true") == 0
    assert len(datasets.load_from_disk(str(tmp_path / "relabeled"))) > 0
    # one layer: q, k, v, o, gate, up and down projections (in reinforce, those LoRA targets are its base layers)
    assert len(seen["reinforce"]) == 7 and any(name.endswith(".base_layer") for name in seen["reinforce"]), seen
    assert len(seen["relabel"]) == 7, seen


def test_selective_demo_runs_every_step(tiny_model_dir, tmp_path, capsys):
    # The shipped fiction, cut to its first paragraphs, and two prompts of each kind: every step, in seconds.
    data = files("geounlearn_trl") / "data" / "sample"
    story = (data / "fictional_target.txt").read_text(encoding="utf-8").split("\n\n")[:3]
    (tmp_path / "story.txt").write_text("\n\n".join(story), encoding="utf-8")
    for kind in ("completion", "probability"):
        prompts = json.loads((data / f"fictional_{kind}_prompts.json").read_text(encoding="utf-8"))[:2]
        (tmp_path / f"{kind}.json").write_text(json.dumps(prompts), encoding="utf-8")
    code = selective_demo.main(
        ["--model_name_or_path", tiny_model_dir, "--output_dir", str(tmp_path / "demo"), "--block_size", "64",
         "--target_text", str(tmp_path / "story.txt"), "--completion_prompts", str(tmp_path / "completion.json"),
         "--probability_prompts", str(tmp_path / "probability.json"), "--plant_epochs", "1", "--reinforce_epochs",
         "1", "--selective_epochs", "1", "--plant_lora_r", "4", "--plant_replay_tokens", "64", "--num_samples", "1",
         "--max_new_tokens", "2"]
    )  # fmt: skip
    assert code == 0
    results = json.loads((tmp_path / "demo" / "results.json").read_text(encoding="utf-8"))["results"]
    assert list(results) == ["before planting", "after planting", "after unlearning"]
    for stage in results.values():
        for key in ("completion_familiar_rate", "probability_familiarity", "target_loss", "retain_loss"):
            assert math.isfinite(stage[key])
    printed = capsys.readouterr().out
    assert "$ geounlearn-trl relabel" in printed and "retain loss, neutral held-out text" in printed
    for step in ("planted", "reinforced", "relabeled", "selective"):
        assert (tmp_path / "demo" / step).is_dir()


def test_eval_fraction_keeps_only_the_training_rows():
    from geounlearn_trl.data.mcq import held_out_split, load_mcq
    from geounlearn_trl.data.target_text import mcq_target

    mcq_path = str(files("geounlearn_trl") / "data" / "sample" / "sample_mcq_en.csv")
    mcq = load_mcq(mcq_path)
    split = held_out_split(mcq, 0.2, 7)
    train, held_out = split.train, split.eval
    documents, anchors = mcq_target(mcq_path, "en", eval_fraction=0.2, split_seed=7)
    expected = [f"{mcq[i]['question']} {mcq[i]['target']}" for i in train]
    assert documents == expected
    held_out_statements = {f"{mcq[i]['question']} {mcq[i]['target']}" for i in held_out}
    assert held_out_statements and not held_out_statements & set(documents)
    with pytest.raises(ValueError, match="eval_fraction"):
        parse_flags((TargetTextArguments,), ["--mcq_dataset", mcq_path, "--eval_fraction", "1.0"])
    # the flag names of last release still work
    (args,) = parse_flags((TargetTextArguments,), ["--mcq_dataset", mcq_path, "--mcq_eval_fraction", "0.3",
                                                   "--mcq_split_seed", "5"])
    assert (args.eval_fraction, args.split_seed) == (0.3, 5)


@pytest.mark.slow
def test_selective_demo_on_the_embedded_model_unlearns_the_planted_fiction(embedded_model_dir, tmp_path):
    """The whole pipeline with its defaults on SmolLM2-135M (minutes): planting works, unlearning undoes part of it.

    Measured (bench/RESULTS.md): probability familiarity 0.005 → 0.44 → 0.20, completion 0 → 0.29 → 0.05–0.14, retain
    loss +0.05–0.10 nats/token from planted to unlearned. The bounds below leave room for CPU nondeterminism.
    """
    assert selective_demo.main(["--output_dir", str(tmp_path), "--num_samples", "2"]) == 0
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["results"]
    before, planted, unlearned = (results[s] for s in ("before planting", "after planting", "after unlearning"))
    assert planted["probability_familiarity"] > 10 * before["probability_familiarity"]
    assert planted["completion_familiar_rate"] > before["completion_familiar_rate"]
    assert unlearned["probability_familiarity"] < 0.75 * planted["probability_familiarity"]
    assert unlearned["completion_familiar_rate"] <= planted["completion_familiar_rate"]
    assert unlearned["target_loss"] > planted["target_loss"] + 0.3  # the fiction is less predictable again
    assert unlearned["retain_loss"] < planted["retain_loss"] + 0.3  # ... for a small cost on unrelated text
