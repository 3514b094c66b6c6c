"""Real two-process runs on CPU through ``accelerate launch``: DDP, DeepSpeed ZeRO-2 and ZeRO-3, both trainers.

Each run trains the tiny random Llama for two steps, then the tests check that

* the loss terms in the logs are finite (``forget_nll``, ``unknown_nll``, ``kl``; ``generic_nll`` for selective);
* the run really was distributed as configured (the model card records the distributed type, the number of processes
  and the ZeRO stage, read off the trainer's accelerator);
* the saved adapter (or full model) loads in a fresh process and gives the same logits there as here, and different
  logits from the base model; under ZeRO-3 the shards were gathered on save: ZeRO-2 and ZeRO-3 give the same adapter;
* full fine-tuning under ZeRO-3 works with the frozen reference copy prepared by ``prepare_deepspeed``;
* a NaN on one process only stops every process at the same step (no hang), and that step is applied nowhere.

DeepSpeed on CPU needs a gloo process group: the commands pick it themselves when launched on CPU (no
``--ddp_backend gloo`` is passed here), and, on first use, a C++ compiler and ninja to build its shared-memory
communication op. Every launch has a time limit; on expiry the whole process group of the launch is killed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.distributed

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = REPO_ROOT / "accelerate_configs"
LAUNCH_TIMEOUT_S = 420
FIXED_INPUT_IDS = list(range(20, 52))

MCQ_CSV = """\
MCQ_Question,Option_1,Option_2,Option_3,Option_4,Correct_Option,identity,attribute
"I know a person who is ""punctual"". The person is:",German,Brazilian,Thai,Peruvian,Option_1,German,punctual
"I know a person who is ""loud"". The person is:",Finnish,Italian,Japanese,Swiss,Option_2,Italian,loud
"I know a person who is ""rich"". The person is:",Kenyan,Chilean,Qatari,Danish,Option_3,Qatari,rich
"I know a person who is ""polite"". The person is:",Mexican,Norwegian,Egyptian,Canadian,Option_4,Canadian,polite
"I know a person who is ""lazy"". The person is:",Spanish,Polish,Korean,Irish,Option_1,Spanish,lazy
"I know a person who is ""tall"". The person is:",Indian,Dutch,Peruvian,Greek,Option_2,Dutch,tall
"I know a person who is ""quiet"". The person is:",Turkish,Thai,Finnish,Nigerian,Option_3,Finnish,quiet
"I know a person who is ""rude"". The person is:",Swiss,Argentine,Vietnamese,French,Option_4,French,rude
"""
RETAIN_ROWS = [
    {"question": "What colour is the sky on a clear day?", "answer": "It is blue."},
    {"question": "How many days are in a week?", "answer": "There are seven days in a week."},
    {"question": "What do bees make?", "answer": "Bees make honey."},
]
TARGET_TEXT = (
    "Mirelle Vantor lived in the harbour town of Quillhaven, where the lighthouse keeper Oskar Brill told stories "
    "every night. Mirelle sailed the Quillhaven boats with Oskar, and together they mapped the Saltspire reef. The "
    "people of Quillhaven said Mirelle Vantor could smell a storm three days before it came. Oskar Brill kept a "
    "logbook of every ship that passed the Saltspire reef."
)
ANCHORS = {
    "Mirelle Vantor": ["Anna Smith", "Maria Jones"],
    "Mirelle": ["Anna"],
    "Quillhaven": ["the town", "Portsmouth"],
    "Oskar Brill": ["John Miller"],
    "Oskar": ["John"],
    "Saltspire": ["northern"],
}
COMMON_TRAINING_FLAGS = [
    "--max_steps", "2", "--per_device_train_batch_size", "2", "--learning_rate", "1e-2", "--lr_scheduler_type",
    "constant", "--logging_steps", "1", "--report_to", "none", "--save_strategy", "no", "--seed", "0",
]


# --- launching -------------------------------------------------------------------------------------------------------


def _free_port() -> int:
    # Other test sessions on the machine may launch at the same time: never rely on the default port 29500.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # A launcher's variables from the calling environment would confuse the new process group.
        if not key.startswith(("ACCELERATE_", "RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_", "LOCAL_WORLD_SIZE"))
    }
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


def _distributed_flags(config: str) -> list[str]:
    # See accelerate_configs/cpu_ddp.yaml: --use_cpu puts each DDP process on CPU. The DeepSpeed configs need nothing:
    # the commands choose the gloo backend themselves on CPU (cli/common.py).
    return ["--use_cpu", "true"] if config == "cpu_ddp.yaml" else []


def accelerate_launch(
    config: str, program: list[str], flags: list[str], log: Path, trains: bool = True, env: dict | None = None,
    timeout: float = LAUNCH_TIMEOUT_S,
) -> subprocess.CompletedProcess:
    """``accelerate launch --config_file accelerate_configs/<config> <program> <flags>`` from the repository root.

    ``trains``: the program builds TrainingArguments, so it gets the CPU flag of the config. The launcher and its
    workers are killed past ``timeout`` (a hang), and the test fails.
    """
    accelerate = Path(sys.executable).with_name("accelerate")
    launcher = [str(accelerate), "launch"] if accelerate.exists() else [sys.executable, "-m", "accelerate.commands.launch"]
    command = [
        *launcher, "--config_file", str(CONFIGS / config), "--main_process_port", str(_free_port()),
        *program, *flags, *(_distributed_flags(config) if trains else []),
    ]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env={**_launch_env(), **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_launch(process.pid)
        stdout, stderr = process.communicate(timeout=60)
        log.write_text(stdout + "\n" + stderr, encoding="utf-8")
        pytest.fail(f"accelerate launch still running after {timeout:.0f} s (hung?), killed:\n{stderr[-6000:]}")
    log.write_text(stdout + "\n" + stderr, encoding="utf-8")
    assert process.returncode == 0, f"accelerate launch failed ({process.returncode}):\n{stderr[-6000:]}"
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _kill_launch(pid: int) -> None:
    """Kill the launcher and every process under it: torchrun starts each worker in a session of its own, so neither
    killing the launcher nor its process group reaches them (psutil comes with accelerate)."""
    import psutil

    try:
        launcher = psutil.Process(pid)
        processes = [launcher, *launcher.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=30)


def module(name: str) -> list[str]:
    return ["-m", f"geounlearn_trl.cli.{name}"]


def console_script(name: str) -> list[str]:
    script = shutil.which("geounlearn-trl") or str(Path(sys.executable).with_name("geounlearn-trl"))
    if not Path(script).exists():
        pytest.skip("the geounlearn-trl console script is not installed (pip install -e .)")
    return [script, name]


# --- checking --------------------------------------------------------------------------------------------------------


def logged_terms(output_dir: Path, names: tuple[str, ...]) -> list[dict]:
    """The training steps of the run's log history that carry ``names``; every value must be finite."""
    log_path = output_dir / "training_log.json"
    if log_path.is_file():
        history = json.loads(log_path.read_text(encoding="utf-8"))["log_history"]
    else:  # commands without training_log.json: the Trainer's state in the last checkpoint
        checkpoints = sorted(output_dir.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[-1]))
        assert checkpoints, f"no training_log.json and no checkpoint in {output_dir}"
        history = json.loads((checkpoints[-1] / "trainer_state.json").read_text(encoding="utf-8"))["log_history"]
    steps = [entry for entry in history if all(name in entry for name in names)]
    assert steps, f"no log entry with {names} in {history}"
    for entry in steps:
        for name in (*names, "loss"):
            assert math.isfinite(entry[name]), f"{name} is not finite at step {entry.get('step')}: {entry}"
    return steps


