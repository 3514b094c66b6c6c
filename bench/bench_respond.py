"""Benchmark of `geounlearn-trl respond`'s two modes on the same model and the same questions, in one run.

Measures items (questions) per second of

* ``loglik``: every option scored by log-likelihood, batched forward passes (what ``--mode loglik`` runs);
* ``generate``, batched: greedy generation of ``--max_new_tokens`` tokens for ``--batch_size`` questions at once;
* ``generate``, one at a time: the same, one question per ``generate`` call (the cost the batching removes);

and prints the ratios (target: loglik >= 10x generate) plus how often the two modes pick the same option.

    flock /tmp/geounlearn-heavy.lock python bench/bench_respond.py            # embedded SmolLM2-135M, 40 questions
    python bench/bench_respond.py --model smollm2-135m-instruct --questions 40 --max_new_tokens 32
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

from geounlearn_trl.answers import parse_answer  # noqa: E402
from geounlearn_trl.cli.respond import generate_answers  # noqa: E402
from geounlearn_trl.languages import load_language_pack  # noqa: E402
from geounlearn_trl.mcq import load_mcq, present_question  # noqa: E402
from geounlearn_trl.models import load_tokenizer, resolve_model_path  # noqa: E402
from geounlearn_trl.scoring import choose_options, option_loglikelihoods  # noqa: E402
from geounlearn_trl.unlearn_data import sample_mcq_path  # noqa: E402


def measure(function) -> tuple[float, float, object]:
    """Wall and process-CPU seconds of one call, and its result.

    CPU time is reported beside wall time because the benchmark machine may be shared: other processes stretch wall
    time, much less the CPU time this process itself spends.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--dataset", default=None, help="MCQ CSV (default: the shipped sample of --language)")
    parser.add_argument("--language", default="en")
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--batch_size", type=int, default=16, help="questions per batch (both modes)")
    parser.add_argument("--max_new_tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="rounds, each timing all three modes back to back")
    parser.add_argument("--no_chat_template", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    # Shows it if option scoring ever falls back from prompt sharing to scoring every pair from scratch.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("geounlearn_trl.scoring").setLevel(logging.INFO)

    path = resolve_model_path(args.model)
    tokenizer = load_tokenizer(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    use_chat_template = not args.no_chat_template and tokenizer.chat_template is not None
    pack = load_language_pack(args.language)
    rows = load_mcq(args.dataset or sample_mcq_path(args.language))
    rows = rows.select(range(min(args.questions, len(rows))))
    presented = [present_question(row, pack, args.seed) for row in rows]
    prompts = [question.prompt for question in presented]
    options = [question.options for question in presented]
    n = len(prompts)

    def loglik():
        scores = []
        for start in range(0, n, args.batch_size):
            scores += option_loglikelihoods(
                model, tokenizer, prompts[start : start + args.batch_size], options[start : start + args.batch_size],
                batch_size=args.batch_size * 5, use_chat_template=use_chat_template,
            )
        return choose_options(scores)

    def generate(batch_size: int):
        def run():
            texts = []
            for start in range(0, n, batch_size):
                texts += generate_answers(model, tokenizer, prompts[start : start + batch_size], args.max_new_tokens,
                                          use_chat_template)
            return texts
        return run

    # Warm-up (allocator, kernels) on a couple of questions of each kind.
    option_loglikelihoods(model, tokenizer, prompts[:2], options[:2], use_chat_template=use_chat_template)
    generate_answers(model, tokenizer, prompts[:2], 4, use_chat_template)

    # Rounds: each measures all three back to back, so a burst of load from elsewhere (the machine may be shared)
    # hits the three alike; the ratios are computed per round and their median reported.
    modes = (("loglik", loglik), ("generate_batched", generate(args.batch_size)), ("generate_single", generate(1)))
    walls = {name: [] for name, _ in modes}
    cpus = {name: [] for name, _ in modes}
    for _ in range(args.repeats):
        for name, function in modes:
            wall, cpu, result = measure(function)
            walls[name].append(wall)
            cpus[name].append(cpu)
            if name == "loglik":
                loglik_choice = result
            elif name == "generate_batched":
                batched_texts = result
            else:
                single_texts = result

    parsed = [parse_answer(text, row, pack).option_index for text, row in zip(batched_texts, options)]
    named = [i for i, choice in enumerate(parsed) if choice is not None]
    agree = sum(parsed[i] == loglik_choice[i] for i in named)
    same_text = sum(a.strip() == b.strip() for a, b in zip(batched_texts, single_texts))

    print(f"\nModel {args.model} ({sum(p.numel() for p in model.parameters()) / 1e6:.0f}M params, fp32), "
          f"{n} {args.language} questions x 5 options, chat template {'on' if use_chat_template else 'off'}, "
          f"batch {args.batch_size}, max_new_tokens {args.max_new_tokens}, {args.repeats} rounds")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print("\n| mode | wall s (median) | items/s (wall) | CPU s (median) | items/s (CPU) |\n|---|---|---|---|---|")
    labels = {"loglik": "loglik (option log-likelihood, batched)", "generate_batched": f"generate, batched {args.batch_size}",
              "generate_single": "generate, one at a time"}
    for name, label in labels.items():
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"| {label} | {wall:.2f} | {n / wall:.2f} | {cpu:.2f} | {n / cpu:.2f} |")

    def ratio(times, faster, slower):
        per_round = [slow / fast for fast, slow in zip(times[faster], times[slower])]
        return f"{statistics.median(per_round):.1f}x (rounds: {', '.join(f'{r:.1f}' for r in per_round)})"

    for label, times in (("wall", walls), ("CPU", cpus)):
        print(f"\n[{label}] loglik vs generate batched:        {ratio(times, 'loglik', 'generate_batched')}  (target >= 10x)")
        print(f"[{label}] loglik vs generate one at a time:  {ratio(times, 'loglik', 'generate_single')}")
        print(f"[{label}] generate batched vs one at a time: {ratio(times, 'generate_batched', 'generate_single')}")
    print(f"\ngenerated answers naming an option: {len(named)}/{n}; of those, same option as loglik: {agree}/{len(named)}")
    print(f"batched and one-at-a-time generations identical: {same_text}/{n}")
    new_tokens = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in batched_texts]
    print(f"generated tokens per answer: mean {statistics.mean(new_tokens):.1f}, max {max(new_tokens)} "
          f"(generation stops at EOS; the bound is {args.max_new_tokens})")


if __name__ == "__main__":
    main()
