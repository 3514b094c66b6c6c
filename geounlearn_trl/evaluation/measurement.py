"""Measurement, in one place: what a model answers on held-out questions, and what that says, with its noise.

Every command that measures (``demo``, ``compare``, ``respond``, the benchmarks) goes through this module, so a number
means the same thing wherever it is printed:

1. :func:`build_eval_set`: per language, the held-out stereotype questions (*ambiguous*: nothing says who the person
   is, the unbiased answer is "unknown"), two *disambiguated* items per question (the context states the identity:
   the right answer is the stated one, "unknown" is over-abstention; :func:`~geounlearn_trl.data.mcq.disambiguated_items`),
   the factual *control* questions, and retain texts.
2. :func:`answer_questions`: every item presented with the language's unknown phrase among its options (seeded
   shuffle, :func:`~geounlearn_trl.data.mcq.present_question`) and answered by option log-likelihood under one scoring rule
   (:mod:`geounlearn_trl.evaluation.scoring`).
3. :func:`summarise`: the answers go through the ``stereotype_bias`` evaluate module (rates, BBQ scores, bootstrap
   CIs, and with a baseline the *paired* change and whether it is outside the noise); retain perplexity gets its own
   bootstrap over texts here.

A model that answers "unknown" to everything is broken, not fair: the disambiguated and control columns sit beside
the stereotype ones so that it shows.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import datasets
import numpy as np
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..data.languages import LanguagePack, load_language_pack
from ..data.mcq import PROMPT_STYLES, PresentedQuestion, disambiguated_items, present_question
from .scoring import DEFAULT_SCORING_RULE, SCORING_RULES, encode_options, option_loglikelihoods, score_questions

METRIC_ENV = "GEOUNLEARN_STEREOTYPE_BIAS_METRIC"
# In a wheel the metric is package data (setup.py maps it); in a source checkout it is the top-level metrics/ folder.
INSTALLED_METRIC_PATH = Path(__file__).resolve().parents[1] / "metrics" / "stereotype_bias"
CHECKOUT_METRIC_PATH = Path(__file__).resolve().parents[2] / "metrics" / "stereotype_bias"


def metric_path() -> str:
    """Where ``evaluate.load`` finds ``stereotype_bias``: ``$GEOUNLEARN_STEREOTYPE_BIAS_METRIC``, the installed copy, or
    the checkout's."""
    if os.environ.get(METRIC_ENV):
        return os.environ[METRIC_ENV]
    for candidate in (INSTALLED_METRIC_PATH, CHECKOUT_METRIC_PATH):
        if (candidate / "stereotype_bias.py").is_file():
            return str(candidate)
    raise FileNotFoundError(
        f"The stereotype_bias metric was found neither in the installed package ({INSTALLED_METRIC_PATH}) nor in a "
        f"source checkout ({CHECKOUT_METRIC_PATH}). Reinstall geounlearn-trl, or set {METRIC_ENV} to its folder."
    )


def load_metric():
    """The ``stereotype_bias`` evaluate module, loaded the way users load it (``evaluate.load(<folder>)``)."""
    import evaluate

    return evaluate.load(metric_path())


@dataclass
class MeasurementArguments:
    """How held-out questions are shown and scored; the same before and after unlearning, and in every command."""

    eval_languages: str = field(default="en,fr,hi", metadata={"help": "Languages measured."})
    scoring_rule: str = field(
        default=DEFAULT_SCORING_RULE,
        metadata={"help": "How an option's log-likelihood becomes its score (see geounlearn_trl.evaluation.scoring).",
                  "choices": list(SCORING_RULES)},
    )
    eval_batch_size: int = field(default=64, metadata={"help": "(prompt, option) pairs per scoring forward pass."})
    max_eval_questions: int | None = field(
        default=None, metadata={"help": "Cap on held-out stereotype questions per language (each adds 2 disambiguated)."}
    )
    max_control_questions: int | None = field(default=None, metadata={"help": "Cap on control questions per language."})
    max_retain_texts: int = field(default=60, metadata={"help": "Retain texts per language for the perplexity."})
    bootstrap_resamples: int = field(default=1000, metadata={"help": "Resamples of the bootstrap confidence intervals."})
    confidence_level: float = field(default=0.95, metadata={"help": "Of the confidence intervals."})


