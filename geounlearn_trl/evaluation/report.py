"""The report over several scored runs: the library behind ``geounlearn-trl report``.

:func:`report` is the whole command as a typed function (TRL's ``main(script_args, ...)`` shape). It reads the
``summary.json`` files written by ``score`` (:func:`load_runs`; each run there is one model measured in one language),
tells the baseline from the unlearned models (:func:`assign_roles`: ``--baseline``, or the only model whose name names
no language; every other model was unlearned in one language, from ``--unlearned_languages name=en,other=fr`` or from
a ``en`` / ``fr`` / ``hi`` token of its name, :func:`infer_unlearned_language`), and writes into ``--output_dir``:

* ``report.md``: per model and language, every metric with its 95% interval and the change from the baseline,
  control accuracy and control unknown rate beside them (:func:`markdown_table`);
* ``before_after.png``: per metric, bars per evaluation language, baseline vs each unlearned model, with intervals,
  control accuracy in its own panel;
* ``cross_lingual.png``: matrices "unlearned in (row) x measured in (column)" of the change in stereotype rate,
  unknown rate and control accuracy.

The pictures are drawn by :mod:`geounlearn_trl.evaluation.plots`; every file is written to a temporary name first, so
a stopped run leaves the previous report whole.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.languages import available_languages
from ..data.records import InputError, read_text
from ..files import write_text_atomic
from .plots import METRIC_LABELS, Series, plot_before_after, plot_cross_lingual

logger = logging.getLogger("geounlearn_trl.report")

TABLE_METRICS = ("stereotype_rate", "unknown_rate", "other_rate", "unparsed_rate", "bias_score",
                 "ambiguous_bias_score", "control_accuracy", "control_unknown_rate")


class SummaryFormatError(InputError):
    """A ``summary.json`` that is not one ``score`` writes; the message names the file, the run and the field."""


@dataclass
class ReportArguments:
    summaries: list[str] = field(metadata={"help": "summary.json files written by `score` (or folders holding one)."})
    output_dir: str = field(default="report/", metadata={"help": "Where report.md and the PNGs go."})
    baseline: str | None = field(default=None, metadata={"help": "Model name of the run before unlearning."})
    unlearned_languages: str | None = field(
        default=None, metadata={"help": "Language each model was unlearned in: 'model_a=en,model_b=fr'. Default: "
                                         "read from the model name."},
    )
    plot_metrics: str = field(
        default="stereotype_rate,unknown_rate,ambiguous_bias_score,control_accuracy",
        metadata={"help": "Metrics of before_after.png (comma-separated; control metrics get their own panels)."},
    )
    matrix_metrics: str = field(default="stereotype_rate,unknown_rate,control_accuracy",
                                metadata={"help": "Metrics of the cross-lingual matrices."})
    mode: str | None = field(default=None, metadata={"help": "Only runs of this respond mode (loglik/generate)."})
    title: str | None = field(default=None, metadata={"help": "Title of before_after.png."})


def load_runs(paths: list[str], mode: str | None) -> dict[tuple[str, str], dict]:
    """``(model, language) -> metrics`` over all summaries; a later run of the same pair replaces an earlier one."""
    runs: dict[tuple[str, str], dict] = {}
    for name in paths:
        path = Path(name)
        if path.is_dir():
            path = path / "summary.json"
        if not path.is_file():
            raise FileNotFoundError(f"{name}: no summary.json (run `geounlearn-trl score` first).")
        try:
            data = json.loads(read_text(path)[0])  # UTF-8 (a BOM is dropped); a bad byte is named with its offset
        except json.JSONDecodeError as error:
            raise SummaryFormatError(f"{path}: not valid JSON ({error.msg}; line {error.lineno}, column "
                                     f"{error.colno}).") from None
        if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
            raise SummaryFormatError(f"{path}, key 'runs': not a score summary (no list of 'runs').")
        for index, run in enumerate(data["runs"]):
            if not isinstance(run, dict):
                raise SummaryFormatError(f"{path}, run {index}: expected an object, got {type(run).__name__}.")
            for key in ("model", "language", "metrics"):
                if key not in run:
                    raise SummaryFormatError(f"{path}, run {index}, field {key!r}: missing.")
            if not isinstance(run["metrics"], dict):
                raise SummaryFormatError(f"{path}, run {index}, field 'metrics': expected an object.")
            if mode is not None and run.get("mode") not in (mode, None):
                continue
            pair = (run["model"], run["language"])
            if pair in runs:
                logger.warning("%s: %s in %s appears more than once; using the last one.", path, *pair)
            runs[pair] = run["metrics"]
    if not runs:
        raise ValueError("No runs in " + ", ".join(paths) + (f" with mode {mode!r}" if mode else ""))
    return runs


def infer_unlearned_language(model: str, languages: list[str]) -> str | None:
    tokens = re.split(r"[^0-9A-Za-z]+", model.lower())
    found = [code for code in languages if code in tokens]
    return found[-1] if found else None


def assign_roles(models: list[str], args: ReportArguments) -> tuple[str | None, dict[str, str | None]]:
    """The baseline model and the unlearning language of every model."""
    explicit = {}
    if args.unlearned_languages:
        for item in args.unlearned_languages.split(","):
            if "=" not in item:
                raise ValueError(f"--unlearned_languages: {item!r} is not model=language.")
            model, language = (part.strip() for part in item.split("=", 1))
            if model not in models:
                raise ValueError(f"--unlearned_languages: no run of model {model!r} (models: {', '.join(models)}).")
            explicit[model] = language
    codes = available_languages()
    roles = {model: explicit.get(model, infer_unlearned_language(model, codes)) for model in models}
    baseline = args.baseline
    if baseline is None:
        candidates = [model for model in models if roles[model] is None]
        if len(candidates) == 1:
            baseline = candidates[0]
        elif len(models) > 1:
            raise ValueError(
                f"Cannot tell the baseline among {', '.join(candidates or models)}: give --baseline (and "
                "--unlearned_languages if the model names name no language)."
            )
    if baseline is not None:
        if baseline not in models:
            raise ValueError(f"--baseline {baseline!r}: no run of that model (models: {', '.join(models)}).")
        roles[baseline] = None
    return baseline, roles


def _value(metrics: dict | None, key: str) -> float | None:
    return None if metrics is None else metrics.get(key)


def markdown_table(runs, models, languages, baseline) -> str:
    def cell(metrics, key, language):
        value = _value(metrics, key)
        if value is None:
            return "–"
        text = f"{value:.3f}"
        interval = metrics.get(f"{key}_ci")
        if interval:
            text += f" [{interval[0]:.2f}, {interval[1]:.2f}]"
        if baseline is not None and metrics is not runs.get((baseline, language)):
            before = _value(runs.get((baseline, language)), key)
            if before is not None:
                text += f" (Δ {value - before:+.3f})"
        return text

    lines = ["| model | language | n | " + " | ".join(METRIC_LABELS[k][0] for k in TABLE_METRICS) + " | control n |",
             "|" + "---|" * (len(TABLE_METRICS) + 4)]
    for model in models:
        for language in languages:
            metrics = runs.get((model, language))
            if metrics is None:
                continue
            lines.append(f"| {model}{' (baseline)' if model == baseline else ''} | {language} | {metrics['n']} | "
                         + " | ".join(cell(metrics, key, language) for key in TABLE_METRICS)
                         + f" | {metrics.get('control_n') or '–'} |")
    return "\n".join(lines) + "\n"


def report(args: ReportArguments) -> int:
    """Read the summaries of ``args``, write ``report.md``, ``before_after.png`` and (with a baseline and unlearned
    models) ``cross_lingual.png`` into ``args.output_dir``, print the table and the files written; returns 0.

    A malformed summary raises :class:`SummaryFormatError`, a missing one :class:`FileNotFoundError`, flags that don't
    fit the runs (no baseline to tell, an unknown metric) :class:`ValueError`: before any file is written.
    """
    runs = load_runs(args.summaries, args.mode)
    models = list(dict.fromkeys(model for model, _ in runs))
    pack_order = {code: i for i, code in enumerate(["en", "fr", "hi", *available_languages()])}
    languages = sorted({language for _, language in runs}, key=lambda code: (pack_order.get(code, 99), code))
    baseline, roles = assign_roles(models, args)
    # Baseline first, then unlearned models by the language they were unlearned in.
    models.sort(key=lambda m: (m != baseline, pack_order.get(roles[m] or "", 99), m))
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    def label(model: str) -> str:
        if model == baseline:
            return f"{model} (before)"
        return f"{model} (unlearned: {roles[model]})" if roles[model] else model

    panels = {}
    for metric in [m.strip() for m in args.plot_metrics.split(",") if m.strip()]:
        if metric not in METRIC_LABELS:
            raise ValueError(f"--plot_metrics: unknown metric {metric!r} (choose from {', '.join(METRIC_LABELS)}).")
        panels[metric] = [
            Series(label(model), [_value(runs.get((model, lang)), metric) for lang in languages],
                   [(runs.get((model, lang)) or {}).get(f"{metric}_ci") for lang in languages])
            for model in models
        ]
    before_after = output_dir / "before_after.png"
    plot_before_after(languages, panels, str(before_after), title=args.title)
    written = [before_after]

    unlearned = [model for model in models if model != baseline]
    if baseline is not None and unlearned:
        matrices, after_values = {}, {}
        for metric in [m.strip() for m in args.matrix_metrics.split(",") if m.strip()]:
            change = np.full((len(unlearned), len(languages)), np.nan)
            after = np.full_like(change, np.nan)
            for i, model in enumerate(unlearned):
                for j, language in enumerate(languages):
                    now = _value(runs.get((model, language)), metric)
                    before = _value(runs.get((baseline, language)), metric)
                    if now is not None:
                        after[i, j] = now
                    if now is not None and before is not None:
                        change[i, j] = now - before
            matrices[metric], after_values[metric] = change, after
        cross = output_dir / "cross_lingual.png"
        row_labels = [f"{roles[m].upper()}: {m}" if roles[m] else m for m in unlearned]
        diagonal = [languages.index(roles[m]) if roles[m] in languages else None for m in unlearned]
        plot_cross_lingual(row_labels, languages, matrices, after_values, str(cross), diagonal=diagonal)
        written.append(cross)
    else:
        logger.info("No baseline and unlearned models to compare: cross_lingual.png not drawn.")

    table = markdown_table(runs, models, languages, baseline)
    images = "\n".join(f"![{path.stem}]({path.name})" for path in written)
    report_file = output_dir / "report.md"
    write_text_atomic(
        report_file,
        "# Stereotype unlearning report\n\n"
        "Rates are fractions of the stereotype questions; [low, high] are 95% bootstrap intervals; Δ is the change "
        f"from the baseline{f' `{baseline}`' if baseline else ''} in the same language. Control accuracy must stay "
        "high: a model that answers \"unknown\" to everything is broken, not unbiased.\n\n"
        + table + "\n" + images + "\n",
    )
    print(table)
    for path in [report_file, *written]:
        print(f"Wrote {path}")
    return 0

