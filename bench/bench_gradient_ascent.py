"""Benchmark: a GradientAscentTrainer step vs a plain SFTTrainer step on the embedded Gemma 3 270M, LoRA, CPU.

Measured in one run, on the same tokens (``--batch_size`` questions: forget, unknown and retain sequences, 3·B rows;
the SFT step trains on exactly those 3·B sequences, one per row):

1. **step time**: the steps of both trainers interleaved in one process (GA, SFT, then SFT, GA, ...), each a full
   Trainer step (``training_step``: forward, loss, backward; gradient clipping; optimizer and scheduler step), with a
   matmul probe (fp32 GEMM, ``--gemm_size``³) between them; medians after the first (warm-up) round. Target: the GA
   step ≤ 1.35× the SFT step.
2. **FLOP efficiency** of the GA step: the FLOPs the loss needs, counted from the model's shapes and the batch's
   token positions (see :func:`gradient_ascent_flops`), over the step's time, divided by the GEMM throughput measured in
   the same run. Target ≥ 50%.
3. **peak memory**: peak resident set (VmHWM) of each configuration in a fresh subprocess (load the model, build the
   trainer, run ``--memory_steps`` steps): the SFT step, the GA step (adapter-disabled reference), and for the
   reference's cost GA without a KL term and with a frozen reference copy. Targets: GA ≤ 1.2× SFT, and < 4 GB.

``--full_logits`` adds the loss as computed before issue 12 (the whole ``(3B, L, vocab)`` logits, log-softmax over
every position read) to the timing and the memory runs, for a before/after comparison (peak ~9 GB on Gemma).

``--torch_compile`` times every trainer with its decoder blocks compiled in place (the trainers' ``torch_compile``;
the SFT baseline gets the same regional compilation), two untimed warm-up rounds, and the memory runs compiled too
(the compiler's worker processes are not counted in the peak).
``--profile`` adds one step of each trainer under ``torch.profiler``: how much of it is matmuls, attention, the rest.

    python bench/bench_gradient_ascent.py [--steps 5] [--batch_size 8] [--prompt_style options|cloze] [--full_logits]
                                          [--torch_compile] [--profile]
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
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

MODEL = "gemma-3-270m"
LORA_R = 16
METHOD_KINDS = ("grad_diff", "npo", "simnpo", "idk_dpo")  # the other methods of the registry


def build_data(tokenizer, batch_size: int, rounds: int, prompt_style: str):
    """Paired rows for ``rounds`` steps from the shipped en sample, and the same sequences one per row for SFT."""
    import datasets

    from geounlearn_trl.data.mcq import load_mcq
    from geounlearn_trl.data.prompting import wants_chat_template
    from geounlearn_trl.data.unlearning import (
        build_unlearning_dataset,
        load_retain,
        sample_mcq_path,
        sample_retain_path,
    )

    rows = batch_size * rounds
    mcq = load_mcq(sample_mcq_path("en"))
    mcq = datasets.concatenate_datasets([mcq] * (rows // len(mcq) + 1)).select(range(rows))
    paired = build_unlearning_dataset(
        mcq, load_retain(sample_retain_path("en")), tokenizer, "en", 0, wants_chat_template(tokenizer, None), 256,
        prompt_style=prompt_style,
    )  # fmt: skip
    flat = datasets.Dataset.from_list(
        [{"input_ids": row[f"{g}_input_ids"]} for row in paired for g in ("forget", "unknown", "retain")]
    )
    return paired, flat


def lora():
    from peft import LoraConfig

    return LoraConfig(r=LORA_R, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")


def common_args(steps: int, torch_compile: bool = False) -> dict:
    return {"max_steps": steps, "report_to": "none", "use_cpu": True, "save_strategy": "no", "logging_steps": 10_000,
            "learning_rate": 1e-5, "bf16": False, "gradient_checkpointing": False, "disable_tqdm": True,
            "train_sampling_strategy": "sequential", "dataloader_num_workers": 0, "seed": 0,
            "torch_compile": torch_compile}


def full_logits_trainer_class():
    """GradientAscentTrainer with the loss as computed before issue 12: the policy's and the reference's whole logits."""
    import torch.nn.functional as F

    from geounlearn_trl.methods.base import FORGET, RETAIN, UNKNOWN
    from geounlearn_trl.methods.gradient_ascent import GradientAscentTrainer

    class FullLogitsGradientAscentTrainer(GradientAscentTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False).logits
            mask = inputs["loss_mask"][:, 1:].bool()
            rows = logits.size(0) // 3

            def nll(group):
                part = slice(group * rows, (group + 1) * rows)
                group_mask = mask[part]
                lp = logits[part, :-1][group_mask].float().log_softmax(-1)
                lp = lp.gather(-1, inputs["input_ids"][part, 1:][group_mask].unsqueeze(-1)).squeeze(-1)
                return -lp.sum() / group_mask.sum()

            retain = slice(RETAIN * rows, (RETAIN + 1) * rows)
            with torch_no_grad(), self._reference_context(model):
                reference = self.ref_model if self.ref_model is not None else model
                ref_logits = reference(input_ids=inputs["input_ids"][retain],
                                       attention_mask=inputs["attention_mask"][retain], use_cache=False).logits
            kl = F.kl_div(logits[retain, :-1][mask[retain]].float().log_softmax(-1),
                          ref_logits[:, :-1][mask[retain]].float().log_softmax(-1),
                          log_target=True, reduction="none").sum(-1).mean()  # fmt: skip
            a = self.args
            return a.retain_weight * kl - a.forget_weight * nll(FORGET) + a.unknown_weight * nll(UNKNOWN)

    return FullLogitsGradientAscentTrainer


def torch_no_grad():
    import torch

    return torch.no_grad()


def make_trainer(kind: str, model, tokenizer, paired, flat, batch_size: int, steps: int, ref_model=None,
                 torch_compile: bool = False, malloc_threshold_mib: float = 1.0):  # fmt: skip
    from trl import SFTConfig, SFTTrainer

    from geounlearn_trl.methods.gradient_ascent import (
        GradientAscentConfig,
        GradientAscentTrainer,
    )

    common = common_args(steps, torch_compile)
    if kind == "sft":
        args = SFTConfig(output_dir="/tmp/bench-sft", per_device_train_batch_size=3 * batch_size, max_length=None,
                         **{**common, "torch_compile": False})  # fmt: skip
        trainer = SFTTrainer(model=model, args=args, train_dataset=flat, processing_class=tokenizer, peft_config=lora())
        if torch_compile:
            # The same regional compilation as our trainers get, not the Trainer's whole-model one (which happens only
            # in train(), bypassed by the timed steps): the decoder blocks in place, the LM head left as it is.
            from geounlearn_trl.methods.logprobs import compile_body

            compile_body(trainer.model)
        return trainer
    if kind in METHOD_KINDS:  # another method of the registry, with its defaults
        from geounlearn_trl.methods import method_classes

        config_class, trainer_class = method_classes(kind)
        args = config_class(output_dir=f"/tmp/bench-{kind}", per_device_train_batch_size=batch_size,
                            cpu_malloc_threshold_mib=malloc_threshold_mib, **common)  # fmt: skip
        return trainer_class(model=model, ref_model=ref_model, args=args, train_dataset=paired,
                             processing_class=tokenizer, peft_config=lora())
    trainer_class = full_logits_trainer_class() if kind == "full_logits" else GradientAscentTrainer
    args = GradientAscentConfig(
        output_dir=f"/tmp/bench-{kind}", per_device_train_batch_size=batch_size, forget_nll_ceiling=None,
        retain_weight=0.0 if kind == "no_reference" else 1.0, cpu_malloc_threshold_mib=malloc_threshold_mib, **common,
    )  # fmt: skip
    return trainer_class(model=model, ref_model=ref_model, args=args, train_dataset=paired, processing_class=tokenizer,
                         peft_config=lora())


def batch_for(trainer, kind: str, step: int, batch_size: int) -> dict:
    """The collated batch of round ``step``: paired rows [step·B, (step+1)·B) or their 3·B sequences."""
    rows = 3 * batch_size if kind == "sft" else batch_size
    features = [trainer.train_dataset[i] for i in range(step * rows, (step + 1) * rows)]
    return trainer._prepare_inputs(trainer.data_collator(features))


def trainer_step(trainer, batch: dict) -> float:
    """One optimizer step as the Trainer's loop does it (no accumulation), in seconds."""
    import torch

    model = trainer.model_wrapped
    model.train()
    start = time.perf_counter()
    trainer.training_step(model, batch)
    trainer.accelerator.clip_grad_norm_(trainer.model.parameters(), trainer.args.max_grad_norm)
    trainer.optimizer.step()
    trainer.lr_scheduler.step()
    trainer.optimizer.zero_grad(set_to_none=True)
    trainer.state.global_step += 1
    torch.cuda.synchronize() if torch.cuda.is_available() else None
    return time.perf_counter() - start