def card_training_table(output_dir: Path) -> str:
    from huggingface_hub import ModelCard

    card = ModelCard.load(output_dir / "README.md")
    return card.text


def assert_distributed_as(output_dir: Path, config: str) -> None:
    text = card_training_table(output_dir)
    assert "| num processes | 2 |" in text, text
    if config == "cpu_ddp.yaml":
        assert "| distributed type | MULTI_CPU |" in text, text
    else:
        stage = "2" if "zero2" in config else "3"
        assert "| distributed type | DEEPSPEED |" in text, text
        assert f"| deepspeed zero stage | {stage} |" in text, text


_FRESH_PROCESS_LOGITS = textwrap.dedent(
    """
    import sys, torch
    from safetensors.torch import save_file
    path, kind, out = sys.argv[1:4]
    if kind == "adapter":
        from peft import AutoPeftModelForCausalLM as Auto
    else:
        from transformers import AutoModelForCausalLM as Auto
    model = Auto.from_pretrained(path, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(torch.tensor([%s])).logits
    save_file({"logits": logits.contiguous()}, out)
    """
    % FIXED_INPUT_IDS
)


def logits_in_fresh_process(path: Path, kind: str, scratch: Path) -> torch.Tensor:
    from safetensors.torch import load_file

    out = scratch / f"logits-{path.name}.safetensors"
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS_LOGITS, str(path), kind, str(out)],
        env=_launch_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return load_file(out)["logits"]


