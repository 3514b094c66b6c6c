"""Benchmark of option log-likelihood scoring (``--mode loglik`` of ``geounlearn-trl respond``), in one run.

On the embedded Gemma 3 270M, for each language and prompt style (``cloze``: the question alone; ``options``: the
lettered list), items (questions, each with its 5 options) per second of

* **ours**: :func:`geounlearn_trl.evaluation.scoring.score_questions` with prompt sharing (the common prefix once, then each
  question's prompt and options packed in one row under a 4D attention mask, LM head at option positions only);
* **scratch**: the same function with ``share_prompt=False``: every (prompt, option) pair its own row;
* **lm-eval**: lm-evaluation-harness's Hugging Face backend (``HFLM(pretrained=model, tokenizer=tokenizer)``) and
  its ``loglikelihood`` requests on the very same strings: context = the rendered prompt, continuation = ``" " +
  option``, as :mod:`geounlearn_trl.data.prompting` encodes them (its tokenisation is checked against ours);
* **bound**: the FLOP-bound rate at the fp32 matmul throughput measured in the same run (a 2048² matmul timed right
  before every measurement), for the work prompt sharing cannot avoid: body ``2 · params_body`` per token processed
  (the common prefix once, each prompt's rest once, each option token once, no padding), LM head ``2 · hidden ·
  vocab`` per scored position (each prompt's last, each option token but its last), attention ``4 · heads ·
  head_dim`` per (query, key) pair and layer.

Rounds measure all methods back to back, so a burst of load from elsewhere (the machine may be shared) hits them
alike; ratios are taken per round and their median reported. Per-option scores of ours, scratch and lm-eval must
agree within ``--tolerance`` and their picks (argmax of the summed log-probability, lm-eval's ``acc``) must agree: the
benchmark asserts it. Peak resident memory (VmHWM) of each method comes from a fresh subprocess per measurement.

``--agreement N`` also scores ``N`` questions per language in fp32, under bf16 autocast (``autocast_dtype``) and with
bf16 weights, and prints how often the picked option is the same as fp32's, per scoring rule.

    flock /tmp/geounlearn-heavy.lock python bench/bench_respond.py --threads 1    # shared machine: 1 thread
    python bench/bench_respond.py --languages en fr hi --agreement 300 --repeats 0     # precision agreement only
    python bench/bench_respond.py --mode generate --model smollm2-135m-instruct      # loglik vs generation
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# OpenMP threads that spin while waiting steal the cores from the threads doing the work when the machine is shared:
# with 2 threads under load ~7 on 2 cores, scoring took 35-66 s spinning vs 12-16 s passive (1 thread: 11 s).
# Set before torch is imported; every method measured here runs under the same setting.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gradient_ascent import gemm_throughput  # noqa: E402  (the one GEMM probe of the benchmarks)

REPO = Path(__file__).resolve().parents[1]
SEEGULL = REPO.parent / "shared" / "data" / "seegull_mcq" / "mcq_stereotype_dataset_{language}.csv"


def dataset_path(language: str, dataset: str | None) -> str:
    if dataset:
        return dataset.format(language=language)
    path = Path(str(SEEGULL).format(language=language))
    if path.is_file():
        return str(path)
    from geounlearn_trl.data.unlearning import sample_mcq_path

    return sample_mcq_path(language)


def load(model_name: str, dtype: str | None = None):
    from trl import ModelConfig

    from geounlearn_trl.models import load_model_and_tokenizer

    model, tokenizer = load_model_and_tokenizer(ModelConfig(model_name_or_path=model_name, dtype=dtype))
    return model.eval(), tokenizer


def build_questions(tokenizer, language: str, style: str, count: int, seed: int, dataset: str | None, start: int = 0):
    """Prompts, options and our encoding of ``count`` questions; plain prompts (Gemma 3 270M has no chat template)."""
    from geounlearn_trl.data.languages import load_language_pack
    from geounlearn_trl.data.mcq import load_mcq, present_question
    from geounlearn_trl.evaluation.scoring import encode_options

    pack = load_language_pack(language)
    rows = load_mcq(dataset_path(language, dataset))
    rows = rows.select(range(start, min(start + count, len(rows))))
    presented = [present_question(row, pack, seed, prompt_style=style) for row in rows]
    prompts = [q.prompt for q in presented]
    options = [q.options for q in presented]
    return prompts, options, encode_options(tokenizer, prompts, options, use_chat_template=False), pack


# --- the three ways to score -------------------------------------------------------------------------------------


def ours(model, tokenizer, prompts, options, batch_size: int, share_prompt: bool = True, autocast_dtype=None):
    from geounlearn_trl.evaluation.scoring import encode_options, score_questions

    encoded = encode_options(tokenizer, prompts, options, use_chat_template=False)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    totals = score_questions(model, encoded, batch_size=batch_size, pad_token_id=pad, share_prompt=share_prompt,
                             autocast_dtype=autocast_dtype)
    return [[total for total, _ in row] for row in totals]


def lm_eval_model(model, tokenizer, batch_size: int):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)


def lm_eval_scores(lm, prompts, options):
    from lm_eval.api.instance import Instance

    requests = [Instance(request_type="loglikelihood", doc={}, arguments=(prompt, " " + option), idx=j)
                for prompt, row in zip(prompts, options) for j, option in enumerate(row)]
    flat = [logprob for logprob, _ in lm.loglikelihood(requests, disable_tqdm=True)]
    scores, cursor = [], 0
    for row in options:
        scores.append(flat[cursor : cursor + len(row)])
        cursor += len(row)
    return scores


def lm_eval_tokens_match(lm, encoded, prompts, options) -> tuple[int, int, list[str]]:
    """How many (context, continuation) pairs lm-eval tokenises exactly as we do, of how many, and a few that differ."""
    same, total, examples = 0, 0, []
    for prompt, row, pairs in zip(prompts, options, encoded):
        for option, pair in zip(row, pairs):
            context, continuation = lm._encode_pair(prompt, " " + option)
            total += 1
            if context + continuation == pair.input_ids and len(context) == pair.prompt_length:
                same += 1
            elif len(examples) < 3:
                examples.append(f"{option!r}: lm-eval {continuation} vs ours {pair.input_ids[pair.prompt_length:]}")
    return same, total, examples


# --- the FLOP bound ----------------------------------------------------------------------------------------------


def shared_work_flops(model, encoded) -> dict:
    """FLOPs of the work prompt sharing cannot avoid (module docstring), from the model's shapes."""
    from geounlearn_trl.evaluation.scoring import MIN_SHARED_PREFIX, _common_prefix_length

    config = model.config
    hidden, vocab = config.hidden_size, config.vocab_size
    params = sum(p.numel() for p in model.parameters())  # the tied embedding / LM head counted once
    params_body = params - vocab * hidden
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    prompts = [pairs[0].input_ids[: pairs[0].prompt_length] for pairs in encoded]
    common = _common_prefix_length(prompts, min(len(p) for p in prompts) - 1) if len(prompts) > 1 else 0
    common = common if common >= MIN_SHARED_PREFIX else 0
    tokens = common + sum(len(p) - common for p in prompts)
    positions = len(encoded)
    key_pairs = sum(range(1, common + 1)) + sum(sum(range(common + 1, len(p) + 1)) for p in prompts)
    for pairs in encoded:
        for pair in pairs:
            length = len(pair.input_ids) - pair.prompt_length
            tokens += length
            positions += length - 1
            key_pairs += sum(range(pair.prompt_length + 1, len(pair.input_ids) + 1))
    body = 2 * params_body * tokens
    head = 2 * hidden * vocab * positions
    attention = 4 * heads * head_dim * config.num_hidden_layers * key_pairs
    return {"tokens": tokens, "positions": positions, "body": body, "head": head, "attention": attention,
            "total": body + head + attention, "params_body": params_body}