def gemm_throughput(size: int, repeats: int = 3) -> float:
    """Best-of-``repeats`` fp32 GEMM throughput (GFLOP/s) of a ``size``³ product, on the threads torch uses."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


# --- counting the FLOPs a step needs -----------------------------------------------------------------------------------


def model_shapes(model) -> dict:
    """Linear-layer shapes of the decoder (frozen weights, LoRA adapters), attention sizes, and the LM head."""
    from torch import nn

    from geounlearn_trl.methods.logprobs import causal_lm

    base = causal_lm(model)
    head = base.get_output_embeddings()
    frozen, adapters = 0, 0
    for name, module in base.named_modules():
        if module is head:
            continue
        if hasattr(module, "lora_A") and hasattr(module, "base_layer"):
            frozen += module.in_features * module.out_features
            for adapter in module.lora_A:
                adapters += module.r[adapter] * (module.in_features + module.out_features)
        elif type(module) is nn.Linear and "lora_" not in name and not name.endswith("base_layer"):
            frozen += module.in_features * module.out_features
    config = base.config.get_text_config()
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return {"frozen_macs": frozen, "adapter_macs": adapters, "layers": config.num_hidden_layers,
            "heads": config.num_attention_heads, "head_dim": head_dim, "hidden": head.in_features,
            "vocab": head.out_features, "window": getattr(config, "sliding_window", None)}  # fmt: skip


def body_flops(shapes: dict, attention_mask, backward: bool, real_only: bool) -> float:
    """Decoder FLOPs over a batch: ``2·MACs`` per position for the linear layers, ``4·heads·head_dim`` per (query, key)
    pair for attention (causal, sliding window ignored when longer than the rows). Backward: the input gradients through
    the frozen weights (as many FLOPs as their forward), twice the adapters' forward (input and weight gradients),
    twice the attention's forward. ``real_only``: count the non-padding positions only, else every padded position."""
    positions = int(attention_mask.sum()) if real_only else attention_mask.numel()
    lengths = attention_mask.sum(-1) if real_only else attention_mask.new_full((attention_mask.size(0),), attention_mask.size(1))
    pairs = float(sum(int(n) * (int(n) + 1) // 2 for n in lengths))  # causal (query, key) pairs per layer
    linear = 2.0 * shapes["frozen_macs"] * positions
    adapters = 2.0 * shapes["adapter_macs"] * positions
    attention = 4.0 * shapes["heads"] * shapes["head_dim"] * pairs * shapes["layers"]
    if not backward:
        return linear + adapters + attention
    return 2 * linear + 3 * adapters + 3 * attention


def loss_flops(shapes: dict, batch: dict, policy_groups, reference_groups, retain_loss: str,
               real_only: bool = False) -> float:
    """FLOPs an unlearning loss needs for one step (LoRA, adapter-disabled reference), from which row groups
    (0 forget, 1 unknown, 2 retain) the policy and the reference read (``UnlearningTrainer._policy_groups`` /
    ``_reference_groups``):

    * the policy body, forward and backward, over the rows of its groups;
    * the LM head (``2·H·V`` per position, forward, and as much again for the input gradient) on the answer tokens of
      its forget/unknown rows and on the retain tokens; for a KL, the reference's head (forward) on the retain tokens too;
    * the reference body, forward only, on the rows of its groups (cut to their longest row), and its head (forward) on
      the answer tokens of its forget/unknown rows.
    """
    import torch

    attention, loss_mask = batch["attention_mask"], batch["loss_mask"]
    rows = attention.size(0) // 3

    def rows_of(tensor, groups):
        return torch.cat([tensor[g * rows : (g + 1) * rows] for g in groups])

    def answer_tokens(groups):
        return int(rows_of(loss_mask, groups)[:, 1:].sum()) if groups else 0

    head = 2.0 * shapes["hidden"] * shapes["vocab"]
    policy_answers = answer_tokens([g for g in policy_groups if g != 2])
    retain_tokens = answer_tokens([2]) if 2 in policy_groups else 0
    flops = body_flops(shapes, rows_of(attention, policy_groups), True, real_only)
    flops += head * (2 * policy_answers + (3 if retain_loss == "kl" else 2) * retain_tokens)
    if reference_groups:
        reference = rows_of(attention, reference_groups)
        reference = reference[:, : max(int(reference.sum(-1).max()), 1)]
        flops += body_flops(shapes, reference, False, real_only)
        flops += head * answer_tokens([g for g in reference_groups if g != 2])
    return flops


def gradient_ascent_flops(shapes: dict, batch: dict, real_only: bool = False) -> float:
    """:func:`loss_flops` of gradient ascent: the policy on all three row groups, the reference on the retain rows for
    the KL."""
    return loss_flops(shapes, batch, [0, 1, 2], [2], "kl", real_only)


def sft_flops(shapes: dict, batch: dict, real_only: bool = False) -> float:
    """FLOPs a language-modelling SFT step needs: body forward/backward, head forward and input gradient at every
    labelled position."""
    labelled = int((batch["labels"][:, 1:] != -100).sum())
    return body_flops(shapes, batch["attention_mask"], True, real_only) + 4.0 * shapes["hidden"] * shapes["vocab"] * labelled


# --- timing -------------------------------------------------------------------------------------------------------------


def time_steps(args) -> dict:
    """Interleaved steps of every trainer in one process on the same tokens, with GEMM probes between them."""
    from trl import ModelConfig

    from geounlearn_trl.models import load_model_and_tokenizer

    kinds = ["gradient_ascent", "sft", *args.methods] + (["full_logits"] if args.full_logits else [])
    model_args = ModelConfig(model_name_or_path=args.model)
    trainers, tokenizer, data = {}, None, None
    for kind in kinds:
        model, tokenizer = load_model_and_tokenizer(model_args)
        if data is None:
            data = build_data(tokenizer, args.batch_size, args.steps, args.prompt_style)
        trainers[kind] = make_trainer(kind, model, tokenizer, *data, args.batch_size, args.steps,
                                      torch_compile=args.torch_compile,
                                      malloc_threshold_mib=args.malloc_threshold_mib)  # fmt: skip
        trainers[kind].create_optimizer_and_scheduler(num_training_steps=args.steps)
        trainers[kind].current_gradient_accumulation_steps = 1  # set by the Trainer's loop, read by training_step
    durations = {kind: [] for kind in kinds}
    gemm = []
    for step in range(args.steps):
        order = kinds if step % 2 == 0 else kinds[::-1]
        for kind in order:
            gemm.append(gemm_throughput(args.gemm_size))
            batch = batch_for(trainers[kind], kind, step, args.batch_size)
            durations[kind].append(trainer_step(trainers[kind], batch))
            print(f"  round {step + 1}: {kind} {durations[kind][-1]:.2f} s (GEMM {gemm[-1]:.0f} GFLOP/s)", flush=True)
        gemm.append(gemm_throughput(args.gemm_size))
    shapes = model_shapes(trainers["gradient_ascent"].model)
    timed = range(args.warmup_rounds, args.steps)
    ga_batches = [batch_for(trainers["gradient_ascent"], "gradient_ascent", s, args.batch_size) for s in timed]
    sft_batches = [batch_for(trainers["sft"], "sft", s, args.batch_size) for s in timed]
    method_flops = {}
    for kind in ["gradient_ascent", *args.methods]:
        trainer = trainers[kind]
        batches = [batch_for(trainer, kind, s, args.batch_size) for s in timed]
        method_flops[kind] = statistics.median(
            loss_flops(shapes, b, trainer._policy_groups(), trainer._reference_groups(), trainer.args.retain_loss)
            for b in batches
        )
    profiled = {}
    if args.profile:
        for kind in kinds:
            profiled[kind] = profile_step(trainers[kind], batch_for(trainers[kind], kind, args.steps - 1, args.batch_size))
    return {
        "profiled": profiled,
        "method_flops": method_flops,
        "step_s": {kind: statistics.median(values[args.warmup_rounds :]) for kind, values in durations.items()},
        "all_step_s": durations,
        "gemm_gflops": statistics.median(gemm),
        "ga_flops": statistics.median(gradient_ascent_flops(shapes, b) for b in ga_batches),
        "ga_flops_real": statistics.median(gradient_ascent_flops(shapes, b, real_only=True) for b in ga_batches),
        "sft_flops": statistics.median(sft_flops(shapes, b) for b in sft_batches),
        "tokens": statistics.median(int(b["attention_mask"].sum()) for b in ga_batches),
        "positions": statistics.median(b["attention_mask"].numel() for b in ga_batches),
        "answer_tokens": statistics.median(int(b["loss_mask"][: 2 * args.batch_size, 1:].sum()) for b in ga_batches),
        "kl_tokens": statistics.median(int(b["loss_mask"][2 * args.batch_size :, 1:].sum()) for b in ga_batches),
        "threads": __import__("torch").get_num_threads(),
    }


def profile_step(trainer, batch: dict) -> dict[str, float]:
    """One more step under :mod:`torch.profiler`: self CPU seconds of the matmuls, of attention, and of the rest (the
    body's elementwise kernels, copies, autograd bookkeeping, optimizer), and the step's wall time."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        wall = trainer_step(trainer, batch)
    shares = {"matmul": 0.0, "attention": 0.0, "other": 0.0}
    for event in profiler.key_averages():
        seconds = event.self_cpu_time_total / 1e6
        if event.key in ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"):
            shares["matmul"] += seconds
        elif "scaled_dot_product" in event.key:
            shares["attention"] += seconds
        else:
            shares["other"] += seconds
    return {**shares, "wall": wall}


# --- memory -------------------------------------------------------------------------------------------------------------


def peak_rss_mib() -> float:
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child would report its parent's peak.
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def memory_child(kind: str, args) -> None:
    """Train ``--memory_steps`` steps of one configuration in this fresh process; print its peak RSS in MiB.

    Every configuration, the SFT baseline included, runs with the malloc setting our trainers apply on CPU
    (:mod:`geounlearn_trl.methods.cpu_memory`), unless ``--default_malloc``: the comparison is of the steps.
    """
    from trl import ModelConfig

    from geounlearn_trl.models import load_model, load_model_and_tokenizer
    from geounlearn_trl.methods import cpu_memory

    if not args.default_malloc:
        cpu_memory.return_large_frees_to_os()  # the SFT baseline too (our trainers apply it themselves)

    model_args = ModelConfig(model_name_or_path=args.model)
    model, tokenizer = load_model_and_tokenizer(model_args)
    ref_model = load_model(model_args) if kind == "frozen_copy" else None  # LoRA policy, reference a frozen copy
    loaded = peak_rss_mib()
    paired, flat = build_data(tokenizer, args.batch_size, args.memory_steps, args.prompt_style)
    trainer = make_trainer(kind, model, tokenizer, paired, flat, args.batch_size, args.memory_steps, ref_model=ref_model,
                           torch_compile=args.torch_compile, malloc_threshold_mib=args.malloc_threshold_mib)
    trainer.train()
    print(json.dumps({"kind": kind, "peak_rss_mib": peak_rss_mib(), "loaded_rss_mib": loaded}))


def peak_memory(kind: str, args) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--batch_size", str(args.batch_size), "--memory_steps",
               str(args.memory_steps), "--prompt_style", args.prompt_style, "--model", args.model]  # fmt: skip
    command += ["--default_malloc"] if args.default_malloc else []
    command += ["--torch_compile"] if args.torch_compile else []
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "uptime unavailable"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5, help="Rounds, the first --warmup_rounds of them untimed.")
    parser.add_argument("--warmup_rounds", type=int, default=None,
                        help="Untimed first rounds (default 1; 2 with --torch_compile: the compiler's second, dynamic "
                             "compilation comes at the second new length).")
    parser.add_argument("--torch_compile", action="store_true",
                        help="Every trainer with the decoder blocks compiled in place (the trainers' torch_compile).")
    parser.add_argument("--batch_size", type=int, default=8, help="Questions per step (3x as many sequences).")
    parser.add_argument("--prompt_style", default="options", choices=["options", "cloze"])
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--memory_steps", type=int, default=2)
    parser.add_argument("--gemm_size", type=int, default=2048)
    parser.add_argument("--full_logits", action="store_true", help="Also the pre-issue-12 full-logits loss.")
    parser.add_argument("--skip_memory", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="After the timed rounds, one more step of each trainer under torch.profiler: where the "
                             "time goes (matmuls, attention, everything else).")
    parser.add_argument("--default_malloc", action="store_true",
                        help="Timing and memory runs with glibc's default (dynamic) mmap threshold, as a plain "
                             "SFTTrainer has it (the trainers' cpu_malloc_threshold_mib 0): faster, a higher peak.")
    parser.add_argument("--memory_only", nargs="*", default=None, help="Only these memory configurations, no timing.")
    parser.add_argument("--methods", default=",".join(METHOD_KINDS),
                        help="Other methods timed and measured beside gradient ascent (comma-separated; '' for none).")
    parser.add_argument("--child", choices=["sft", "gradient_ascent", "no_reference", "frozen_copy", "full_logits",
                                            *METHOD_KINDS])
    args = parser.parse_args()
    args.methods = [name for name in args.methods.split(",") if name]
    args.malloc_threshold_mib = 0.0 if args.default_malloc else 1.0  # the trainers' cpu_malloc_threshold_mib
    unknown = [name for name in args.methods if name not in METHOD_KINDS]
    if unknown:
        parser.error(f"--methods: unknown {', '.join(unknown)} (known: {', '.join(METHOD_KINDS)})")
    if args.child:
        memory_child(args.child, args)
        return
    if args.warmup_rounds is None:
        args.warmup_rounds = 2 if args.torch_compile else 1
    if args.steps <= args.warmup_rounds:
        parser.error(f"--steps must be more than the {args.warmup_rounds} warm-up round(s)")
    print(f"start: {uptime()}", flush=True)
    memory = {}
    if not args.skip_memory:
        kinds = ["sft", "gradient_ascent", "no_reference", "frozen_copy", *args.methods] + (
            ["full_logits"] if args.full_logits else [])
        for kind in args.memory_only or kinds:
            memory[kind] = peak_memory(kind, args)
            print(f"  peak RSS {kind}: {memory[kind]['peak_rss_mib']:.0f} MiB", flush=True)
    if args.memory_only is not None:
        return
    timing = time_steps(args)
    print(f"end: {uptime()}")

    step, gemm = timing["step_s"], timing["gemm_gflops"]
    ratio = step["gradient_ascent"] / step["sft"]
    efficiency = timing["ga_flops"] / step["gradient_ascent"] / 1e9 / gemm
    efficiency_real = timing["ga_flops_real"] / step["gradient_ascent"] / 1e9 / gemm
    print(f"\nembedded {args.model}, LoRA r={LORA_R} all-linear, CPU ({timing['threads']} threads), {args.batch_size} "
          f"questions/step, {args.prompt_style} prompts: {timing['tokens']:.0f} tokens in {3 * args.batch_size} "
          f"sequences ({timing['positions']:.0f} padded positions; {timing['answer_tokens']:.0f} answer tokens, "
          f"{timing['kl_tokens']:.0f} KL positions), median of {args.steps - args.warmup_rounds} interleaved rounds"
          + (", decoder blocks compiled (torch_compile)" if args.torch_compile else ""))  # fmt: skip
    print(f"  GEMM throughput (fp32 {args.gemm_size}^3, median of the probes): {gemm:.0f} GFLOP/s")
    for kind in step:
        print(f"  {kind:>16} step: {step[kind]:.2f} s   (all: {', '.join(f'{d:.2f}' for d in timing['all_step_s'][kind])})")
    print(f"  time ratio GA / SFT: {ratio:.2f}x (target <= 1.35x)")
    print(f"  GA FLOPs needed: {timing['ga_flops'] / 1e12:.3f} TFLOP over padded positions "
          f"({timing['ga_flops_real'] / 1e12:.3f} over real tokens); SFT step: {timing['sft_flops'] / 1e12:.3f} TFLOP")
    print(f"  GA FLOP efficiency: {efficiency:.0%} of the GEMM throughput (target >= 50%); "
          f"{efficiency_real:.0%} counting real tokens only")  # fmt: skip
    for kind in args.methods:
        method_efficiency = timing["method_flops"][kind] / step[kind] / 1e9 / gemm
        print(f"  {kind}: step {step[kind] / step['sft']:.2f}x SFT (target <= 1.35x), FLOP efficiency "
              f"{method_efficiency:.0%} ({timing['method_flops'][kind] / 1e12:.3f} TFLOP needed)")
    for kind, shares in timing["profiled"].items():
        total = shares["matmul"] + shares["attention"] + shares["other"]
        print(f"  profiled {kind} step ({shares['wall']:.2f} s wall, {total:.2f} s self CPU): matmuls "
              f"{shares['matmul']:.2f} s ({shares['matmul'] / total:.0%}), attention {shares['attention']:.2f} s, "
              f"everything else {shares['other']:.2f} s ({shares['other'] / total:.0%})")
    if "full_logits" in step:
        print(f"  full-logits (pre-issue-12) GA step: {step['full_logits']:.2f} s, "
              f"{step['full_logits'] / step['gradient_ascent']:.2f}x the GA step now")
    if memory:
        sft, ga = memory["sft"]["peak_rss_mib"], memory["gradient_ascent"]["peak_rss_mib"]
        print(f"  peak RSS (VmHWM, fresh process, {args.memory_steps} steps; model loaded at "
              f"{memory['gradient_ascent']['loaded_rss_mib']:.0f} MiB):")
        for kind, values in memory.items():
            print(f"    {kind:>16}: {values['peak_rss_mib']:.0f} MiB")
        print(f"  memory ratio GA / SFT: {ga / sft:.2f}x (target <= 1.2x); GA peak {ga / 1024:.2f} GiB (target < 4 GB)")
        base = memory["no_reference"]["peak_rss_mib"]
        for kind in args.methods:
            print(f"  memory ratio {kind} / SFT: {memory[kind]['peak_rss_mib'] / sft:.2f}x; peak "
                  f"{memory[kind]['peak_rss_mib'] / 1024:.2f} GiB")
        print(f"  adapter-disabled reference: +{ga / base - 1:.1%}, frozen copy: "
              f"+{memory['frozen_copy']['peak_rss_mib'] / base - 1:.1%} vs no KL term")


if __name__ == "__main__":
    main()