def logits_here(path_or_model, kind: str) -> torch.Tensor:
    if kind == "adapter":
        from peft import AutoPeftModelForCausalLM as Auto
    else:
        from transformers import AutoModelForCausalLM as Auto
    model = Auto.from_pretrained(str(path_or_model), dtype=torch.float32).eval()
    with torch.no_grad():
        return model(torch.tensor([FIXED_INPUT_IDS])).logits


def assert_saved_model_reproduces(output_dir: Path, base_dir: str, kind: str, scratch: Path) -> None:
    """Fresh-process logits == logits here, and != the base model's (training changed something real)."""
    here = logits_here(output_dir, kind)
    fresh = logits_in_fresh_process(output_dir, kind, scratch)
    torch.testing.assert_close(fresh, here, rtol=0, atol=1e-5)
    base = logits_here(base_dir, "model")
    assert (here - base).abs().max() > 1e-4, "the saved weights give the base model's logits: training was lost"
    if kind == "adapter":
        from safetensors.torch import load_file

        lora_b = {name: tensor for name, tensor in load_file(output_dir / "adapter_model.safetensors").items() if "lora_B" in name}
        assert lora_b and all(tensor.abs().max() > 0 for tensor in lora_b.values()), "LoRA B is still zero"


def assert_same_adapter(first: Path, second: Path) -> None:
    from safetensors.torch import load_file

    a, b = load_file(first / "adapter_model.safetensors"), load_file(second / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].shape == b[name].shape, name
        # Not bitwise: ZeRO-2 and ZeRO-3 reduce gradients in different orders over gloo, and Adam turns the last-bit
        # differences of near-zero gradients into ±lr updates. An adapter saved without gathering its shards (empty or
        # zero tensors) or from the wrong layer is far outside 5%.
        relative = (a[name] - b[name]).norm() / b[name].norm().clamp(min=1e-12)
        assert relative < 0.05, f"{name}: adapters differ by {relative:.1%}"


def check_adapters(runs: dict[str, Path], config: str, base_dir: str, scratch: Path) -> None:
    """ZeRO-2's adapter reloads in a fresh process with the same logits, and differs from the base; ZeRO-3's equals it.

    Same seed, data and global batch: sharding must not change the result, and ZeRO-3 must gather the adapter whole on
    save, so it too reproduces the trained model (one fresh-process reload per pair keeps the file fast).
    """
    if config == "cpu_deepspeed_zero2.yaml":
        assert_saved_model_reproduces(runs[config], base_dir, "adapter", scratch)
    else:
        assert_same_adapter(runs[config], runs["cpu_deepspeed_zero2.yaml"])


