"""Kill -9 trials (issue 11): the real CLI in subprocesses, SIGKILLed at random moments, then started again.

On a tiny random Llama saved to a temporary folder (the embedded SmolLM2 tokenizer, 2 layers of width 32):

* ``respond``: each trial kills a run 1-3 times (at a random time, or once the JSONL has reached a random size), then
  runs the same command to the end; the ``.jsonl`` and the original-shape ``.json`` must equal an uninterrupted run's
  byte for byte, every key once. Trials alternate ``--mode loglik`` and ``--mode generate``.
* ``unlearn --save_steps``: each trial kills a LoRA run 1-3 times (at a random time, or right after a random
  ``checkpoint-N`` folder appears: often in the middle of writing it), then runs the same command again, which resumes
  by itself from the newest complete checkpoint (every other restart names it with ``--resume_from_checkpoint``);
  the final adapter must equal an uninterrupted run's tensor by tensor (``--atol``). The run covers two epochs.
* ``score``, ``report``, ``relabel``, ``demo``: each trial kills a run over the outputs of an earlier, different run
  (other bootstrap seed, alpha, learning rate); after every kill, each output file under its final name must be whole:
  byte-identical to the earlier run's or to the finished run's (``score``, ``report``), or complete by its format
  (JSON/JSONL/YAML parse, safetensors sizes, PNG ends in IEND, a saved dataset loads; Markdown is not checked) for
  the others.

    python bench/kill_trials.py --trials 20                     # every command
    python bench/kill_trials.py --trials 20 --only respond,unlearn --seed 1

Prints one line per trial and a summary (also as JSON with ``--json``); exits 1 if any trial failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
SAMPLE = REPO / "geounlearn_trl" / "data" / "sample"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
       "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_VERBOSITY": "error",
       "HF_TOKEN": "", "HF_HUB_TOKEN": ""}
COMMANDS = ("respond", "unlearn", "score", "report", "relabel", "demo")


def cli(command: str, *args: str) -> list[str]:
    return [PYTHON, "-m", "geounlearn_trl.cli", command, *map(str, args)]


def run_to_end(command: list[str], log: Path) -> float:
    started = time.monotonic()
    with open(log, "ab") as handle:
        result = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=ENV, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[3:5])} failed ({result.returncode}); see {log}:\n"
                           + log.read_text(errors="replace")[-3000:])
    return time.monotonic() - started


def run_and_kill(command: list[str], trigger, log: Path, after=None) -> dict:
    """Start ``command``; SIGKILL its process group once ``trigger(elapsed)`` is true. ``after()`` (if given) runs
    right after each kill, before anything else touches the files."""
    started = time.monotonic()
    with open(log, "ab") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=ENV, cwd=REPO,
                                   start_new_session=True)
        while True:
            if process.poll() is not None:
                return {"killed": False, "returncode": process.returncode, "at": time.monotonic() - started}
            if trigger(time.monotonic() - started):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                event = {"killed": True, "at": round(time.monotonic() - started, 3)}
                if after is not None:
                    event.update(after())
                return event
            time.sleep(0.002)


def at_time(seconds: float):
    return lambda elapsed: elapsed >= seconds


def when(predicate, delay: float):
    """True ``delay`` seconds after ``predicate()`` first holds."""
    seen = {}

    def trigger(elapsed):
        if "at" not in seen and predicate():
            seen["at"] = elapsed
        return "at" in seen and elapsed >= seen["at"] + delay

    return trigger


def staging_seen(folder: Path) -> bool:
    """A result of ``folder`` is being written: a hidden staging name inside it, or beside it (relabel's dataset)."""
    try:
        return (folder.is_dir() and any(name.startswith(".") for name in os.listdir(folder))) or any(
            name.startswith(f".{folder.name}.") for name in os.listdir(folder.parent))
    except OSError:
        return False


def size_at_least(path: Path, size: int):
    return lambda: path.is_file() and path.stat().st_size >= size


# --- the tiny model ------------------------------------------------------------------------------------------------


def build_tiny_model(folder: Path) -> str:
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "from conftest import build_tiny_llama\n"
        "from geounlearn_trl.models import load_tokenizer, resolve_model_path\n"
        "tokenizer = load_tokenizer(resolve_model_path('smollm2-135m-instruct'))\n"
        "build_tiny_llama(tokenizer).save_pretrained(%r, safe_serialization=True)\n"
        "tokenizer.save_pretrained(%r)\n"
    ) % (str(REPO / "tests"), str(folder), str(folder))
    subprocess.run([PYTHON, "-c", code], check=True, env=ENV, cwd=REPO, capture_output=True)
    return str(folder)


