"""Benchmark of ``relabel``: throughput against one plain forward pass, memory with adapter toggling vs two copies.

Relabeling a block needs two forward passes (reinforced on the original text, base on the replaced text), so its
throughput is bounded by half that of a single plain forward over the same tokens; the target is ≥ 0.4×. Memory:
relabel keeps one set of weights and toggles the reinforced LoRA adapter (``with model.disable_adapter():``); the
alternative keeps a base copy and a merged reinforced copy. Each variant runs in its own fresh process and reports its
peak resident memory (``VmHWM``) above what the process held before loading any model.

    flock /tmp/geounlearn-heavy.lock python bench/bench_relabel.py            # embedded SmolLM2-135M-Instruct

Target: the shipped fictional text (repeated to ``--tokens`` tokens) with its anchor dictionary; the reinforced adapter
is a LoRA (r=16 on q/v) with random non-zero weights, since only the cost matters here. Both throughputs are measured
in the same process, after a warm-up, as the best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from importlib.resources import files

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402 (after the offline environment is set)


def peak_rss_mib() -> float:
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child would report its parent's peak.
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def build_blocks(tokenizer, tokens: int, block_size: int):
    from geounlearn_trl.data.target_text import read_target_text, split_into_blocks

    text = read_target_text(str(files("geounlearn_trl") / "data" / "sample" / "fictional_target.txt"))
    story_tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    documents = [text] * max(1, -(-tokens // story_tokens))
    blocks = split_into_blocks(documents, tokenizer, block_size)
    total, kept = 0, []
    for block in blocks:
        if total >= tokens:
            break
        kept.append(block)
        total += len(block.input_ids)
    return kept


class TwoCopies(torch.nn.Module):
    """Base and reinforced as two separate models, behind PeftModel's ``disable_adapter`` interface."""

    def __init__(self, base, reinforced):
        super().__init__()
        self.base, self.reinforced, self._use_base = base, reinforced, False

    @contextlib.contextmanager
    def disable_adapter(self):
        self._use_base = True
        try:
            yield
        finally:
            self._use_base = False

    def forward(self, **kwargs):
        return (self.base if self._use_base else self.reinforced)(**kwargs)


def child(args) -> dict:
    from peft import LoraConfig, get_peft_model
    from trl import ModelConfig

    from geounlearn_trl.models import load_model, load_tokenizer, resolve_model_path
    from geounlearn_trl.methods.selective.anchors import load_anchor_dictionary
    from geounlearn_trl.methods.selective.relabel import AnchorReplacer, build_relabeled_dataset

    torch.manual_seed(0)
    path = resolve_model_path(args.model)
    tokenizer = load_tokenizer(path)
    blocks = build_blocks(tokenizer, args.tokens, args.block_size)
    replacer = AnchorReplacer(load_anchor_dictionary(str(files("geounlearn_trl") / "data" / "sample" / "fictional_anchors.json")), seed=0)
    rss_before = peak_rss_mib()

    model = load_model(ModelConfig(model_name_or_path=args.model))
    lora = LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    model = get_peft_model(model, lora).eval()
    if args.child == "copies":
        reinforced = model.merge_and_unload()  # the reinforced weights as a plain model
        base = load_model(ModelConfig(model_name_or_path=args.model)).eval()
        model = TwoCopies(base, reinforced).eval()

    def relabel():
        build_relabeled_dataset(model, tokenizer, blocks, replacer, alpha=5.0, batch_size=args.batch_size,
                                show_progress=False)

    def plain_forward():
        from geounlearn_trl.methods.selective.relabel import _padded

        context = model.disable_adapter() if args.child == "toggle" else contextlib.nullcontext()
        plain = model if args.child == "toggle" else model.base
        with torch.inference_mode(), context:
            for start in range(0, len(blocks), args.batch_size):
                batch = [block.input_ids for block in blocks[start : start + args.batch_size]]
                input_ids, attention_mask = _padded(batch, tokenizer.pad_token_id, "cpu")
                plain(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits.float()

    def best_seconds(function) -> float:
        function()  # warm-up
        timings = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            function()
            timings.append(time.perf_counter() - started)
        return min(timings)

    tokens = sum(len(block.input_ids) for block in blocks)
    relabel_seconds = best_seconds(relabel)
    forward_seconds = best_seconds(plain_forward)
    return {
        "mode": args.child,
        "tokens": tokens,
        "blocks": len(blocks),
        "relabel_tokens_per_s": tokens / relabel_seconds,
        "forward_tokens_per_s": tokens / forward_seconds,
        "peak_rss_above_start_mib": peak_rss_mib() - rss_before,
        "torch_threads": torch.get_num_threads(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--tokens", type=int, default=4096, help="Target tokens relabeled per run.")
    parser.add_argument("--block_size", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", choices=["toggle", "copies"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return 0

    results = {}
    for mode in ("toggle", "copies"):
        command = [sys.executable, __file__, "--child", mode, *sys.argv[1:]]
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        if finished.returncode:
            sys.stderr.write(finished.stderr)
            return finished.returncode
        results[mode] = json.loads(finished.stdout.strip().splitlines()[-1])
    toggle, copies = results["toggle"], results["copies"]
    ratio = toggle["relabel_tokens_per_s"] / toggle["forward_tokens_per_s"]
    print(f"model {args.model}, {toggle['tokens']} tokens in {toggle['blocks']} blocks of ≤{args.block_size}, "
          f"batch {args.batch_size}, {toggle['torch_threads']} torch threads, best of {args.repeats}")
    print(f"{'':34}{'adapter toggling':>18}{'two model copies':>18}")
    for label, key, pattern in (
        ("relabel throughput (tokens/s)", "relabel_tokens_per_s", "{:.0f}"),
        ("plain forward throughput (tokens/s)", "forward_tokens_per_s", "{:.0f}"),
        ("peak RSS above start (MiB)", "peak_rss_above_start_mib", "{:.0f}"),
    ):
        print(f"{label:34}{pattern.format(toggle[key]):>18}{pattern.format(copies[key]):>18}")
    print(f"\nrelabel / plain forward throughput: {ratio:.2f}× (two forwards: limit 0.5×, target ≥ 0.4×)")
    print(f"peak memory, two copies / toggling: "
          f"{copies['peak_rss_above_start_mib'] / toggle['peak_rss_above_start_mib']:.2f}× "
          f"(+{copies['peak_rss_above_start_mib'] - toggle['peak_rss_above_start_mib']:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
