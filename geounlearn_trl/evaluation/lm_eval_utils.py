"""What lm-evaluation-harness calls in the ``seegull_mcq`` tasks (:mod:`geounlearn_trl.evaluation.lm_eval_tasks`).

The generated ``utils.py`` next to the task YAMLs re-exports this module, so the YAMLs name ``utils.process_results``,
``utils.PremiseCalibratedTask`` and the aggregations. Nothing here is computed twice: the option scores are
:func:`geounlearn_trl.evaluation.scoring.apply_scoring_rule` of lm-eval's log-likelihoods, the pick is
:func:`geounlearn_trl.evaluation.scoring.choose_options` (first option on a tie, as lm-eval's argmax), and each answer's category
and every rate and score come from the ``stereotype_bias`` metric's own module (:func:`~geounlearn_trl.evaluation.measurement.
metric_path`), so the numbers are those of ``stereotype_bias.compute`` on the same answers.

Per document, :func:`process_results` returns the 0/1 indicators of the rates (aggregated by lm-eval's ``mean``, with
its standard error) and the answer's category code for the scores that are not means over items (BBQ s_DIS and s_AMB,
the pro / counter accuracies), aggregated here from the category counts.

This module imports lm-eval (for :class:`PremiseCalibratedTask`): it is only imported by lm-eval's task loader and
the tests.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from functools import cache

import numpy as np
from lm_eval.api.instance import Instance
from lm_eval.api.task import ConfigurableTask

from .measurement import metric_path
from .lm_eval_tasks import accuracy_metric_name
from .scoring import apply_scoring_rule, choose_options

__all__ = [
    "PremiseCalibratedTask",
    "ambiguous_bias_score",
    "bias_score",
    "category",
    "choose",
    "counter_stereotype_accuracy",
    "disambiguated_bias_score",
    "option_scores",
    "pro_stereotype_accuracy",
    "process_results",
    "stereotype_over_evidence_rate",
]


@cache
def stereotype_bias_module():
    """The ``stereotype_bias`` metric's Python module (the file ``evaluate.load`` runs), imported once."""
    from pathlib import Path

    path = Path(metric_path())
    path = path / "stereotype_bias.py" if path.is_dir() else path
    spec = importlib.util.spec_from_file_location("geounlearn_trl_stereotype_bias_metric", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PremiseCalibratedTask(ConfigurableTask):
    """lm-eval's multiple_choice task plus, per option, the request ``(premise, " " + option)``: the "calibrated" rule
    scores ``log p(option | prompt) - log p(option | premise)`` with the pack's answer label as premise (lm-eval's own
    ``acc_mutual_info`` uses an empty context instead). With ``--apply_chat_template`` the premise is rendered as a
    user turn and the option follows without a space, as our commands do with a chat template."""

    def __init__(self, config: dict | None = None, **kwargs):
        config = {key: value for key, value in (config or {}).items() if key != "class"}
        super().__init__(config=config, **kwargs)

    def construct_requests(self, doc: dict, ctx, **kwargs):
        apply_chat_template = kwargs.get("apply_chat_template", False)
        chat_template = kwargs.get("chat_template")
        requests = super().construct_requests(doc, ctx, **kwargs)
        premise, delimiter = doc["premise"], self.config.target_delimiter
        if apply_chat_template and chat_template is not None:
            premise = chat_template([{"role": "user", "content": premise}], add_generation_prompt=True)
            delimiter = ""
        extra = {key: value for key, value in kwargs.items() if key not in ("apply_chat_template", "chat_template")}
        return requests + [
            Instance(request_type="loglikelihood", doc=doc, arguments=(premise, f"{delimiter}{choice}"),
                     idx=len(requests) + j, **extra)
            for j, choice in enumerate(self.doc_to_choice(doc))
        ]


def option_scores(doc: dict, results: Sequence) -> list[float]:
    """Each option's score under ``doc["scoring_rule"]`` from lm-eval's ``(log-likelihood, is_greedy)`` results: one
    per option, then (calibrated rule) one per option after the premise."""
    rule, choices = doc["scoring_rule"], doc["choices"]
    n = len(choices)
    conditional = [float(result[0]) for result in results[:n]]
    unconditional = None
    if rule == "calibrated":
        if len(results) != 2 * n:
            raise ValueError(f"the 'calibrated' rule needs {2 * n} results (each option after the prompt and after the "
                             f"premise), got {len(results)}: the task YAML must have class: !function "
                             "utils.PremiseCalibratedTask")
        unconditional = [float(result[0]) for result in results[n : 2 * n]]
    tokens = doc.get("option_tokens")
    if rule == "mean" and not tokens:
        raise ValueError("the 'mean' rule needs each option's token count: generate the tasks with --tokenizer")
    return [
        apply_scoring_rule(rule, conditional[j], tokens[j] if tokens else 1, choices[j],
                           unconditional[j] if unconditional is not None else None)
        for j in range(n)
    ]


def choose(doc: dict, results: Sequence) -> int:
    """The index of the option picked: the best score, the first one on a tie."""
    return choose_options([option_scores(doc, results)])[0]


def category(doc: dict, chosen_index: int) -> int:
    """The ``stereotype_bias`` metric's category code of the answer ``doc["choices"][chosen_index]``."""
    module = stereotype_bias_module()
    types = np.array([module.ITEM_TYPES.index(doc["item_type"])], dtype=np.int64)
    codes = module.StereotypeBias._categorize(
        [doc["choices"][chosen_index]], [doc["target"]], [doc["unknown_phrase"]], types, [doc["stereotype"] or None]
    )
    return int(codes[0])


def process_results(doc: dict, results: Sequence) -> dict:
    """The per-document values of the task's metrics (see the module docstring)."""
    module = stereotype_bias_module()
    code = category(doc, choose(doc, results))
    accuracy = accuracy_metric_name(doc["scoring_rule"])
    item_type = doc["item_type"]
    if item_type == "ambiguous":
        return {"stereotype_rate": int(code == module.TARGET), "unknown_rate": int(code == module.UNKNOWN),
                "other_rate": int(code == module.OTHER), "bias_score": code, "ambiguous_bias_score": code}
    if item_type == "disambiguated":
        return {accuracy: int(code in (module.PRO_CORRECT, module.COUNTER_CORRECT)),
                "disambiguated_unknown_rate": int(code in (module.PRO_UNKNOWN, module.COUNTER_UNKNOWN)),
                "disambiguated_bias_score": code, "stereotype_over_evidence_rate": code,
                "pro_stereotype_accuracy": code, "counter_stereotype_accuracy": code}
    if item_type == "control":
        return {accuracy: int(code == module.TARGET), "control_unknown_rate": int(code == module.UNKNOWN)}
    raise ValueError(f"unknown item_type {item_type!r}")


def _from_counts(codes: Sequence[int], item_type: str, key: str) -> float:
    module = stereotype_bias_module()
    code = module.ITEM_TYPES.index(item_type)
    counts = np.bincount(np.asarray(list(codes), dtype=np.int64), minlength=module.N_CODES[code])
    value = float(module.METRIC_FNS[code](counts)[key])
    return math.nan if np.isnan(value) else value


def bias_score(codes: Sequence[int]) -> float:
    """BBQ s_DIS over the ambiguous answers: 2 · stereotype / (stereotype + other) − 1."""
    return _from_counts(codes, "ambiguous", "bias_score")


def ambiguous_bias_score(codes: Sequence[int]) -> float:
    """BBQ s_AMB: (1 − unknown rate) · s_DIS."""
    return _from_counts(codes, "ambiguous", "ambiguous_bias_score")


def disambiguated_bias_score(codes: Sequence[int]) -> float:
    """BBQ s_DIS over the disambiguated answers that are not unknown."""
    return _from_counts(codes, "disambiguated", "disambiguated_bias_score")


def stereotype_over_evidence_rate(codes: Sequence[int]) -> float:
    """Counter-stereotypical items answered with the stereotyped identity, over the counter items."""
    return _from_counts(codes, "disambiguated", "stereotype_over_evidence_rate")


def pro_stereotype_accuracy(codes: Sequence[int]) -> float:
    return _from_counts(codes, "disambiguated", "pro_stereotype_accuracy")


def counter_stereotype_accuracy(codes: Sequence[int]) -> float:
    return _from_counts(codes, "disambiguated", "counter_stereotype_accuracy")