# --- checks --------------------------------------------------------------------------------------------------------


def final_files(folder: Path) -> list[Path]:
    """Files under their final names: hidden staging files (``.name.*.partial``, ``.saving/``) are not results."""
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        found.append(path)
    return found


def whole_by_format(path: Path) -> str | None:
    """Why ``path`` is not a complete file of its kind, or None."""
    data = path.read_bytes()
    try:
        if path.suffix == ".json":
            json.loads(data)
        elif path.suffix == ".jsonl":
            if data and not data.endswith(b"\n"):
                return "JSONL without its last newline"
            for line in data.splitlines():
                if line.strip():
                    json.loads(line)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            yaml.safe_load(data)
        elif path.suffix == ".png":
            if not data.endswith(b"IEND\xaeB`\x82"):
                return "PNG without its IEND chunk"
        elif path.suffix == ".safetensors":
            from geounlearn_trl.models import _check_safetensors

            _check_safetensors(path)
    except Exception as error:  # noqa: BLE001 - any failure to parse is the finding
        return f"{type(error).__name__}: {str(error)[:120]}"
    return None


def dataset_folder_loads(folder: Path) -> str | None:
    if not folder.exists():
        return None
    try:
        import datasets

        datasets.load_from_disk(str(folder))
    except Exception as error:  # noqa: BLE001
        return f"load_from_disk: {type(error).__name__}: {str(error)[:120]}"
    return None


def same_or_whole(folder: Path, versions: list[dict[str, bytes]]) -> list[str]:
    """Each final file equals its bytes in one of ``versions`` (earlier run, finished run), or is absent."""
    problems = []
    current = snapshot(folder)
    for path in final_files(folder):
        name = str(path.relative_to(folder))
        data = current[name]
        if not any(version.get(name) == data for version in versions):
            problems.append(f"{name}: neither the earlier nor the finished run's bytes ({whole_by_format(path)})")
    return problems


def snapshot(folder: Path) -> dict[str, bytes]:
    """The final files' bytes, the folder's own path (which score records) written as ``<DIR>``."""
    return {str(path.relative_to(folder)): path.read_bytes().replace(str(folder).encode(), b"<DIR>")
            for path in final_files(folder)}


# --- respond -------------------------------------------------------------------------------------------------------


def respond_command(model: str, output: Path, mode: str) -> list[str]:
    return cli("respond", "--model_dir", model, "--dataset", SAMPLE / "sample_mcq_hi.csv", "--language", "hi",
               "--control_dataset", SAMPLE / "control_mcq_hi.csv", "--max_rows", "8", "--batch_size", "2",
               "--split", "all", "--mode", mode, "--max_new_tokens", "4", "--output_dir", output, "--filename", "run")