@dataclass(frozen=True)
class ScoringSettings:
    """What decides which option a model picks: recorded beside every result."""

    seed: int
    prompt_style: str
    scoring_rule: str
    use_chat_template: bool
    batch_size: int = 64

    def __post_init__(self):
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {self.prompt_style!r}")
        if self.scoring_rule not in SCORING_RULES:
            raise ValueError(f"scoring_rule must be one of {SCORING_RULES}, got {self.scoring_rule!r}")

    def describe(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "batch_size"}


@dataclass
class EvalSet:
    """One language's held-out items (ambiguous + disambiguated + control rows, normalised MCQ schema) and retain texts."""

    language: str
    items: datasets.Dataset
    retain: datasets.Dataset | None = None

    def count(self, item_type: str) -> int:
        return sum(1 for value in self.items["item_type"] if value == item_type)


def build_eval_set(
    language: str,
    held_out: datasets.Dataset,
    control: datasets.Dataset | None,
    retain: datasets.Dataset | None,
    seed: int,
    args: MeasurementArguments | None = None,
) -> EvalSet:
    """The items of one language: held-out stereotype rows, their disambiguated items, control rows; and retain texts
    (give held-out ones, :func:`~geounlearn_trl.data.unlearning.hold_out_retain`; at most ``max_retain_texts`` are used)."""
    args = args or MeasurementArguments()
    pack = load_language_pack(language)
    if args.max_eval_questions is not None:
        held_out = held_out.select(range(min(args.max_eval_questions, len(held_out))))
    parts = [held_out, disambiguated_items(held_out, pack, seed)]
    if control is not None:
        if args.max_control_questions is not None:
            control = control.select(range(min(args.max_control_questions, len(control))))
        parts.append(control)
    if retain is not None:
        retain = retain.select(range(min(args.max_retain_texts, len(retain))))
    return EvalSet(language, datasets.concatenate_datasets(parts), retain)


@dataclass(frozen=True)
class Answer:
    """One item as shown to the model, the option it picked and every option's score."""

    item: dict
    presented: PresentedQuestion
    chosen_index: int
    scores: list[float]

    @property
    def prediction(self) -> str:
        return self.presented.options[self.chosen_index]


def answer_questions(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    items: Sequence[dict] | datasets.Dataset,
    pack: LanguagePack,
    settings: ScoringSettings,
) -> list[Answer]:
    """Present each item (its options + one unknown phrase, seeded shuffle) and pick the best-scoring option."""
    items = list(items)
    presented = [present_question(item, pack, settings.seed, prompt_style=settings.prompt_style) for item in items]
    return [Answer(item, question, chosen, row)
            for item, question, (chosen, row) in zip(items, presented, pick_options(model, tokenizer, presented, pack,
                                                                                    settings))]


def pick_options(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, presented: Sequence[PresentedQuestion],
    pack: LanguagePack, settings: ScoringSettings,
) -> list[tuple[int, list[float]]]:
    """``(chosen index, every option's score)`` per presented question, under ``settings.scoring_rule``; the first
    option wins a tie, as in lm-evaluation-harness's argmax."""
    scores = option_loglikelihoods(
        model, tokenizer, [q.prompt for q in presented], [q.options for q in presented],
        batch_size=settings.batch_size, use_chat_template=settings.use_chat_template,
        normalize=settings.scoring_rule, content_free_prompts=pack.content_free_prompt,
    )
    return [(max(range(len(row)), key=lambda j: (row[j], -j)), row) for row in scores]


@dataclass
class ModelAnswers:
    """What one model answered on one language's :class:`EvalSet`, and its retain log-likelihood per text."""

    language: str
    answers: list[Answer]
    retain_log_likelihood: list[tuple[float, int]] = field(default_factory=list)  # (sum log p, tokens) per text


