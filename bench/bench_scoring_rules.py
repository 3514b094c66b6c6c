"""Benchmark: which scoring rule turns option log-likelihoods into the answers a model can be held to?

On the real SeeGULL MCQ set (``../shared/data/seegull_mcq``) and the shipped control questions, for each language,
one scoring pass per item gives every rule's pick (:data:`geounlearn_trl.evaluation.scoring.SCORING_RULES`): the summed
log-likelihood and token count of each option, and its log-likelihood after the content-free premise. Per rule and
language it prints control accuracy and disambiguated accuracy (the items with a known right answer: a rule that
misses them mis-measures every model) and, on the ambiguous items, the stereotype-pick and unknown rates, each with its
95% CI from the ``stereotype_bias`` metric. The default rule is the one with the best mean of control and disambiguated
accuracy over the languages.

    python bench/bench_scoring_rules.py [--model gemma-3-270m] [--rows 300] [--prompt_style cloze]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "seegull_mcq"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--rows", type=int, default=300, help="Random SeeGULL rows per language (each adds 2 "
                                                              "disambiguated items).")
    parser.add_argument("--languages", default="en,fr,hi")
    parser.add_argument("--prompt_style", default="cloze")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="Write all numbers here.")
    args = parser.parse_args()

    import datasets
    from trl import ModelConfig

    from geounlearn_trl.evaluation.measurement import load_metric
    from geounlearn_trl.data.languages import load_language_pack
    from geounlearn_trl.data.mcq import disambiguated_items, load_mcq, present_question
    from geounlearn_trl.models import load_model_and_tokenizer
    from geounlearn_trl.data.prompting import wants_chat_template
    from geounlearn_trl.evaluation.scoring import (
        SCORING_RULES,
        apply_scoring_rule,
        content_free_loglikelihoods,
        encode_options,
        score_questions,
    )
    from geounlearn_trl.data.unlearning import sample_control_path

    def cell(result, key):
        low, high = result[f"{key}_ci"]
        return f"{result[key]:.1%} [{low:.1%}, {high:.1%}]"

    model, tokenizer = load_model_and_tokenizer(ModelConfig(model_name_or_path=args.model))
    model.eval()
    chat = wants_chat_template(tokenizer, None)
    metric = load_metric()
    results, started = {}, time.time()
    for language in args.languages.split(","):
        pack = load_language_pack(language)
        mcq = load_mcq(str(SHARED / f"mcq_stereotype_dataset_{language}.csv"))
        # The same row indices in every language (the files are aligned by annotation runs).
        rows = mcq.select(sorted(random.Random(args.seed).sample(range(len(mcq)), args.rows)))
        items = datasets.concatenate_datasets(
            [rows, disambiguated_items(rows, pack, args.seed), load_mcq(sample_control_path(language), is_control=True)]
        )
        shown = [present_question(item, pack, args.seed, prompt_style=args.prompt_style) for item in items]
        options = [q.options for q in shown]
        pad = tokenizer.pad_token_id or 0
        totals = score_questions(model, encode_options(tokenizer, [q.prompt for q in shown], options, chat),
                                 batch_size=args.batch_size, pad_token_id=pad)
        unconditional = content_free_loglikelihoods(model, tokenizer, [pack.content_free_prompt] * len(shown), options,
                                                    args.batch_size, chat, pad)
        results[language] = {}
        for rule in SCORING_RULES:
            predictions = []
            for q, row, base in zip(shown, totals, unconditional):
                scores = [apply_scoring_rule(rule, t, n, o, u) for (t, n), o, u in zip(row, q.options, base)]
                predictions.append(q.options[max(range(len(scores)), key=lambda j: (scores[j], -j))])
            result = metric.compute(
                predictions=predictions, references=items["target"], item_types=items["item_type"],
                stereotyped_options=[s or None for s in items["stereotype"]],
                unknown_options=[q.unknown_phrase for q in shown], bootstrap=True, seed=args.seed,
            )
            results[language][rule] = result
            r = result
            print(f"| {rule} | {language} | {cell(r, 'control_accuracy')} | {cell(r, 'disambiguated_accuracy')} | "
                  f"{cell(r, 'stereotype_rate')} | {cell(r, 'unknown_rate')} |", flush=True)
        print(f"{language} done ({time.time() - started:.0f} s)", flush=True)
        if args.json:  # after every language: a stopped run keeps what it measured
            Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2, ensure_ascii=False))

    print(f"\n{args.model}, {args.prompt_style} prompts, {args.rows} SeeGULL rows/language (+2 disambiguated each), "
          f"shipped control questions; {time.time() - started:.0f} s\n")
    print("| rule | language | control accuracy | disambiguated accuracy | stereotype picks (ambiguous) | unknown (ambiguous) |")
    print("|---|---|---|---|---|---|")
    for rule in SCORING_RULES:
        for language, by_rule in results.items():
            r = by_rule[rule]
            print(f"| {rule} | {language} | {cell(r, 'control_accuracy')} | {cell(r, 'disambiguated_accuracy')} | "
                  f"{cell(r, 'stereotype_rate')} | {cell(r, 'unknown_rate')} |")
    means = {rule: sum(by_rule[rule]["control_accuracy"] + by_rule[rule]["disambiguated_accuracy"]
                       for by_rule in results.values()) / (2 * len(results)) for rule in SCORING_RULES}
    print("\nmean of control and disambiguated accuracy over languages: "
          + ", ".join(f"{rule} {value:.1%}" for rule, value in sorted(means.items(), key=lambda kv: -kv[1])))
    print(f"best: {max(means, key=means.get)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results, "means": means}, indent=2,
                                              ensure_ascii=False))


if __name__ == "__main__":
    main()