def respond_trials(args, work: Path, model: str, rng: random.Random) -> list[dict]:
    references = {}
    for mode in ("loglik", "generate"):
        folder = work / f"respond-reference-{mode}"
        seconds = run_to_end(respond_command(model, folder, mode), work / "respond-reference.log")
        references[mode] = {"seconds": seconds, "jsonl": (folder / "run.jsonl").read_bytes(),
                            "json": (folder / "run.json").read_bytes()}
        records = references[mode]["jsonl"].count(b"\n")
        print(f"  respond reference ({mode}): {seconds:.1f} s, {len(references[mode]['jsonl'])} bytes, {records} records",
              flush=True)
    results = []
    for trial in range(args.trials):
        mode = ("loglik", "generate")[trial % 2]
        reference = references[mode]
        folder = work / f"respond-{trial:02d}"
        jsonl = folder / "run.jsonl"
        events = []
        for _ in range(rng.randint(1, 3)):
            written = jsonl.stat().st_size if jsonl.is_file() else 0
            if written >= len(reference["jsonl"]) - 1:
                break  # a run finished: nothing left to interrupt
            if rng.random() < 0.5:
                trigger, how = at_time(rng.uniform(0.2, 0.9) * reference["seconds"]), "time"
            else:  # once the JSONL grows to a random size beyond what is already there
                size = rng.randint(written + 1, len(reference["jsonl"]) - 1)
                trigger, how = when(size_at_least(jsonl, size), rng.uniform(0, 0.05)), f"jsonl>={size}B"

            def state():
                data = jsonl.read_bytes() if jsonl.is_file() else b""
                return {"records": data.count(b"\n"), "torn_line": bool(data) and not data.endswith(b"\n")}

            event = run_and_kill(respond_command(model, folder, mode), trigger, work / f"respond-{trial:02d}.log", state)
            events.append({"trigger": how, **event})
        run_to_end(respond_command(model, folder, mode), work / f"respond-{trial:02d}.log")
        data = jsonl.read_bytes()
        keys = [json.loads(line)["key"] for line in data.splitlines() if line.strip()]
        reference_keys = [json.loads(line)["key"] for line in reference["jsonl"].splitlines() if line.strip()]
        ok = (data == reference["jsonl"] and (folder / "run.json").read_bytes() == reference["json"]
              and keys == reference_keys and len(set(keys)) == len(keys))
        results.append({"command": "respond", "trial": trial, "mode": mode, "kills": sum(e["killed"] for e in events),
                        "events": events, "ok": ok, "records": len(keys),
                        "lost": len(set(reference_keys) - set(keys)), "twice": len(keys) - len(set(keys))})
        print(f"  respond {trial:02d} [{mode}]: {'OK' if ok else 'FAIL'}  kills: "
              + ", ".join(f"{e['trigger']}@{e['at']:.1f}s→{e.get('records', '-')} rows"
                          + (" (torn line)" if e.get("torn_line") else "") if e["killed"] else "finished first"
                          for e in events), flush=True)
    return results


# --- unlearn -------------------------------------------------------------------------------------------------------

UNLEARN_STEPS, SAVE_STEPS = 8, 2


def unlearn_command(model: str, output: Path, *extra: str) -> list[str]:
    # 8 training questions, batch 2: 4 steps per epoch, 8 steps = 2 epochs; LoRA dropout on (RNG states restored).
    return cli("unlearn", "--model_name_or_path", model, "--use_peft", "--lora_target_modules", "all-linear",
               "--lora_dropout", "0.1", "--language", "en", "--max_train_samples", "8", "--max_steps", UNLEARN_STEPS,
               "--per_device_train_batch_size", "2", "--learning_rate", "1e-3", "--logging_steps", "1",
               "--report_to", "none", "--use_cpu", "--save_strategy", "steps", "--save_steps", SAVE_STEPS,
               "--seed", "0", "--output_dir", output, *extra)