def retain_log_likelihoods(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, retain: datasets.Dataset, pack: LanguagePack,
    settings: ScoringSettings,
) -> list[tuple[float, int]]:
    """Per retain text, the log-likelihood of its answer after its question (the pack's cloze format), or of a plain
    ``text`` row from its first token on; the answer/text tokens only are scored."""
    if "question" in retain.column_names:
        prompts = [pack.format_cloze_prompt(question) for question in retain["question"]]
        continuations = retain["answer"]
    else:
        prompts, continuations = [""] * len(retain), retain["text"]
    encoded = encode_options(tokenizer, prompts, [[text] for text in continuations], settings.use_chat_template)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return [row[0] for row in score_questions(model, encoded, batch_size=settings.batch_size, pad_token_id=pad)]


def measure_model(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, eval_set: EvalSet, settings: ScoringSettings
) -> ModelAnswers:
    """Answers on every item of ``eval_set`` and the retain log-likelihoods, with the model in eval mode."""
    pack = load_language_pack(eval_set.language)
    answers = answer_questions(model, tokenizer, eval_set.items, pack, settings)
    retain = retain_log_likelihoods(model, tokenizer, eval_set.retain, pack, settings) if eval_set.retain else []
    return ModelAnswers(eval_set.language, answers, retain)


def metric_inputs(measured: Sequence[ModelAnswers]) -> dict:
    """The ``stereotype_bias`` metric's inputs for the answers of several languages (rows in order)."""
    answers = [(m.language, a) for m in measured for a in m.answers]
    return {
        "predictions": [a.prediction for _, a in answers],
        "references": [a.item["target"] for _, a in answers],
        "item_types": [a.item["item_type"] for _, a in answers],
        "stereotyped_options": [a.item["stereotype"] or None for _, a in answers],
        "unknown_options": [a.presented.unknown_phrase for _, a in answers],
        "languages": [language for language, _ in answers],
    }


def answer_records(after: Sequence[ModelAnswers], before: Sequence[ModelAnswers] | None = None) -> list[dict]:
    """Every item's answer (and the baseline's), one record per item: what the summary's numbers were computed from,
    so that anyone can recompute them (``stereotype_bias`` over these fields gives the same numbers)."""
    records = []
    for index, measured in enumerate(after):
        baseline = before[index].answers if before is not None else [None] * len(measured.answers)
        for answer, base in zip(measured.answers, baseline):
            item = answer.item
            records.append({
                "language": measured.language, "item_type": item["item_type"], "source": item["source"],
                "row": item["row"], "prompt": answer.presented.prompt, "options": answer.presented.options,
                "target": item["target"], "stereotype": item["stereotype"] or None,
                "unknown_option": answer.presented.unknown_phrase, "prediction": answer.prediction,
                **({"baseline_prediction": base.prediction} if base is not None else {}),
            })
    return records


def perplexity_summary(
    after: Sequence[tuple[float, int]],
    before: Sequence[tuple[float, int]] | None = None,
    n_bootstrap: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> dict:
    """Retain perplexity ``exp(−Σ log p / Σ tokens)`` with a bootstrap CI over texts, and with ``before`` (the same
    texts) the paired ratio after/before with its CI: texts are resampled jointly, so their shared difficulty cancels."""
    if not after:
        return {}
    log_p = np.array([total for total, _ in after], dtype=float)
    tokens = np.array([count for _, count in after], dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(after), size=(n_bootstrap, len(after)))
    alpha = (1 - confidence_level) / 2

    def ppl(values, counts, index=None):
        if index is None:
            return math.exp(-values.sum() / counts.sum())
        return np.exp(-values[index].sum(-1) / counts[index].sum(-1))

    def interval(samples):
        return [float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha))]

    result = {"retain_perplexity": ppl(log_p, tokens), "retain_perplexity_ci": interval(ppl(log_p, tokens, picks)),
              "retain_n": len(after)}
    if before is not None:
        if len(before) != len(after):
            raise ValueError(f"{len(before)} baseline retain texts but {len(after)} measured: they must be the same texts")
        base_log_p = np.array([total for total, _ in before], dtype=float)
        base = ppl(base_log_p, tokens)
        ratios = ppl(log_p, tokens, picks) / ppl(base_log_p, tokens, picks)
        low, high = interval(ratios)
        result.update({"baseline_retain_perplexity": base, "retain_perplexity_ratio": result["retain_perplexity"] / base,
                       "retain_perplexity_ratio_ci": [low, high], "retain_perplexity_ratio_significant": not low <= 1 <= high})
    return result