# --- peak memory in fresh subprocesses ---------------------------------------------------------------------------


def memory_child(args) -> None:
    """Run one method once in this (fresh) process and print its peak RSS in MiB."""
    model, tokenizer = load(args.model)
    prompts, options, _, _ = build_questions(tokenizer, args.languages[0], args.prompt_styles[0], args.questions,
                                             args.seed, args.dataset)
    with torch.no_grad():
        if args.child == "ours":
            ours(model, tokenizer, prompts, options, args.batch_size)
        elif args.child == "scratch":
            ours(model, tokenizer, prompts, options, args.batch_size, share_prompt=False)
        elif args.child == "lm-eval":
            lm_eval_scores(lm_eval_model(model, tokenizer, args.lm_eval_batch_size), prompts, options)
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child would report its parent's peak.
    with open("/proc/self/status", encoding="ascii") as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"method": args.child, "peak_rss_mib": peak_kib / 1024}))


def peak_memory(args, method: str) -> float:
    command = [sys.executable, __file__, "--child", method, "--model", args.model, "--languages", args.languages[0],
               "--prompt_styles", args.prompt_styles[0], "--questions", str(args.questions), "--batch_size",
               str(args.batch_size), "--lm_eval_batch_size", str(args.lm_eval_batch_size), "--seed", str(args.seed)]
    if args.dataset:
        command += ["--dataset", args.dataset]
    if args.threads:
        command += ["--threads", str(args.threads)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])["peak_rss_mib"]