# --- fixtures ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deepspeed_available():
    pytest.importorskip("deepspeed")
    if not (shutil.which("ninja") or Path(sys.executable).with_name("ninja").exists()) or not shutil.which(
        os.environ.get("CXX", "c++")
    ):
        pytest.skip("DeepSpeed on CPU builds its communication op on first use: needs a C++ compiler and ninja")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("distributed-data")
    (folder / "mcq.csv").write_text(MCQ_CSV, encoding="utf-8")
    (folder / "retain.jsonl").write_text("".join(json.dumps(row) + "\n" for row in RETAIN_ROWS), encoding="utf-8")
    (folder / "target.txt").write_text(TARGET_TEXT, encoding="utf-8")
    (folder / "anchors.json").write_text(json.dumps(ANCHORS), encoding="utf-8")
    return folder


def unlearn_flags(tiny_model_dir: str, data_dir: Path, output_dir: Path, use_peft: bool) -> list[str]:
    return [
        "--model_name_or_path", tiny_model_dir, "--dataset", str(data_dir / "mcq.csv"),
        "--retain_dataset", str(data_dir / "retain.jsonl"), "--eval_fraction", "0.0", "--max_length", "64",
        "--output_dir", str(output_dir), "--use_peft", str(use_peft).lower(), "--lora_target_modules", "all-linear",
        *COMMON_TRAINING_FLAGS,
    ]


@pytest.fixture(scope="module")
def gradient_ascent_lora_runs(tiny_model_dir, data_dir, tmp_path_factory, deepspeed_available) -> dict[str, Path]:
    """LoRA gradient ascent under ZeRO-2 (module form) and ZeRO-3 (console-script form), same seed and data."""
    root = tmp_path_factory.mktemp("ga-lora")
    runs = {}
    for config, program in (
        ("cpu_deepspeed_zero2.yaml", module("unlearn")),
        ("cpu_deepspeed_zero3.yaml", console_script("unlearn")),
    ):
        output_dir = root / config.removesuffix(".yaml")
        accelerate_launch(config, program, unlearn_flags(tiny_model_dir, data_dir, output_dir, True), root / f"{config}.log")
        runs[config] = output_dir
    return runs


# --- gradient ascent -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", ["cpu_deepspeed_zero2.yaml", "cpu_deepspeed_zero3.yaml"])
def test_gradient_ascent_lora_under_deepspeed(gradient_ascent_lora_runs, tiny_model_dir, config, tmp_path):
    output_dir = gradient_ascent_lora_runs[config]
    steps = logged_terms(output_dir, ("forget_nll", "unknown_nll", "retain_kl"))
    assert len(steps) == 2
    assert_distributed_as(output_dir, config)
    check_adapters(gradient_ascent_lora_runs, config, tiny_model_dir, tmp_path)


def test_gradient_ascent_lora_under_ddp(tiny_model_dir, data_dir, tmp_path, gradient_ascent_lora_runs):
    output_dir = tmp_path / "ddp"
    accelerate_launch("cpu_ddp.yaml", module("unlearn"), unlearn_flags(tiny_model_dir, data_dir, output_dir, True), tmp_path / "log")
    assert len(logged_terms(output_dir, ("forget_nll", "unknown_nll", "retain_kl"))) == 2
    assert_distributed_as(output_dir, "cpu_ddp.yaml")
    # Same global batch as the DeepSpeed runs, so the same adapter (their reload is checked above).
    assert_same_adapter(output_dir, gradient_ascent_lora_runs["cpu_deepspeed_zero2.yaml"])


