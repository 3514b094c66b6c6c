"""Benchmark: GradientAscentTrainer vs plain SFTTrainer, and the memory cost of the reference model.

On the embedded SmolLM2-135M-Instruct with LoRA, measured in one run:

1. step time: one GradientAscentTrainer step over B questions (3·B sequences: forget, unknown, retain, plus the
   reference forward on the B retain rows) vs one plain SFTTrainer step over the same 3·B sequences. Target ≤ 1.5×.
2. peak memory (peak resident set, VmHWM, each configuration in a fresh subprocess): gradient ascent with no reference term
   (kl_weight 0), with the adapter-disabled reference, and with a frozen reference copy. Target: the adapter-disabled
   reference costs < 10% extra.

    python bench/bench_gradient_ascent.py [--steps 6] [--batch_size 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def build_data(tokenizer, batch_size: int, steps: int):
    import datasets

    from geounlearn_trl.mcq import load_mcq
    from geounlearn_trl.unlearn_data import build_gradient_ascent_dataset, load_retain, sample_mcq_path, sample_retain_path

    rows = batch_size * (steps + 2)
    mcq = load_mcq(sample_mcq_path("en"))
    mcq = datasets.concatenate_datasets([mcq] * (rows // len(mcq) + 1)).select(range(rows))
    return build_gradient_ascent_dataset(mcq, load_retain(sample_retain_path("en")), tokenizer, "en", 0, True, 128)


class StepTimer:
    def __init__(self):
        from transformers import TrainerCallback

        timer = self
        self.durations: list[float] = []

        class Callback(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                timer.start = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                timer.durations.append(time.perf_counter() - timer.start)

        self.callback = Callback()

    def median_after_warmup(self) -> float:
        return statistics.median(self.durations[1:])


def lora():
    from peft import LoraConfig

    return LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")


def time_steps(batch_size: int, steps: int) -> dict:
    """Median step time of both trainers over the same tokens, interleaved in one process."""
    import datasets
    from trl import ModelConfig, SFTConfig, SFTTrainer

    from geounlearn_trl.models import load_model_and_tokenizer
    from geounlearn_trl.trainers.gradient_ascent import GradientAscentConfig, GradientAscentTrainer

    model_args = ModelConfig(model_name_or_path="smollm2-135m-instruct")
    model, tokenizer = load_model_and_tokenizer(model_args)
    paired = build_data(tokenizer, batch_size, steps)
    # The SFT run sees exactly the same sequences, one per row, 3·B rows per step.
    flat = datasets.Dataset.from_list(
        [{"input_ids": row[f"{g}_input_ids"]} for row in paired for g in ("forget", "unknown", "retain")]
    )
    common = dict(max_steps=steps, report_to="none", use_cpu=True, save_strategy="no", logging_steps=10_000,
                  learning_rate=1e-5, bf16=False, gradient_checkpointing=False, disable_tqdm=True)
    ga_timer, sft_timer = StepTimer(), StepTimer()
    ga = GradientAscentTrainer(
        model=model, args=GradientAscentConfig(output_dir="/tmp/bench-ga", per_device_train_batch_size=batch_size, **common),
        train_dataset=paired, processing_class=tokenizer, peft_config=lora(), callbacks=[ga_timer.callback],
    )
    ga.train()
    base = ga.model.unload()  # drop the adapter: the SFT run starts from the same base weights with a fresh one
    sft = SFTTrainer(
        model=base, args=SFTConfig(output_dir="/tmp/bench-sft", per_device_train_batch_size=3 * batch_size,
                                   max_length=None, **common),
        train_dataset=flat, processing_class=tokenizer, peft_config=lora(), callbacks=[sft_timer.callback],
    )
    sft.train()
    tokens = sum(len(r["input_ids"]) for r in flat.select(range(3 * batch_size)))
    return {"ga_step_s": ga_timer.median_after_warmup(), "sft_step_s": sft_timer.median_after_warmup(),
            "tokens_per_step": tokens}


def peak_memory_child(mode: str, batch_size: int, steps: int) -> None:
    """Run a few GA steps in this (fresh) process and print its peak RSS in MiB."""
    from trl import ModelConfig

    from geounlearn_trl.models import load_model, load_model_and_tokenizer
    from geounlearn_trl.trainers.gradient_ascent import GradientAscentConfig, GradientAscentTrainer

    model_args = ModelConfig(model_name_or_path="smollm2-135m-instruct")
    model, tokenizer = load_model_and_tokenizer(model_args)
    ref_model = load_model(model_args) if mode == "frozen_copy" else None
    args = GradientAscentConfig(
        output_dir=f"/tmp/bench-mem-{mode}", per_device_train_batch_size=batch_size, max_steps=steps, report_to="none",
        use_cpu=True, save_strategy="no", kl_weight=0.0 if mode == "no_reference" else 1.0, disable_tqdm=True,
    )
    GradientAscentTrainer(model=model, ref_model=ref_model, args=args, train_dataset=build_data(tokenizer, batch_size, steps),
                          processing_class=tokenizer, peft_config=lora()).train()
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child would report its parent's peak.
    with open("/proc/self/status", encoding="ascii") as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"mode": mode, "peak_rss_mib": peak_kib / 1024}))


def peak_memory(mode: str, batch_size: int, steps: int) -> float:
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--batch_size", str(batch_size), "--steps", str(steps)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])["peak_rss_mib"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--child", choices=["no_reference", "adapter_disabled", "frozen_copy"])
    args = parser.parse_args()
    if args.child:
        peak_memory_child(args.child, args.batch_size, 2)
        return
    memory = {mode: peak_memory(mode, args.batch_size, 2) for mode in ("no_reference", "adapter_disabled", "frozen_copy")}
    timing = time_steps(args.batch_size, args.steps)
    ratio = timing["ga_step_s"] / timing["sft_step_s"]
    print(f"embedded SmolLM2-135M, LoRA r=16, CPU, {args.batch_size} questions/step "
          f"({timing['tokens_per_step']} tokens in {3 * args.batch_size} sequences), median of {args.steps - 1} steps")
    print(f"  GradientAscentTrainer step: {timing['ga_step_s']:.2f} s   SFTTrainer step (same tokens): "
          f"{timing['sft_step_s']:.2f} s   ratio {ratio:.2f}x (target <= 1.5x)")
    base = memory["no_reference"]
    for mode in ("adapter_disabled", "frozen_copy"):
        extra = memory[mode] / base - 1
        print(f"  peak RSS {mode:>16}: {memory[mode]:.0f} MiB  (+{extra:.1%} vs no reference term, {base:.0f} MiB)")
    print(f"  adapter-disabled reference costs {memory['adapter_disabled'] / base - 1:.1%} extra (target < 10%)")


if __name__ == "__main__":
    main()