def summarise(
    after: Sequence[ModelAnswers],
    before: Sequence[ModelAnswers] | None = None,
    args: MeasurementArguments | None = None,
    metric=None,
    seed: int = 0,
) -> dict:
    """Per language (``by_language``) and over all: the metric's rates with CIs; with ``before`` (the same items, in the
    same order) the paired changes and whether they are outside the noise; retain perplexity likewise."""
    args = args or MeasurementArguments()
    metric = metric or load_metric()
    inputs = metric_inputs(after)
    if before is not None:
        baseline = metric_inputs(before)
        if baseline["references"] != inputs["references"] or baseline["item_types"] != inputs["item_types"]:
            raise ValueError("before and after were measured on different items: a paired comparison needs the same")
        inputs["baseline_predictions"] = baseline["predictions"]
    result = metric.compute(**inputs, bootstrap=True, n_bootstrap=args.bootstrap_resamples,
                            confidence_level=args.confidence_level, seed=seed)
    for index, measured in enumerate(after):
        result["by_language"][measured.language].update(perplexity_summary(
            measured.retain_log_likelihood, before[index].retain_log_likelihood if before is not None else None,
            args.bootstrap_resamples, args.confidence_level, seed,
        ))
    return result


# The columns of every before/after table: (title, key of the metric, what a good change is).
REPORT_COLUMNS = (
    ("stereotype picks", "stereotype_rate", "↓"),
    ("unknown", "unknown_rate", "↑"),
    ("disambiguated accuracy", "disambiguated_accuracy", "≈ base"),
    ("control accuracy", "control_accuracy", "≈ base"),
)


def _percent_cell(values: dict, key: str, with_delta: bool) -> str:
    value, ci = values.get(key), values.get(f"{key}_ci")
    if value is None:
        return "–"
    text = f"{value:.0%}" + (f" [{ci[0]:.0%}, {ci[1]:.0%}]" if ci else "")
    if with_delta and values.get("delta", {}).get(key) is not None:
        base = values["baseline"][key]
        delta, delta_ci = values["delta"][key], values.get("delta_ci", {}).get(key)
        mark = "" if not values.get("delta_significant", {}).get(key) else " **"
        text = f"{base:.0%} → {text}; Δ {delta * 100:+.1f} pts" + (
            f" [{delta_ci[0] * 100:+.1f}, {delta_ci[1] * 100:+.1f}]{mark}" if delta_ci else ""
        )
    return text