# --- speed -------------------------------------------------------------------------------------------------------


def picks(scores) -> list[int]:
    from geounlearn_trl.evaluation.scoring import choose_options

    return choose_options(scores)


def check_agreement(name: str, reference, other, tolerance: float) -> float:
    """Largest |difference| of per-option scores; asserts it is within ``tolerance`` and that the picks agree."""
    worst = max(abs(a - b) for row_a, row_b in zip(reference, other) for a, b in zip(row_a, row_b))
    assert worst <= tolerance, f"{name}: per-option scores differ by up to {worst:.2e} (tolerance {tolerance:.0e})"
    differ = [i for i, (a, b) in enumerate(zip(picks(reference), picks(other))) if a != b]
    assert not differ, f"{name}: picks differ on questions {differ}"
    return worst


def speed(args, model, tokenizer, language: str, style: str, lm) -> dict:
    prompts, options, encoded, _ = build_questions(tokenizer, language, style, args.questions, args.seed, args.dataset)
    n, pairs = len(prompts), sum(len(row) for row in options)
    flops = shared_work_flops(model, encoded)
    prompt_tokens = statistics.mean(p[0].prompt_length for p in encoded)
    option_tokens = statistics.mean(len(p.input_ids) - p.prompt_length for row in encoded for p in row)
    print(f"\n## {language}, {style} prompts: {n} questions, {pairs} options; prompt {prompt_tokens:.1f} tokens, "
          f"option {option_tokens:.2f} tokens (means)")
    if lm is not None:
        same, total, examples = lm_eval_tokens_match(lm, encoded, prompts, options)
        print(f"lm-eval tokenisation (context + continuation, split at the context's length) equals ours on "
              f"{same}/{total} pairs" + ("" if same == total else f"; e.g. {'; '.join(examples)}"))
    methods = {"ours": lambda: ours(model, tokenizer, prompts, options, args.batch_size),
               "scratch": lambda: ours(model, tokenizer, prompts, options, args.batch_size, share_prompt=False)}
    if lm is not None:
        methods["lm-eval"] = lambda: lm_eval_scores(lm, prompts, options)
    ours(model, tokenizer, prompts[:4], options[:4], args.batch_size)  # warm-up (allocator, kernels, packing check)
    walls = {name: [] for name in methods}
    rates = {name: [] for name in methods}
    results = {}
    for _ in range(args.repeats):
        for name, function in methods.items():
            rates[name].append(gemm_throughput(2048))
            start = time.perf_counter()
            results[name] = function()
            walls[name].append(time.perf_counter() - start)
    worst = {f"{name} vs scratch": check_agreement(name, results["scratch"], results[name], args.tolerance)
             for name in methods if name != "scratch"}
    if lm is not None:
        worst["lm-eval vs ours"] = check_agreement("lm-eval vs ours", results["ours"], results["lm-eval"],
                                                   args.tolerance)

    rows = []
    for name in methods:
        bound = [rate * 1e9 / flops["total"] * n for rate in rates[name]]  # items/s at that round's matmul rate
        per_round = [n / wall / b for wall, b in zip(walls[name], bound)]
        rows.append((name, statistics.median(walls[name]), n / statistics.median(walls[name]),
                     statistics.median(bound), statistics.median(per_round), statistics.median(rates[name])))
    print(f"FLOPs of the shared work: {flops['total'] / 1e9:.1f} G ({flops['tokens']} tokens through the body: "
          f"{flops['body'] / 1e9:.1f} G; {flops['positions']} LM-head positions: {flops['head'] / 1e9:.1f} G; "
          f"attention {flops['attention'] / 1e9:.2f} G)")
    print("\n| method | wall s (median) | items/s | bound items/s (at that matmul rate) | % of bound | "
          "matmul GFLOP/s (median) |\n|---|---|---|---|---|---|")
    for name, wall, items, bound, fraction, rate in rows:
        print(f"| {name} | {wall:.2f} | {items:.2f} | {bound:.2f} | {fraction:.0%} | {rate:.0f} |")

    def ratio(slow: str) -> str:
        per_round = [s / f for f, s in zip(walls["ours"], walls[slow])]
        return f"{statistics.median(per_round):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in per_round)})"

    print(f"\nours vs scratch: {ratio('scratch')}")
    if lm is not None:
        print(f"ours vs lm-eval: {ratio('lm-eval')}  (target >= 2x)")
    for name, value in worst.items():
        print(f"per-option scores {name}: max |diff| {value:.2e} (<= {args.tolerance:.0e}); "
              f"picks identical on {n}/{n} questions")
    return {"language": language, "style": style, "rows": rows}


