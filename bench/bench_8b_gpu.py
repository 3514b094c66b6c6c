"""Benchmark: peak GPU memory and tokens/s of both trainers on a Llama-3.1-8B-shaped model in 4-bit (QLoRA).

The 8B weights can't be downloaded on the GPU machines, so this builds a *random-initialised* model with the
Llama-3.1-8B shape (``LlamaConfig``: hidden 4096, 32 layers, 32 heads, 8 KV heads, MLP 14336, vocabulary 128256,
untied embeddings), saves it once in bf16 as safetensors (``--work_dir``, ~16 GB on disk), and loads it back exactly
as the recipes do (``geounlearn_trl.models.load_model``: nf4, double quantisation, bf16 compute; LoRA r16 on all linear
layers; gradient checkpointing). Memory and speed do not depend on the weights' values, so they carry over to
``unsloth/Meta-Llama-3.1-8B-Instruct``; Aya Expanse 8B has twice the vocabulary (bigger logits).

Each configuration loads a fresh model, resets the CUDA peak statistics, and runs ``--steps`` optimizer steps:

* ``gradient_ascent`` — :class:`GradientAscentTrainer` with ``recipes/gradient_ascent/llama31_8b_qlora.yaml``'s batch
  (4 questions = 12 rows) on the shipped SeeGULL-style sample (rows of realistic length), and again with every row
  padded to ``max_length`` 512 (the recipe's upper bound);
* ``sft_same_tokens`` — a plain :class:`~trl.SFTTrainer` step on exactly the sequences of the ``gradient_ascent``
  batch (its 12 forget/unknown/retain sequences, one per row): the baseline of the ratios below;
* ``selective`` — :class:`SelectiveRelabelTrainer` with the selective recipe's batch (4 blocks of 256 tokens), hard
  labels (TRL's fused LM head) and soft top-4 targets (the LM head in chunks at the labelled positions). The labels are
  random token ids: the relabel step's output has the same shapes, and the cost does not depend on which tokens they
  are.

Reported per configuration: peak GPU memory allocated and reserved by PyTorch (``torch.cuda.max_memory_*``; the CUDA
context adds a few hundred MB on top), and tokens/s = real (non-padding) tokens of the batch / median step time after
the first step. Compare the peaks with the estimates written in the recipes. Then, as ``bench_gradient_ascent.py`` does
on CPU: the gradient-ascent step's time and peak allocated memory over the SFT step's (targets ≤ 1.35× and ≤ 1.2×),
and its FLOP efficiency: the FLOPs its loss needs (counted from the model's shapes and the batch's positions by
``bench_gradient_ascent.gradient_ascent_flops``) per second over the bf16 GEMM throughput measured in the same run.

    python bench/bench_8b_gpu.py [--steps 6] [--work_dir /tmp/llama31-8b-random] [--json results.json]
    python bench/bench_8b_gpu.py --smoke_test      # a tiny model of the same layout, CPU allowed: checks the script
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")

LLAMA_31_8B_SHAPE = dict(
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    vocab_size=128256,
    max_position_embeddings=131072,
    rope_theta=500000.0,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gradient_ascent import gradient_ascent_flops, model_shapes  # noqa: E402  (the CPU benchmark's counter)

SMOKE_SHAPE = dict(LLAMA_31_8B_SHAPE, hidden_size=64, intermediate_size=224, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=1, max_position_embeddings=1024)
GA_BATCH, GA_MAX_LENGTH = 4, 512  # recipes/gradient_ascent/llama31_8b_qlora.yaml
SELECTIVE_BATCH, BLOCK_SIZE, SOFT_TOP_K = 4, 256, 4  # recipes/selective_relabel/llama31_8b_qlora.yaml, relabel --top_k 4


def build_random_model(work_dir: Path, shape: dict, tokenizer, device: str) -> Path:
    """The random model saved once in bf16 safetensors (with the tokenizer), reused by later runs."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if (work_dir / "config.json").is_file() and any(work_dir.glob("*.safetensors")):
        print(f"Reusing the random model in {work_dir}", flush=True)
        return work_dir
    print(f"Building a random {shape['num_hidden_layers']}-layer Llama ({device}) and saving it to {work_dir}", flush=True)
    config = LlamaConfig(
        **shape, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(work_dir, safe_serialization=True)
    tokenizer.save_pretrained(work_dir)
    del model
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return work_dir


def qlora_model_args(path: Path, dtype: str):
    from trl import ModelConfig

    return ModelConfig(
        model_name_or_path=str(path), dtype=dtype, load_in_4bit=True, bnb_4bit_quant_type="nf4",
        use_bnb_nested_quant=True, use_peft=True, lora_r=16, lora_alpha=32, lora_dropout=0.05,
        lora_target_modules=["all-linear"],
    )


class StepMeter:
    """Wall time of each optimizer step (synchronised on CUDA) and the real tokens of each batch the collator built."""

    def __init__(self, collator, cuda: bool):
        from transformers import TrainerCallback

        meter = self
        self.durations: list[float] = []
        self.tokens: list[int] = []
        self.positions: list[int] = []  # padded batch size, rows x length: what the GPU computes
        self.batches: list[dict] = []  # masks of each batch, to count the FLOPs its loss needs
        self.cuda = cuda
        self._collator = collator

        class Callback(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                meter._sync()
                meter.start = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                meter._sync()
                meter.durations.append(time.perf_counter() - meter.start)

        self.callback = Callback()

    def _sync(self):
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    def collate(self, features):
        batch = self._collator(features)
        self.tokens.append(int(batch["attention_mask"].sum()))
        self.positions.append(batch["attention_mask"].numel())
        self.batches.append({key: batch[key] for key in ("attention_mask", "loss_mask") if key in batch})
        return batch

    def tokens_per_second(self) -> float:
        # Skip the first step (CUDA kernels, allocator warm-up); one batch per step (no gradient accumulation).
        durations, tokens = self.durations[1:], self.tokens[1 : len(self.durations)]
        return statistics.median(t / d for t, d in zip(tokens, durations))


def gradient_ascent_dataset(tokenizer, rows: int):
    import datasets

    from geounlearn_trl.data.mcq import load_mcq
    from geounlearn_trl.data.prompting import wants_chat_template
    from geounlearn_trl.data.unlearning import build_unlearning_dataset, load_retain, sample_mcq_path, sample_retain_path

    mcq = load_mcq(sample_mcq_path("en"))
    mcq = datasets.concatenate_datasets([mcq] * (rows // len(mcq) + 1)).select(range(rows))
    use_chat_template = wants_chat_template(tokenizer, None)
    return build_unlearning_dataset(
        mcq, load_retain(sample_retain_path("en")), tokenizer, "en", 0, use_chat_template, GA_MAX_LENGTH
    )


def selective_dataset(tokenizer, rows: int, soft: bool, block_size: int):
    import datasets
    import torch

    generator = torch.Generator().manual_seed(0)
    vocabulary = len(tokenizer)
    input_ids = torch.randint(0, vocabulary, (rows, block_size), generator=generator)
    labels = torch.randint(0, vocabulary, (rows, block_size), generator=generator)
    labels[:, :1] = -100  # nothing predicts the first token
    data = {"input_ids": input_ids.tolist(), "labels": labels.tolist()}
    if soft:
        ids = torch.randint(0, vocabulary, (rows, block_size, SOFT_TOP_K), generator=generator)
        probs = torch.rand((rows, block_size, SOFT_TOP_K), generator=generator)
        data["soft_label_ids"] = ids.tolist()
        data["soft_label_probs"] = (probs / probs.sum(-1, keepdim=True)).tolist()
    return datasets.Dataset.from_dict(data)


def run_configuration(name: str, model_path: Path, tokenizer, steps: int, cuda: bool, smoke: bool) -> dict:
    import torch
    from trl import get_peft_config

    from geounlearn_trl.data.collators import PairedUnlearningCollator
    from geounlearn_trl.models import load_model

    if cuda:
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model_args = qlora_model_args(model_path, "bfloat16" if cuda else "float32")  # bnb's CPU kernels want fp32
    model = load_model(model_args)
    weights_gib = torch.cuda.memory_allocated() / 2**30 if cuda else float("nan")
    output_dir = tempfile.mkdtemp(prefix=f"bench-8b-{name}-")
    common = dict(
        output_dir=output_dir, max_steps=steps, gradient_accumulation_steps=1, learning_rate=5e-5, logging_steps=1,
        report_to="none", save_strategy="no", bf16=cuda, use_cpu=not cuda, gradient_checkpointing=True,
        dataloader_num_workers=0, seed=0,
    )
    rows_needed = GA_BATCH * (steps + 1)
    if name == "sft_same_tokens":
        import datasets
        from trl import SFTConfig, SFTTrainer

        paired = gradient_ascent_dataset(tokenizer, rows_needed)
        flat = datasets.Dataset.from_list(
            [{"input_ids": row[f"{group}_input_ids"]} for row in paired for group in ("forget", "unknown", "retain")]
        )
        trainer = SFTTrainer(
            model=model, args=SFTConfig(per_device_train_batch_size=3 * GA_BATCH, max_length=GA_MAX_LENGTH,
                                        train_sampling_strategy="sequential", **common),
            train_dataset=flat, processing_class=tokenizer, peft_config=get_peft_config(model_args),
        )  # fmt: skip
        meter = StepMeter(trainer.data_collator, cuda)
        trainer.data_collator = meter.collate
        trainer.add_callback(meter.callback)
    elif name.startswith("gradient_ascent"):
        from geounlearn_trl.methods.gradient_ascent import GradientAscentConfig, GradientAscentTrainer

        padded = name.endswith("padded_512")
        collator = PairedUnlearningCollator(
            pad_token_id=tokenizer.pad_token_id, pad_to_multiple_of=GA_MAX_LENGTH if padded else None
        )
        meter = StepMeter(collator, cuda)
        args = GradientAscentConfig(per_device_train_batch_size=GA_BATCH, max_length=GA_MAX_LENGTH,
                                    train_sampling_strategy="sequential", **common)
        trainer = GradientAscentTrainer(
            model=model, args=args, train_dataset=gradient_ascent_dataset(tokenizer, rows_needed),
            processing_class=tokenizer, peft_config=get_peft_config(model_args), data_collator=meter.collate,
            callbacks=[meter.callback],
        )
    else:
        from geounlearn_trl.methods.selective_relabel import (
            RelabeledBlockCollator,
            SelectiveRelabelConfig,
            SelectiveRelabelTrainer,
        )

        soft = name.endswith("soft")
        collator = RelabeledBlockCollator(pad_token_id=tokenizer.pad_token_id, soft_labels=soft)
        meter = StepMeter(collator, cuda)
        args = SelectiveRelabelConfig(
            per_device_train_batch_size=SELECTIVE_BATCH, label_type="soft" if soft else "hard", **common
        )
        block_size = 32 if smoke else BLOCK_SIZE
        trainer = SelectiveRelabelTrainer(
            model=model, args=args,
            train_dataset=selective_dataset(tokenizer, SELECTIVE_BATCH * (steps + 1), soft, block_size),
            processing_class=tokenizer, peft_config=get_peft_config(model_args), data_collator=meter.collate,
            callbacks=[meter.callback],
        )
    trainer.train()
    flops = None
    if name.startswith("gradient_ascent"):
        shapes = model_shapes(trainer.model)
        flops = statistics.median(gradient_ascent_flops(shapes, b) for b in meter.batches[1 : len(meter.durations)])
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    result = {
        "configuration": name,
        "steps": len(meter.durations),
        "batch_tokens_median": statistics.median(meter.tokens[: len(meter.durations)]),
        "batch_positions_median": statistics.median(meter.positions[: len(meter.durations)]),
        "step_seconds_median": statistics.median(meter.durations[1:]),
        "tokens_per_second": meter.tokens_per_second(),
        "weights_gib": weights_gib,
        "peak_allocated_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan"),
        "peak_reserved_gib": torch.cuda.max_memory_reserved() / 2**30 if cuda else float("nan"),
        "losses_finite": all(map(lambda value: value == value and abs(value) != float("inf"), losses)),
        "flops_needed": flops,
    }
    del trainer, model
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return result


def gemm_throughput(cuda: bool, size: int, repeats: int = 5) -> float:
    """Best-of-``repeats`` GEMM throughput (GFLOP/s): bf16 on CUDA (the precision the recipes train in), else fp32."""
    import torch

    device, dtype = ("cuda", torch.bfloat16) if cuda else ("cpu", torch.float32)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(repeats + 1):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6, help="Optimizer steps per configuration (the first is warm-up).")
    parser.add_argument("--work_dir", default=os.path.join(tempfile.gettempdir(), "llama31-8b-random"),
                        help="Where the random bf16 model is saved once (~16 GB) and reused.")
    parser.add_argument("--tokenizer", default="smollm2-135m-instruct",
                        help="Tokenizer for the real sample data (its ids must be < 128256).")
    parser.add_argument("--only", nargs="*", default=None, help="Run only these configurations.")
    parser.add_argument("--json", default=None, help="Also write the results to this JSON file.")
    parser.add_argument("--smoke_test", action="store_true",
                        help="A 2-layer model of the same layout, allowed on CPU: checks the script, measures nothing.")
    args = parser.parse_args(argv)

    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke_test:
        print(
            "bench_8b_gpu.py needs a CUDA GPU: torch.cuda.is_available() is False on this machine, so nothing was "
            "measured. Run it on a GPU machine (bitsandbytes 4-bit and ~16 GB free disk for the random bf16 model), "
            "or pass --smoke_test to check the script on a tiny model.",
            file=sys.stderr,
        )
        return 1
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the first step is warm-up)")

    from geounlearn_trl.models import load_tokenizer, resolve_model_path

    tokenizer = load_tokenizer(resolve_model_path(args.tokenizer))
    shape = SMOKE_SHAPE if args.smoke_test else LLAMA_31_8B_SHAPE
    if len(tokenizer) > shape["vocab_size"]:
        parser.error(f"--tokenizer {args.tokenizer} has {len(tokenizer)} tokens, more than the model's {shape['vocab_size']}")
    work_dir = Path(args.work_dir + ("-smoke" if args.smoke_test else ""))
    model_path = build_random_model(work_dir, shape, tokenizer, "cuda" if cuda else "cpu")

    configurations = ["gradient_ascent", "sft_same_tokens", "gradient_ascent_padded_512", "selective_hard",
                      "selective_soft"]
    results = []
    for name in args.only or configurations:
        print(f"\n=== {name} ===", flush=True)
        results.append(run_configuration(name, model_path, tokenizer, args.steps, cuda, args.smoke_test))

    device = torch.cuda.get_device_name(0) if cuda else "CPU (smoke test: not a benchmark)"
    print(f"\nLlama-3.1-8B shape{' (smoke test: tiny)' if args.smoke_test else ''}, QLoRA nf4 + double quant, "
          f"LoRA r16 all-linear, gradient checkpointing, {'bf16' if cuda else 'fp32'} — {device}")
    header = (f"{'configuration':<28}{'tokens/step':>12}{'padded':>8}{'s/step':>9}{'tokens/s':>10}{'weights GiB':>13}"
              f"{'peak alloc GiB':>16}{'peak reserved GiB':>19}")
    print(header)
    for row in results:
        print(
            f"{row['configuration']:<28}{row['batch_tokens_median']:>12.0f}{row['batch_positions_median']:>8.0f}"
            f"{row['step_seconds_median']:>9.2f}"
            f"{row['tokens_per_second']:>10.0f}{row['weights_gib']:>13.2f}{row['peak_allocated_gib']:>16.2f}"
            f"{row['peak_reserved_gib']:>19.2f}"
        )
    gemm = gemm_throughput(cuda, 256 if args.smoke_test else 8192)
    print(f"GEMM throughput ({'bf16 8192^3' if cuda else 'fp32 256^3, smoke test'}): {gemm:.0f} GFLOP/s")
    named = {row["configuration"]: row for row in results}
    if "gradient_ascent" in named:
        ga = named["gradient_ascent"]
        efficiency = ga["flops_needed"] / ga["step_seconds_median"] / 1e9 / gemm
        print(f"gradient_ascent FLOP efficiency: {efficiency:.0%} of the GEMM throughput "
              f"({ga['flops_needed'] / 1e12:.2f} TFLOP needed per step; target >= 50%)")
        if "sft_same_tokens" in named:
            sft = named["sft_same_tokens"]
            print(f"gradient_ascent / sft_same_tokens: time {ga['step_seconds_median'] / sft['step_seconds_median']:.2f}x "
                  f"(target <= 1.35x), peak allocated {ga['peak_allocated_gib'] / sft['peak_allocated_gib']:.2f}x "
                  "(target <= 1.2x)")
        for row in results:
            row["gemm_gflops"] = gemm
    if not all(row["losses_finite"] for row in results):
        print("WARNING: a configuration logged a non-finite loss", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "results": results}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