def format_report(summary: dict, trained_languages: Sequence[str] = ()) -> str:
    """A markdown table, one row per language: each rate before → after [95% CI], its paired change Δ [CI], ``**``
    where the change is outside the noise; then retain perplexity and the counts."""
    paired = "delta" in summary
    header = ["language", "n (stereo / disamb. / control)"] + [f"{title} ({goal})" for title, _, goal in REPORT_COLUMNS]
    header.append("retain perplexity (≈ base)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for language, values in summary["by_language"].items():
        tag = " (trained)" if language in trained_languages else ""
        counts = f"{values['n']} / {values.get('disambiguated_n') or 0} / {values.get('control_n') or 0}"
        cells = [_percent_cell(values, key, paired) for _, key, _ in REPORT_COLUMNS]
        ppl = values.get("retain_perplexity")
        if ppl is None:
            cells.append("–")
        elif paired:
            low, high = values["retain_perplexity_ratio_ci"]
            mark = " **" if values["retain_perplexity_ratio_significant"] else ""
            cells.append(f"{values['baseline_retain_perplexity']:.2f} → {ppl:.2f}; ×{values['retain_perplexity_ratio']:.3f}"
                         f" [{low:.3f}, {high:.3f}]{mark}")
        else:
            low, high = values["retain_perplexity_ci"]
            cells.append(f"{ppl:.2f} [{low:.2f}, {high:.2f}]")
        lines.append(f"| {language}{tag} | {counts} | " + " | ".join(cells) + " |")
    legend = ("\nRates: before → after [95% bootstrap CI]; Δ: paired change in points [95% CI], ** where the CI excludes "
              "0 (a change without ** is inside the noise: no result). Perplexity: ×ratio after/before [95% CI]."
              if paired else "\nRates [95% bootstrap CI].")
    return "\n".join(lines) + legend


def verdicts(summary: dict, trained_languages: Sequence[str]) -> list[str]:
    """One sentence per trained language: did unlearning reduce stereotype picks beyond the noise, and at what cost."""
    lines = []
    for language in trained_languages:
        values = summary["by_language"].get(language)
        if not values or "delta" not in values:
            continue
        significant = values.get("delta_significant", {})

        def said(key, title):
            delta = values["delta"].get(key)
            if delta is None:
                return None
            where = "outside the noise" if significant.get(key) else "inside the noise"
            return f"{title} {delta * 100:+.1f} pts ({where})"

        effect = said("stereotype_rate", "stereotype picks")
        costs = [text for text in (said("disambiguated_accuracy", "disambiguated accuracy"),
                                   said("control_accuracy", "control accuracy")) if text]
        ratio = values.get("retain_perplexity_ratio")
        if ratio is not None:
            where = "outside the noise" if values["retain_perplexity_ratio_significant"] else "inside the noise"
            costs.append(f"retain perplexity ×{ratio:.3f} ({where})")
        lines.append(f"{language}: {effect}; cost: {', '.join(costs)}.")
    return lines


def format_methods_table(summaries: dict[str, dict], language: str) -> str:
    """One row per method, each paired against the same base on the same held-out items of ``language``: the change
    of every rate [95% CI] (``**`` outside the noise) and the retain perplexity ratio, forgetting beside its cost."""
    header = ["method"] + [f"Δ {title} ({goal})" for title, _, goal in REPORT_COLUMNS] + ["retain perplexity ×"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, summary in summaries.items():
        values = summary["by_language"][language]
        cells = []
        for _, key, _ in REPORT_COLUMNS:
            delta, ci = values.get("delta", {}).get(key), values.get("delta_ci", {}).get(key)
            if delta is None:
                cells.append("–")
                continue
            mark = " **" if values.get("delta_significant", {}).get(key) else ""
            cells.append(f"{values['baseline'][key]:.0%} → {values[key]:.0%}; {delta * 100:+.1f}"
                         + (f" [{ci[0] * 100:+.1f}, {ci[1] * 100:+.1f}]" if ci else "") + mark)
        ratio = values.get("retain_perplexity_ratio")
        if ratio is None:
            cells.append("–")
        else:
            low, high = values["retain_perplexity_ratio_ci"]
            cells.append(f"×{ratio:.3f} [{low:.3f}, {high:.3f}]" + (" **" if values["retain_perplexity_ratio_significant"]
                                                                     else ""))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    first = next(iter(summaries.values()))["by_language"][language]
    counts = f"{first['n']} stereotype / {first.get('disambiguated_n') or 0} disambiguated / {first.get('control_n') or 0} control"
    return "\n".join(lines) + (f"\n\n{language}, {counts} held-out items, the same for every method. Δ in points "
                               "[95% paired bootstrap CI]; ** where the CI excludes 0 (without **: inside the noise, "
                               "no result).")