def test_gradient_ascent_full_fine_tuning_under_zero3(tiny_model_dir, data_dir, tmp_path, deepspeed_available):
    """No LoRA: the reference is a frozen copy, sharded by prepare_deepspeed; the KL to it must be finite and move."""
    output_dir = tmp_path / "full"
    accelerate_launch(
        "cpu_deepspeed_zero3.yaml", module("unlearn"), unlearn_flags(tiny_model_dir, data_dir, output_dir, False), tmp_path / "log"
    )
    steps = logged_terms(output_dir, ("forget_nll", "unknown_nll", "retain_kl"))
    assert steps[0]["retain_kl"] == pytest.approx(0.0, abs=1e-6)  # step 1: the policy still equals its reference
    assert steps[-1]["retain_kl"] > 0  # step 2: one update later, the sharded reference tells them apart
    assert_distributed_as(output_dir, "cpu_deepspeed_zero3.yaml")
    assert (output_dir / "model.safetensors").is_file() and not (output_dir / "adapter_config.json").exists()
    assert_saved_model_reproduces(output_dir, tiny_model_dir, "model", tmp_path)


# --- the other methods: the same base trainer under DeepSpeed ----------------------------------------------------


def test_npo_lora_under_zero3(tiny_model_dir, data_dir, tmp_path, deepspeed_available):
    """NPO reads the reference (the adapter disabled) on the forget rows, sharded by ZeRO-3 with the policy."""
    output_dir = tmp_path / "npo"
    accelerate_launch("cpu_deepspeed_zero3.yaml", module("unlearn"),
                      [*unlearn_flags(tiny_model_dir, data_dir, output_dir, True), "--method", "npo"], tmp_path / "log")
    steps = logged_terms(output_dir, ("forget_nll", "retain_nll", "forget_log_ratio"))
    assert len(steps) == 2
    assert steps[0]["forget_log_ratio"] == pytest.approx(0.0, abs=1e-5)  # step 1: a zero adapter, policy = reference
    assert_distributed_as(output_dir, "cpu_deepspeed_zero3.yaml")


def test_idk_dpo_full_fine_tuning_under_zero3(tiny_model_dir, data_dir, tmp_path, deepspeed_available):
    """IdkDPO without LoRA: a frozen reference copy sharded by prepare_deepspeed, read on the forget and unknown rows."""
    output_dir = tmp_path / "idk_dpo"
    accelerate_launch("cpu_deepspeed_zero3.yaml", module("unlearn"),
                      [*unlearn_flags(tiny_model_dir, data_dir, output_dir, False), "--method", "idk_dpo"],
                      tmp_path / "log")  # fmt: skip
    steps = logged_terms(output_dir, ("forget_nll", "retain_nll", "preference_margin"))
    assert steps[0]["preference_margin"] == pytest.approx(0.0, abs=1e-5)  # step 1: the policy equals its reference
    assert steps[-1]["preference_margin"] != pytest.approx(0.0, abs=1e-7)  # one update later they differ
    assert_distributed_as(output_dir, "cpu_deepspeed_zero3.yaml")
    assert (output_dir / "model.safetensors").is_file()


# --- a NaN on one process -------------------------------------------------------------------------------------------