# --- reduced precision -------------------------------------------------------------------------------------------


def precision_agreement(args, model, tokenizer) -> None:
    """How often bf16 (autocast, or bf16 weights) picks the option fp32 picks, per scoring rule, on fresh questions."""
    from geounlearn_trl.evaluation.scoring import (
        SCORING_RULES,
        apply_scoring_rule,
        content_free_loglikelihoods,
        score_questions,
    )

    bf16_model = load(args.model, dtype="bfloat16")[0]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    print(f"\n## Precision agreement: {args.agreement} questions per language, "
          f"{' and '.join(args.prompt_styles)} prompts, picks vs fp32")
    print("\n| language | prompts | variant | " + " | ".join(SCORING_RULES) + " | wall s | max abs diff of sums |")
    print("|---|---|---|" + "---|" * len(SCORING_RULES) + "---|---|")
    for language in args.languages:
        for style in args.prompt_styles:
            prompts, options, encoded, pack = build_questions(tokenizer, language, style, args.agreement, args.seed,
                                                              args.dataset)
            premises = [pack.content_free_prompt] * len(prompts)
            variants = {"fp32": (model, None), "bf16 autocast": (model, torch.bfloat16),
                        "bf16 weights": (bf16_model, None)}
            picked, sums = {}, {}
            for variant, (scoring_model, autocast_dtype) in variants.items():
                start = time.perf_counter()
                totals = score_questions(scoring_model, encoded, batch_size=args.batch_size, pad_token_id=pad,
                                         autocast_dtype=autocast_dtype)
                context = torch.autocast("cpu", dtype=autocast_dtype) if autocast_dtype else torch.no_grad()
                with context:
                    unconditional = content_free_loglikelihoods(scoring_model, tokenizer, premises, options,
                                                                batch_size=args.batch_size, pad_token_id=pad)
                wall = time.perf_counter() - start
                sums[variant] = [[total for total, _ in row] for row in totals]
                picked[variant] = {
                    rule: picks([[apply_scoring_rule(rule, total, count, option, unconditional[i][j])
                                  for j, ((total, count), option) in enumerate(zip(row, options[i]))]
                                 for i, row in enumerate(totals)])
                    for rule in SCORING_RULES
                }
                cells = []
                for rule in SCORING_RULES:
                    same = sum(a == b for a, b in zip(picked[variant][rule], picked["fp32"][rule]))
                    cells.append(f"{same}/{len(prompts)} ({same / len(prompts):.1%})")
                diff = max(abs(a - b) for ra, rb in zip(sums[variant], sums["fp32"]) for a, b in zip(ra, rb))
                print(f"| {language} | {style} | {variant} | " + " | ".join(cells) + f" | {wall:.1f} | {diff:.3f} |",
                      flush=True)


# --- the older comparison: option log-likelihood vs generation ---------------------------------------------------