def adapter_difference(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    first, second = load_file(str(a / "adapter_model.safetensors")), load_file(str(b / "adapter_model.safetensors"))
    if first.keys() != second.keys():
        return float("inf")
    return max(float((first[k].double() - second[k].double()).abs().max()) for k in first)


def unlearn_trials(args, work: Path, model: str, rng: random.Random) -> list[dict]:
    from geounlearn_trl.methods.checkpoints import last_complete_checkpoint

    reference_dir = work / "unlearn-reference"
    appeared: dict[int, float] = {}

    def watch(elapsed):  # never kills: records when each checkpoint folder appears
        for step in range(SAVE_STEPS, UNLEARN_STEPS + 1, SAVE_STEPS):
            if step not in appeared and (reference_dir / f"checkpoint-{step}").is_dir():
                appeared[step] = elapsed
        return False

    event = run_and_kill(unlearn_command(model, reference_dir), watch, work / "unlearn-reference.log")
    if event["returncode"] != 0:
        raise RuntimeError(f"the reference unlearn run failed; see {work / 'unlearn-reference.log'}")
    first, last = appeared[SAVE_STEPS], appeared[UNLEARN_STEPS]
    per_step = (last - first) / (UNLEARN_STEPS - SAVE_STEPS)
    print(f"  unlearn reference: {event['at']:.1f} s, {UNLEARN_STEPS} steps (~{per_step:.2f} s each, first "
          f"checkpoint at {first:.1f} s), checkpoints every {SAVE_STEPS}", flush=True)
    results = []
    for trial in range(args.trials):
        folder = work / f"unlearn-{trial:02d}"
        log = work / f"unlearn-{trial:02d}.log"
        events, explicit = [], False
        for kill in range(rng.randint(1, 3)):
            resume = last_complete_checkpoint(folder) if folder.is_dir() else None
            done = int(Path(resume).name.split("-")[1]) if resume else 0
            if done >= UNLEARN_STEPS:
                break  # nothing left to interrupt
            extra = ("--resume_from_checkpoint", resume) if resume and kill % 2 == 1 else ()
            explicit = explicit or bool(extra)
            # A random step: after the start (startup, the first steps) or after a checkpoint this run writes, a
            # random delay of up to two steps: mid-save of that checkpoint, a step after it, or mid-save of the next.
            anchors = [0] + list(range(done + SAVE_STEPS, UNLEARN_STEPS, SAVE_STEPS))
            anchor = rng.choice(anchors)
            if anchor == 0:
                delay = rng.uniform(0.5, 1.0) * first if not done else rng.uniform(0.5, 1.0) * first + per_step
                trigger, how = at_time(delay), "time"
            else:
                delay = rng.uniform(0, 2 * per_step)
                trigger = when(lambda s=anchor: (folder / f"checkpoint-{s}").is_dir(), delay)
                how = f"checkpoint-{anchor}+{delay:.2f}s"
            event = run_and_kill(unlearn_command(model, folder, *extra), trigger, log,
                                 lambda: {"checkpoint": Path(last_complete_checkpoint(folder) or "none").name})
            events.append({"trigger": how, "explicit_resume": bool(extra), **event})
        before = last_complete_checkpoint(folder) if folder.is_dir() else None
        final_log = work / f"unlearn-{trial:02d}-final.log"
        run_to_end(unlearn_command(model, folder), final_log)
        text = final_log.read_text(errors="replace")
        resumed = before is None or f"Resuming from {before}" in text
        difference = adapter_difference(reference_dir, folder)
        leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
        log_ok = whole_by_format(folder / "training_log.json") is None
        ok = difference <= args.atol and resumed and not leftovers and log_ok
        results.append({"command": "unlearn", "trial": trial, "kills": sum(e["killed"] for e in events),
                        "events": events, "resumed_from": Path(before).name if before else None,
                        "explicit_resume": explicit, "max_abs_difference": difference, "ok": ok})
        print(f"  unlearn {trial:02d}: {'OK' if ok else 'FAIL'}  max |Δ| {difference:.2e}; kills: "
              + ", ".join(f"{e['trigger']}@{e['at']:.1f}s→{e.get('checkpoint')}" if e["killed"] else "finished first"
                          for e in events)
              + f"; final run resumed from {Path(before).name if before else '(nothing: started over)'}", flush=True)
    return results


# --- score, report, relabel, demo: no half-written file -------------------------------------------------------------


def write_responses(work: Path, model: str) -> Path:
    folder = work / "responses"
    if not (folder / "run.jsonl").is_file():
        run_to_end(respond_command(model, folder, "loglik"), work / "responses.log")
    return folder / "run.jsonl"


def score_command(responses: Path, output: Path, seed: int) -> list[str]:
    return cli("score", "--language", "hi", "--input_file", responses, "--output_dir", output, "--bootstrap", "200",
               "--seed", seed)


def report_command(summary: Path, output: Path, title: str) -> list[str]:
    return cli("report", "--summaries", summary, "--output_dir", output, "--title", title)


def no_half_file_trials(args, work: Path, model: str, rng: random.Random, command: str) -> list[dict]:
    """Runs over an earlier, different run's outputs, killed at random times; after each kill every final file must
    be whole. ``score``/``report`` are deterministic: each file must be the earlier or the finished run's bytes."""
    responses = write_responses(work, model)
    scored = work / "scored-for-report"
    if command == "report" and not (scored / "summary.json").is_file():
        run_to_end(score_command(responses, scored, 0), work / "score.log")
    reinforced = work / "reinforced"
    if command == "relabel" and not (reinforced / "adapter_model.safetensors").is_file():
        (work / "target.txt").write_text("Harry walked to Hogwarts with Ron. " * 30, encoding="utf-8")
        (work / "anchors.json").write_text(json.dumps({"Harry": ["Jon"], "Hogwarts": ["the school"], "Ron": ["Tom"]}),
                                           encoding="utf-8")
        run_to_end(cli("reinforce", "--model_name_or_path", model, "--target_text", work / "target.txt",
                       "--block_size", "32", "--output_dir", reinforced, "--max_steps", "2", "--lora_r", "4",
                       "--per_device_train_batch_size", "2", "--report_to", "none", "--save_strategy", "no"),
                   work / "reinforce.log")

    def build(output: Path, variant: int) -> list[str]:
        if command == "score":
            return score_command(responses, output, variant)
        if command == "report":
            return report_command(scored / "summary.json", output, f"variant {variant}")
        if command == "relabel":
            return cli("relabel", "--target_text", work / "target.txt", "--anchors", work / "anchors.json",
                       "--reinforced_adapter", reinforced, "--block_size", "32", "--alpha", 1 + variant,
                       "--output_dir", output, "--overwrite_output_dir")
        return cli("demo", "--model_name_or_path", model, "--use_peft", "--lora_target_modules", "all-linear",
                   "--max_steps", "2", "--max_eval_questions", "6", "--max_control_questions", "5",
                   "--max_retain_texts", "4", "--eval_languages", "en", "--bootstrap_resamples", "100",
                   "--learning_rate", f"{1e-3 * (1 + variant):g}", "--logging_steps", "1", "--report_to", "none",
                   "--use_cpu", "--save_strategy", "no", "--output_dir", output)

    deterministic = command in ("score", "report")
    reference_dir = work / f"{command}-reference"
    seconds = run_to_end(build(reference_dir, 1), work / f"{command}-reference.log")
    finished = snapshot(reference_dir)
    print(f"  {command} reference: {seconds:.1f} s, {len(finished)} files", flush=True)
    results = []
    for trial in range(args.trials if deterministic else args.heavy_trials):
        folder = work / f"{command}-{trial:02d}"
        log = work / f"{command}-{trial:02d}.log"
        run_to_end(build(folder, 0), log)  # the earlier run, whose outputs the killed run replaces
        earlier = snapshot(folder)
        problems, events = [], []
        for _ in range(rng.randint(1, 3)):
            # Half the kills at a random time, half the moment a staging file or folder shows up (a result being
            # written: hidden names in the output folder, or the hidden sibling folder relabel saves into).
            if rng.random() < 0.5:
                trigger, how = at_time(rng.uniform(0.3, 1.0) * seconds), "time"
            else:
                trigger, how = when(lambda: staging_seen(folder), rng.uniform(0, 0.02)), "while writing"
            event = {"trigger": how, **run_and_kill(build(folder, 1), trigger, log)}
            events.append(event)
            if deterministic:
                problems += same_or_whole(folder, [earlier, finished])
            else:
                problems += [f"{p.relative_to(folder)}: {why}" for p in final_files(folder)
                             if (why := whole_by_format(p))]
                if command == "relabel":
                    problems += [why for why in [dataset_folder_loads(folder)] if why]
        run_to_end(build(folder, 1), log)
        if deterministic and snapshot(folder) != finished:
            problems.append("the finished run's files differ from the reference run's")
        ok = not problems
        results.append({"command": command, "trial": trial, "kills": sum(e["killed"] for e in events),
                        "events": events, "ok": ok, "problems": problems[:5]})
        print(f"  {command} {trial:02d}: {'OK' if ok else 'FAIL ' + '; '.join(problems[:3])}  kills: "
              + ", ".join(f"{e['trigger']}@{e['at']:.1f}s" if e["killed"] else "finished first" for e in events),
              flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="Trials per command (respond, unlearn, score, report).")
    parser.add_argument("--heavy_trials", type=int, default=3, help="Trials of relabel and demo (slower).")
    parser.add_argument("--only", default=",".join(COMMANDS), help=f"Comma-separated among {', '.join(COMMANDS)}.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the kill moments.")
    parser.add_argument("--atol", type=float, default=1e-6, help="Tolerance of the adapter comparison.")
    parser.add_argument("--workdir", default=None, help="Where the runs go (default: a temporary folder, removed).")
    parser.add_argument("--json", default=None, help="Also write the results as JSON here.")
    args = parser.parse_args(argv)
    commands = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(commands) - set(COMMANDS))
    if unknown:
        parser.error(f"--only: unknown {unknown}")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="kill-trials-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"kill trials in {work} (seed {args.seed}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})", flush=True)
    model = build_tiny_model(work / "tiny-llama")
    results = []
    try:
        for command in commands:
            rng = random.Random(f"{args.seed}:{command}")
            print(f"{command}:", flush=True)
            if command == "respond":
                results += respond_trials(args, work, model, rng)
            elif command == "unlearn":
                results += unlearn_trials(args, work, model, rng)
            else:
                results += no_half_file_trials(args, work, model, rng, command)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    summary = {}
    for result in results:
        entry = summary.setdefault(result["command"], {"trials": 0, "ok": 0, "kills": 0})
        entry["trials"] += 1
        entry["ok"] += result["ok"]
        entry["kills"] += result["kills"]
    for result in results:
        writing = sum(e.get("killed", False) and e.get("trigger") == "while writing" for e in result["events"])
        if writing:
            entry = summary[result["command"]]
            entry["kills_while_writing"] = entry.get("kills_while_writing", 0) + writing
        if result["command"] == "respond":
            summary["respond"]["torn_lines_dropped"] = summary["respond"].get("torn_lines_dropped", 0) + sum(
                bool(e.get("torn_line")) for e in result["events"])
        if result["command"] == "unlearn":
            entry = summary["unlearn"]
            entry["max_abs_difference"] = max(entry.get("max_abs_difference", 0.0), result["max_abs_difference"])
            entry["explicit_resumes"] = entry.get("explicit_resumes", 0) + result["explicit_resume"]
            entry["started_over"] = entry.get("started_over", 0) + (result["resumed_from"] is None)
    elapsed = time.monotonic() - started
    print(f"\nsummary ({elapsed / 60:.1f} min, load {os.getloadavg()[0]:.2f}):")
    for command, entry in summary.items():
        print(f"  {command}: {entry['ok']}/{entry['trials']} trials OK, {entry['kills']} kills"
              + "".join(f", {key} {value:.2e}" if isinstance(value, float) else f", {key} {value}"
                        for key, value in entry.items() if key not in ("trials", "ok", "kills")))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "seconds": elapsed, "results": results},
                                              indent=2, default=str) + "\n", encoding="utf-8")
    return 0 if all(result["ok"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