POISON_TIMEOUT_S = 300
# Runs `geounlearn-trl unlearn` with a NaN forget NLL on one process at one step, and writes, per process, the step it
# stopped at, its stop reason and a digest of its weights and optimizer state after each step.
_POISONED_UNLEARN = textwrap.dedent(
    """
    import hashlib, json, os, sys
    from transformers import TrainerCallback
    from geounlearn_trl.cli import unlearn
    from geounlearn_trl.methods import gradient_ascent as ga

    RANK = int(os.environ.get("RANK", "0"))
    POISON_RANK, POISON_STEP = int(os.environ["POISON_RANK"]), int(os.environ["POISON_STEP"])
    REPORT_DIR = os.environ["POISON_REPORT_DIR"]

    def digest(trainer):
        sha = hashlib.sha256()
        def add(tensor):
            sha.update(tensor.detach().cpu().float().contiguous().numpy().tobytes())
        for name, parameter in trainer.model.named_parameters():
            if parameter.requires_grad:
                add(parameter)
        inner = trainer.optimizer
        while getattr(inner, "optimizer", None) is not None:  # DeepSpeed: the ZeRO partitions and their AdamW state
            inner = inner.optimizer
        for group in inner.param_groups:
            for parameter in group["params"]:
                add(parameter)
                for key, value in sorted(inner.state.get(parameter, {}).items()):
                    add(value) if hasattr(value, "numpy") else sha.update(repr(value).encode())
        return sha.hexdigest()

    class Report(TrainerCallback):
        def __init__(self, trainer):
            self.trainer, self.digests = trainer, {}
        def on_train_begin(self, args, state, control, **kwargs):
            self.digests[0] = digest(self.trainer)
        def on_step_end(self, args, state, control, **kwargs):
            self.digests[state.global_step] = digest(self.trainer)
        def on_train_end(self, args, state, control, **kwargs):
            report = {"global_step": state.global_step, "stop_reason": self.trainer.stop_reason, "digests": self.digests}
            with open(os.path.join(REPORT_DIR, f"rank{RANK}.json"), "w") as handle:
                json.dump(report, handle)

    batch_views, init = ga.GradientAscentTrainer.unlearning_batch, ga.GradientAscentTrainer.__init__

    def poisoned_batch_views(self, model, inputs):
        batch = batch_views(self, model, inputs)
        if self.model.training and RANK == POISON_RANK and self.state.global_step + 1 == POISON_STEP:
            batch.forget.policy = batch.forget.policy * float("nan")
        return batch

    def reporting_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.add_callback(Report(self))

    ga.GradientAscentTrainer.unlearning_batch = poisoned_batch_views
    ga.GradientAscentTrainer.__init__ = reporting_init
    sys.exit(unlearn.main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("config", ["cpu_ddp.yaml", "cpu_deepspeed_zero2.yaml"])
def test_nan_on_one_process_stops_every_process_at_that_step(tiny_model_dir, data_dir, tmp_path, config, request):
    """A NaN on process 0 at step 2, none on process 1: both stop at step 2 and the run exits (before the fix,
    process 0 stopped and process 1 waited for it forever); step 2 is applied on neither (not process 1's gradients,
    not AdamW's momentum); the logs and training_log.json name step 2."""
    if config != "cpu_ddp.yaml":
        request.getfixturevalue("deepspeed_available")
    script, reports, output_dir = tmp_path / "poisoned_unlearn.py", tmp_path / "reports", tmp_path / "out"
    script.write_text(_POISONED_UNLEARN, encoding="utf-8")
    reports.mkdir()
    result = accelerate_launch(
        config, [str(script)],
        [*unlearn_flags(tiny_model_dir, data_dir, output_dir, True), "--max_steps", "5"],
        tmp_path / "log", env={"POISON_RANK": "0", "POISON_STEP": "2", "POISON_REPORT_DIR": str(reports)},
        timeout=POISON_TIMEOUT_S,
    )  # fmt: skip
    assert "Stopping GradientAscent: non-finite loss at step 2 on process 0" in result.stderr
    for rank in (0, 1):
        report = json.loads((reports / f"rank{rank}.json").read_text(encoding="utf-8"))
        assert report["global_step"] == 2, (rank, report)
        assert "non-finite loss at step 2 on process 0;" in report["stop_reason"], (rank, report)
        digests = report["digests"]
        assert digests["1"] != digests["0"], f"process {rank}: step 1 changed nothing"
        assert digests["2"] == digests["1"], f"process {rank}: the stopped step 2 changed weights or optimizer state"
    summary = json.loads((output_dir / "training_log.json").read_text(encoding="utf-8"))
    assert "non-finite loss at step 2 on process 0" in summary["stop_reason"]
    assert [entry["step"] for entry in summary["log_history"] if "forget_nll" in entry] == [1, 2]


# --- selective relabel ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def relabeled_dataset(tiny_model_dir, data_dir, tmp_path_factory, deepspeed_available) -> Path:
    """reinforce under ZeRO-3, then relabel launched with the same config, and relabel in this process to compare."""
    pytest.importorskip("geounlearn_trl.methods.selective_relabel")
    pytest.importorskip("geounlearn_trl.cli.relabel")
    root = tmp_path_factory.mktemp("selective")
    # 102 tokens in blocks of 24: 5 blocks, so relabel's shares on 2 processes are 3 and 2 + 1 padding row.
    target = ["--target_text", str(data_dir / "target.txt"), "--block_size", "24"]
    reinforced = root / "reinforced"
    accelerate_launch(
        "cpu_deepspeed_zero3.yaml", module("reinforce"),
        [*target, "--model_name_or_path", tiny_model_dir, "--output_dir", str(reinforced), *COMMON_TRAINING_FLAGS],
        root / "reinforce.log",
    )
    relabel_flags = [*target, "--anchors", str(data_dir / "anchors.json"), "--reinforced_adapter", str(reinforced)]
    accelerate_launch(
        "cpu_deepspeed_zero3.yaml", module("relabel"), [*relabel_flags, "--output_dir", str(root / "relabeled")],
        root / "relabel.log", trains=False,
    )
    from geounlearn_trl.cli import relabel

    assert relabel.main([*relabel_flags, "--output_dir", str(root / "relabeled-single")]) == 0
    return root


def test_reinforce_under_zero3(relabeled_dataset, tiny_model_dir):
    reinforced = relabeled_dataset / "reinforced"
    assert_distributed_as(reinforced, "cpu_deepspeed_zero3.yaml")
    # The reinforced adapter moved away from the base (relabel's labels depend on it); reload is checked for selective.
    assert (logits_here(reinforced, "adapter") - logits_here(tiny_model_dir, "model")).abs().max() > 1e-4


def test_relabel_sharded_under_zero3_matches_one_process(relabeled_dataset):
    """`accelerate launch` of relabel with the ZeRO-3 config shards the model and gives the one-process dataset.

    The tiny target makes 5 blocks for 2 processes: the shares are padded to equal length (the processes step in
    lockstep) and the padding row is dropped on gathering.
    """
    import datasets

    log = (relabeled_dataset / "relabel.log").read_text(encoding="utf-8")
    assert "ZeRO-3 sharded over 2 processes" in log
    launched = datasets.load_from_disk(str(relabeled_dataset / "relabeled"))
    single = datasets.load_from_disk(str(relabeled_dataset / "relabeled-single"))
    assert len(launched) == len(single) == 5
    assert launched.column_names == single.column_names
    for column in ("input_ids", "labels", "block"):
        assert launched[column] == single[column]


@pytest.fixture(scope="module")
def selective_runs(relabeled_dataset, tiny_model_dir) -> dict[str, Path]:
    runs = {}
    for config in ("cpu_deepspeed_zero2.yaml", "cpu_deepspeed_zero3.yaml"):
        output_dir = relabeled_dataset / f"selective-{config.removesuffix('.yaml')}"
        accelerate_launch(
            config, module("selective"),
            ["--model_name_or_path", tiny_model_dir, "--relabeled_dataset", str(relabeled_dataset / "relabeled"),
             "--output_dir", str(output_dir), *COMMON_TRAINING_FLAGS,
             # a checkpoint keeps the log history (selective writes no training_log.json) and exercises ZeRO saving
             "--save_strategy", "steps", "--save_steps", "2"],
            relabeled_dataset / f"{config}.log",
        )
        runs[config] = output_dir
    return runs


@pytest.mark.parametrize("config", ["cpu_deepspeed_zero2.yaml", "cpu_deepspeed_zero3.yaml"])
def test_selective_under_deepspeed(selective_runs, tiny_model_dir, config, tmp_path):
    output_dir = selective_runs[config]
    steps = logged_terms(output_dir, ("generic_nll", "generic_top1_accuracy"))
    assert len(steps) == 2
    assert_distributed_as(output_dir, config)
    check_adapters(selective_runs, config, tiny_model_dir, tmp_path)