def compare_generate(args) -> None:
    """loglik vs batched and one-at-a-time greedy generation (the benchmark's earlier content), same questions."""
    from geounlearn_trl.evaluation.answers import parse_answer
    from geounlearn_trl.evaluation.responding import generate_answers
    from geounlearn_trl.data.languages import load_language_pack
    from geounlearn_trl.data.mcq import load_mcq, present_question
    from geounlearn_trl.evaluation.scoring import choose_options, option_loglikelihoods
    from geounlearn_trl.data.unlearning import sample_mcq_path

    model, tokenizer = load(args.model)
    chat = tokenizer.chat_template is not None
    language = args.languages[0]
    pack = load_language_pack(language)
    rows = load_mcq(args.dataset or sample_mcq_path(language))
    rows = rows.select(range(min(args.questions, len(rows))))
    presented = [present_question(row, pack, args.seed) for row in rows]
    prompts, options = [q.prompt for q in presented], [q.options for q in presented]
    n, batch = len(prompts), max(1, args.batch_size // 5)

    def loglik():
        return choose_options(option_loglikelihoods(model, tokenizer, prompts, options, batch_size=args.batch_size,
                                                    use_chat_template=chat, normalize="mean"))

    def generate(size):
        return lambda: [text for start in range(0, n, size)
                        for text in generate_answers(model, tokenizer, prompts[start : start + size], 32, chat)]

    modes = {"loglik": loglik, f"generate, batched {batch}": generate(batch), "generate, one at a time": generate(1)}
    option_loglikelihoods(model, tokenizer, prompts[:2], options[:2], use_chat_template=chat)  # warm-up, path check
    generate_answers(model, tokenizer, prompts[:2], 4, chat)
    walls, outputs = {name: [] for name in modes}, {}
    for _ in range(max(args.repeats, 1)):
        for name, function in modes.items():
            start = time.perf_counter()
            outputs[name] = function()
            walls[name].append(time.perf_counter() - start)
    print(f"\n{args.model}, {n} {language} questions, chat template {'on' if chat else 'off'}")
    print("| mode | wall s (median) | items/s |\n|---|---|---|")
    for name in modes:
        print(f"| {name} | {statistics.median(walls[name]):.2f} | {n / statistics.median(walls[name]):.2f} |")
    parsed = [parse_answer(text, row, pack).option_index for text, row in zip(outputs[f"generate, batched {batch}"],
                                                                              options)]
    named = [i for i, choice in enumerate(parsed) if choice is not None]
    print(f"generated answers naming an option: {len(named)}/{n}; same option as loglik: "
          f"{sum(parsed[i] == outputs['loglik'][i] for i in named)}/{len(named)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["loglik", "generate"], default="loglik")
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--dataset", default=None,
                        help="MCQ CSV, '{language}' filled in (default: ../shared/data SeeGULL MCQ, else the sample)")
    parser.add_argument("--languages", nargs="+", default=["hi", "en"])
    parser.add_argument("--prompt_styles", nargs="+", default=["cloze", "options"], choices=["cloze", "options"])
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--batch_size", type=int, default=80, help="(prompt, option) pairs per forward pass (ours)")
    parser.add_argument("--lm_eval_batch_size", type=int, default=16, help="requests per forward pass (lm-eval)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds, each timing every method back to back")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="max |diff| of per-option scores")
    parser.add_argument("--agreement", type=int, default=0, help="questions per language for the bf16 agreement")
    parser.add_argument("--no_memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", choices=["baseline", "ours", "scratch", "lm-eval"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    # Shows it if option scoring ever falls back from prompt sharing.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("geounlearn_trl.evaluation.scoring").setLevel(logging.INFO)
    if args.child:
        memory_child(args)
        return
    if args.mode == "generate":
        compare_generate(args)
        return

    model, tokenizer = load(args.model)
    try:
        lm = lm_eval_model(model, tokenizer, args.lm_eval_batch_size)
    except ImportError:
        lm = None
        print("lm-eval is not installed (pip install lm-eval): its column is skipped.")
    print(f"Model {args.model}: {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M params, "
          f"{model.dtype}, {model.config._attn_implementation} attention; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; batch {args.batch_size} pairs "
          f"(lm-eval {args.lm_eval_batch_size}), {args.repeats} rounds")
    for language in args.languages if args.repeats else []:
        for style in args.prompt_styles:
            speed(args, model, tokenizer, language, style, lm)
    if args.repeats and not args.no_memory:
        methods = ["baseline", "ours", "scratch"] + (["lm-eval"] if lm is not None else [])
        memory = {method: peak_memory(args, method) for method in methods}
        print(f"\nPeak RSS (VmHWM, fresh subprocess each, {args.languages[0]} {args.prompt_styles[0]}, "
              f"{args.questions} questions): " + ", ".join(f"{m} {v:.0f} MiB" for m, v in memory.items())
              + " (baseline: model loaded, nothing scored)")
    if args.agreement:
        precision_agreement(args, model, tokenizer)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
