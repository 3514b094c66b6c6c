"""Our stereotype evaluation as lm-evaluation-harness tasks, for every language pack.

:func:`write_lm_eval_tasks` writes, into one folder, what ``lm_eval --include_path <folder>`` needs to measure any model
(``--model hf --model_args pretrained=…,peft=<adapter>``, or any other backend) on the same items, prompts, option
order and scoring rule as our own measurement (:mod:`geounlearn_trl.evaluation.measurement`), with the same numbers:

* per language ``<code>`` three tasks, ``seegull_mcq_<code>_ambiguous`` (the held-out stereotype questions: stereotype
  rate, unknown rate, BBQ s_DIS and s_AMB), ``seegull_mcq_<code>_disambiguated`` (two items per question whose context
  states the identity: accuracy, over-abstention, s_DIS, stereotype over evidence) and ``seegull_mcq_<code>_control``
  (factual questions: accuracy), grouped as ``seegull_mcq_<code>``; and the group ``seegull_mcq`` over all languages;
* the items, already presented (:func:`~geounlearn_trl.data.mcq.present_question`: the language's unknown phrase among the
  options, the seeded shuffle, the cloze prompt), as JSONL files under ``data/``, read by lm-eval's local ``json``
  loader: nothing is downloaded;
* ``utils.py``, which hands lm-eval's log-likelihoods to :mod:`geounlearn_trl.evaluation.lm_eval_utils` (the scoring rule, the
  pick, the ``stereotype_bias`` metric's categories and scores);
* ``manifest.json``: the settings, the held-out split and the tasks, for the record.

Items come from the shipped sample (``geounlearn_trl/data``) or the files a user names (the real SeeGULL CSVs), through
:func:`~geounlearn_trl.data.mcq.load_mcq` and the same held-out split as every command
(:func:`~geounlearn_trl.data.mcq.held_out_split`, ``--eval_fraction``/``--split_seed``). Scoring follows
:mod:`geounlearn_trl.evaluation.scoring` with plain prompts (``use_chat_template=False``): the prompt ends in the pack's answer
label, each option is scored as ``" " + option``. lm-eval's HF backend tokenises context + continuation together and
splits at the context's length, where we tokenise them apart; :func:`tokenization_mismatches` lists the pairs on which
a tokenizer makes the two differ (none, for the embedded models' tokenizers on every shipped item in en, fr and hi).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import datasets

from . import scoring
from ..files import write_text_atomic
from ..data.languages import LanguagePack, available_languages, load_language_pack
from ..data.mcq import (
    DATASET_SPEC_HELP,
    ITEM_TYPES,
    PROMPT_STYLES,
    SplitArguments,
    disambiguated_items,
    file_for_language,
    held_out_split,
    load_mcq,
    present_question,
)

logger = logging.getLogger(__name__)

TASK_PREFIX = "seegull_mcq"
SPLITS = ("eval", "train", "all")
TASK_VERSION = 1.0
# lm-eval's names for the accuracy under a rule it has; ours (acc_<rule>) for the rules it lacks.
LM_EVAL_ACCURACY_NAMES = {"sum": "acc", "acc_norm": "acc_norm", "acc_bytes": "acc_bytes"}

# (metric, aggregation, higher_is_better) per item type; "mean" is lm-eval's (with its standard error), a name is a
# function of lm_eval_utils aggregating the per-item categories of the stereotype_bias metric. "{acc}" is the accuracy.
TASK_METRICS = {
    "ambiguous": (
        ("stereotype_rate", "mean", False),
        ("unknown_rate", "mean", True),
        ("other_rate", "mean", False),
        ("bias_score", "bias_score", False),
        ("ambiguous_bias_score", "ambiguous_bias_score", False),
    ),
    "disambiguated": (
        ("{acc}", "mean", True),
        ("disambiguated_unknown_rate", "mean", False),
        ("disambiguated_bias_score", "disambiguated_bias_score", False),
        ("stereotype_over_evidence_rate", "stereotype_over_evidence_rate", False),
        ("pro_stereotype_accuracy", "pro_stereotype_accuracy", True),
        ("counter_stereotype_accuracy", "counter_stereotype_accuracy", True),
    ),
    "control": (
        ("{acc}", "mean", True),
        ("control_unknown_rate", "mean", False),
    ),
}
# The stereotype_bias metric's key for each task metric (the README table; the tests compare them).
OUR_METRIC_NAMES = {
    "ambiguous": {"stereotype_rate": "stereotype_rate", "unknown_rate": "unknown_rate", "other_rate": "other_rate",
                  "bias_score": "bias_score", "ambiguous_bias_score": "ambiguous_bias_score"},
    "disambiguated": {"{acc}": "disambiguated_accuracy", "disambiguated_unknown_rate": "disambiguated_unknown_rate",
                      "disambiguated_bias_score": "disambiguated_bias_score",
                      "stereotype_over_evidence_rate": "stereotype_over_evidence_rate",
                      "pro_stereotype_accuracy": "pro_stereotype_accuracy",
                      "counter_stereotype_accuracy": "counter_stereotype_accuracy"},
    "control": {"{acc}": "control_accuracy", "control_unknown_rate": "control_unknown_rate"},
}
UTILS_PY = '''"""lm-evaluation-harness glue of the seegull_mcq tasks, written by `geounlearn-trl lm-eval-tasks`.

Everything is in geounlearn_trl.evaluation.lm_eval_utils (pip install "geounlearn-trl[lm-eval]"): the scoring rule, the pick,
the stereotype_bias metric's categories and scores, and the task class of the "calibrated" rule.
"""

try:
    from geounlearn_trl.evaluation.lm_eval_utils import *  # noqa: F401,F403
except ImportError as error:  # pragma: no cover - a message for users
    raise ImportError(
        "The seegull_mcq lm-eval tasks need geounlearn-trl installed beside lm-eval: "
        'pip install "geounlearn-trl[lm-eval]"'
    ) from error
'''


def accuracy_metric_name(scoring_rule: str) -> str:
    """The task metric of an accuracy under ``scoring_rule``: lm-eval's ``acc`` / ``acc_norm`` / ``acc_bytes`` for the
    rules it has (``sum`` is its ``acc``), ``acc_<rule>`` otherwise (``acc_calibrated``, ``acc_mean``)."""
    if scoring_rule not in scoring.SCORING_RULES:
        raise ValueError(f"scoring rule must be one of {scoring.SCORING_RULES}, got {scoring_rule!r}")
    return LM_EVAL_ACCURACY_NAMES.get(scoring_rule, f"acc_{scoring_rule}")


def task_name(language: str, item_type: str) -> str:
    return f"{TASK_PREFIX}_{language}_{item_type}"


def group_name(language: str | None = None) -> str:
    return TASK_PREFIX if language is None else f"{TASK_PREFIX}_{language}"


@dataclass
class LmEvalTaskArguments:
    """What ``geounlearn-trl lm-eval-tasks`` writes, and from which items."""

    output_dir: str = field(default="./lm_eval_tasks", metadata={"help": "Folder of the task YAMLs, utils.py and data/ "
                                                                       "(give it to lm_eval --include_path)."})
    languages: str | None = field(
        default=None,
        metadata={"help": "Comma-separated language codes; default: every installed language pack (those without "
                          "data are skipped with a warning) and every --language_pack."},
    )
    language_pack: str | None = field(
        default=None,
        metadata={"help": "Comma-separated language-pack JSON files (the fields of geounlearn_trl.data.languages."
                          "LanguagePack) for languages that are not installed."},
    )
    dataset: str | None = field(
        default=None,
        metadata={"help": f"Stereotype MCQ file(s): {DATASET_SPEC_HELP}; a language not named gets the shipped "
                          "sample."},
    )
    control_dataset: str | None = field(
        default=None,
        metadata={"help": "Control MCQ file(s), the same forms as --dataset; default: the shipped control questions; "
                          "'none': no control task."},
    )
    split: str = field(default="eval", metadata={"help": "Which stereotype rows: the held-out split (eval), the "
                                                         "training rows (train) or all.", "choices": list(SPLITS)})
    seed: int = field(default=42, metadata={"help": "Seed of the option shuffle, unknown phrase and counter-stereotype "
                                                    "identity, as the measuring commands' --seed."})
    scoring_rule: str | None = field(
        default=None,
        metadata={"help": "How option log-likelihoods become scores (geounlearn_trl.evaluation.scoring); default: "
                          "geounlearn_trl.evaluation.scoring.DEFAULT_SCORING_RULE.", "choices": list(scoring.SCORING_RULES)},
    )
    prompt_style: str = field(default="cloze", metadata={"help": "cloze (the measuring commands' default) or "
                                                                 "options (lettered options in the prompt).",
                                                         "choices": list(PROMPT_STYLES)})
    max_questions: int | None = field(default=None, metadata={"help": "Cap on stereotype questions per language (each "
                                                                      "adds 2 disambiguated items)."})
    max_control_questions: int | None = field(default=None, metadata={"help": "Cap on control questions per language."})
    tokenizer: str | None = field(
        default=None,
        metadata={"help": "A model (folder, embedded name or Hub id) whose tokenizer is checked against lm-eval's "
                          "encoding and gives each option's token count (needed by the 'mean' rule)."},
    )
    skip_bad_rows: bool = field(default=False, metadata={"help": "Skip malformed MCQ rows instead of stopping."})

    def __post_init__(self):
        if self.split not in SPLITS:
            raise ValueError(f"--split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(f"--prompt_style must be one of {', '.join(PROMPT_STYLES)}, got {self.prompt_style!r}")
        if self.scoring_rule is not None and self.scoring_rule not in scoring.SCORING_RULES:
            raise ValueError(f"--scoring_rule must be one of {', '.join(scoring.SCORING_RULES)}, got {self.scoring_rule!r}")


@dataclass
class GeneratedTasks:
    """What :func:`write_lm_eval_tasks` wrote."""

    output_dir: str
    scoring_rule: str
    prompt_style: str
    tasks: dict[str, dict]  # task name -> {"language", "item_type", "n", "yaml", "data"}
    groups: dict[str, list[str]]  # group name -> its members
    tokenization_mismatches: dict[str, int] = field(default_factory=dict)  # task -> pairs (with --tokenizer)

    def task_names(self, language: str | None = None) -> list[str]:
        return [name for name, task in self.tasks.items() if language is None or task["language"] == language]

    def lm_eval_command(self, model_args: str = "pretrained=<model>") -> str:
        return (f"lm_eval --model hf --model_args {model_args} --include_path {self.output_dir} "
                f"--tasks {group_name()} --log_samples --output_path results/")


def load_language_pack_file(path: str | os.PathLike) -> LanguagePack:
    """A language pack from a JSON file anywhere (the fields of :class:`~geounlearn_trl.data.languages.LanguagePack`),
    checked as installed packs are."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    missing = [name for name in ("code", "unknown_phrases", "prompt_template") if name not in data]
    if missing or not data.get("unknown_phrases"):
        raise ValueError(f"{path}: language pack lacks {missing or ['a non-empty unknown_phrases']}")
    return LanguagePack(**data)


def resolve_language_packs(languages: str | None, pack_files: str | None) -> tuple[dict[str, LanguagePack], set[str]]:
    """The packs to generate, and the codes asked for explicitly (a missing dataset is an error for those only)."""
    file_packs = {}
    for path in [p.strip() for p in (pack_files or "").split(",") if p.strip()]:
        pack = load_language_pack_file(path)
        file_packs[pack.code] = pack
    if languages:
        codes = [code.strip() for code in languages.split(",") if code.strip()]
        explicit = set(codes)
    else:
        codes = list(dict.fromkeys([*available_languages(), *file_packs]))
        explicit = set(file_packs)
    return {code: file_packs[code] if code in file_packs else load_language_pack(code) for code in codes}, explicit


def _shipped(path: str) -> str | None:
    return path if os.path.isfile(path) else None


def _presented_doc(row: dict, pack: LanguagePack, seed: int, prompt_style: str, scoring_rule: str) -> dict:
    """One lm-eval document: the normalised MCQ row, as :func:`~geounlearn_trl.data.mcq.present_question` shows it."""
    presented = present_question(row, pack, seed, prompt_style=prompt_style)
    choices = presented.options
    item_type = row["item_type"]
    if item_type == "ambiguous":  # the unbiased answer is "unknown"; the row's target is the stereotype
        gold, stereotype_index = presented.unknown_index, presented.target_index
    elif item_type == "disambiguated":  # the stated identity is right
        gold, stereotype_index = presented.target_index, choices.index(row["stereotype"])
    else:
        gold, stereotype_index = presented.target_index, -1
    return {
        **{name: row[name] for name in ("question", "options", "target", "target_index", "identity", "attribute",
                                        "is_control", "source", "row", "split_group", "item_type", "stereotype")},
        "language": pack.code,
        "prompt": presented.prompt,
        "choices": choices,
        "gold": gold,
        "stereotype_index": stereotype_index,
        "unknown_index": presented.unknown_index,
        "unknown_phrase": presented.unknown_phrase,
        "premise": pack.content_free_prompt,
        "scoring_rule": scoring_rule,
    }


def build_task_docs(
    pack: LanguagePack,
    mcq: datasets.Dataset,
    control: datasets.Dataset | None,
    rows: Sequence[int],
    seed: int,
    prompt_style: str,
    scoring_rule: str,
    max_questions: int | None = None,
    max_control_questions: int | None = None,
) -> dict[str, list[dict]]:
    """Per item type the lm-eval documents of one language: the stereotype rows ``rows`` of ``mcq`` (capped as
    :func:`~geounlearn_trl.evaluation.measurement.build_eval_set` caps them), their disambiguated items, the control rows."""
    held = mcq.select(rows)
    if max_questions is not None:
        held = held.select(range(min(max_questions, len(held))))
    parts: dict[str, datasets.Dataset] = {"ambiguous": held}
    if pack.stated_identity_template:
        parts["disambiguated"] = disambiguated_items(held, pack, seed)
    else:
        logger.warning("Language pack %r has no stated_identity_template: no disambiguated task.", pack.code)
    if control is not None:
        if max_control_questions is not None:
            control = control.select(range(min(max_control_questions, len(control))))
        parts["control"] = control
    return {item_type: [_presented_doc(row, pack, seed, prompt_style, scoring_rule) for row in parts[item_type]]
            for item_type in ITEM_TYPES if item_type in parts and len(parts[item_type])}


def lm_eval_encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's HF encoding of a (context, continuation) request (``TemplateLM._encode_pair`` with the default
    ``add_bos_token``): the whole text tokenised once, split at the context's token count."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation, context = context[-n_spaces:] + continuation, context[:-n_spaces]
    whole = tokenizer.encode(context + continuation)
    context_ids = tokenizer.encode(context)
    return context_ids, whole[len(context_ids):]


def tokenization_mismatches(tokenizer, docs: Sequence[dict]) -> list[dict]:
    """The (context, option) pairs of ``docs`` (with the calibrated rule's premise) whose token ids under lm-eval's
    encoding differ from ours (:func:`~geounlearn_trl.evaluation.scoring.encode_pair`, plain prompt): there lm-eval would score
    other tokens than our commands. Empty for BPE tokenizers that split words from punctuation (GPT-2, Llama 3,
    SmolLM2, Gemma 3) on our prompts, which end in ``":"``."""
    mismatches = []
    for doc in docs:
        contexts = [doc["prompt"]] + ([doc["premise"]] if doc["scoring_rule"] == "calibrated" else [])
        for context in contexts:
            for option in doc["choices"]:
                ours = scoring.encode_pair(tokenizer, context, option, use_chat_template=False)
                theirs = lm_eval_encode_pair(tokenizer, context, " " + option)
                if (ours.input_ids[: ours.prompt_length], ours.input_ids[ours.prompt_length :]) != theirs:
                    mismatches.append({"row": doc["row"], "item_type": doc["item_type"], "context": context,
                                       "option": option, "ours": ours.input_ids, "lm_eval": theirs[0] + theirs[1]})
    return mismatches


def option_token_counts(tokenizer, docs: Sequence[dict]) -> None:
    """Add ``option_tokens`` (our token count of each ``" " + option``) to each doc: the 'mean' rule's divisor, which
    lm-eval's log-likelihood requests do not return."""
    for doc in docs:
        pairs = [scoring.encode_pair(tokenizer, doc["prompt"], option, False) for option in doc["choices"]]
        doc["option_tokens"] = [len(pair.input_ids) - pair.prompt_length for pair in pairs]


def _yaml_string(value) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML string


def task_yaml(name: str, data_file: str, item_type: str, scoring_rule: str, metadata: dict) -> str:
    """The YAML of one task: local JSONL documents, lm-eval's multiple_choice requests (and for 'calibrated' the
    premise requests of utils.PremiseCalibratedTask), metrics from utils.process_results."""
    accuracy = accuracy_metric_name(scoring_rule)
    lines = [
        f"# Written by `geounlearn-trl lm-eval-tasks` (scoring rule {scoring_rule}); regenerate rather than edit.",
        f"task: {name}",
    ]
    if scoring_rule == "calibrated":
        lines.append("class: !function utils.PremiseCalibratedTask  # adds log p(option | premise) requests")
    lines += [
        "dataset_path: json",
        "dataset_kwargs:",
        "  data_files:",
        f"    test: {_yaml_string(data_file)}",
        "test_split: test",
        "output_type: multiple_choice",
        "doc_to_text: prompt",
        "doc_to_choice: choices",
        "doc_to_target: gold",
        'target_delimiter: " "',
        "num_fewshot: 0",
        "process_results: !function utils.process_results",
        "metric_list:",
    ]
    for metric, aggregation, higher in TASK_METRICS[item_type]:
        lines.append(f"  - metric: {metric.format(acc=accuracy)}")
        lines.append(f"    aggregation: {aggregation if aggregation == 'mean' else '!function utils.' + aggregation}")
        lines.append(f"    higher_is_better: {'true' if higher else 'false'}")
    lines.append("metadata:")
    lines.append(f"  version: {TASK_VERSION}")
    for key, value in metadata.items():
        lines.append(f"  {key}: {_yaml_string(value)}")
    return "\n".join(lines) + "\n"


def group_yaml(name: str, members: Sequence[str]) -> str:
    lines = ["# Written by `geounlearn-trl lm-eval-tasks`.", f"group: {name}", "task:"]
    lines += [f"  - {member}" for member in members]
    lines += ["metadata:", f"  version: {TASK_VERSION}"]
    return "\n".join(lines) + "\n"


def write_lm_eval_tasks(args: LmEvalTaskArguments, split_args: SplitArguments | None = None) -> GeneratedTasks:
    """Write the tasks of every language of ``args`` into ``args.output_dir`` (module docstring); returns what it wrote.

    The scoring rule defaults to :data:`geounlearn_trl.evaluation.scoring.DEFAULT_SCORING_RULE`, read now.
    """
    split_args = split_args or SplitArguments()
    scoring_rule = args.scoring_rule or scoring.DEFAULT_SCORING_RULE
    if scoring_rule not in scoring.SCORING_RULES:
        raise ValueError(f"scoring rule must be one of {scoring.SCORING_RULES}, got {scoring_rule!r}")
    tokenizer = None
    if args.tokenizer:
        from ..models import load_tokenizer, resolve_model_path

        tokenizer = load_tokenizer(resolve_model_path(args.tokenizer))
    elif scoring_rule == "mean":
        raise ValueError("the 'mean' rule divides by each option's token count, which lm-eval does not return: pass "
                         "--tokenizer <the model> (its counts are written into the tasks)")
    packs, explicit = resolve_language_packs(args.languages, args.language_pack)
    several = len(packs) > 1
    output = Path(args.output_dir).resolve()
    (output / "data").mkdir(parents=True, exist_ok=True)
    # Tasks of an earlier run into the same folder (another language set) would still be found by lm-eval.
    for stale in [*output.glob(f"{TASK_PREFIX}_*.yaml"), output / f"_{TASK_PREFIX}.yaml",
                  *(output / "data").glob(f"{TASK_PREFIX}_*.jsonl")]:
        stale.unlink(missing_ok=True)
    from ..data.unlearning import sample_control_path, sample_mcq_path

    tasks: dict[str, dict] = {}
    groups: dict[str, list[str]] = {}
    splits: dict[str, dict] = {}
    mismatch_counts: dict[str, int] = {}
    for code, pack in packs.items():
        mcq_file = file_for_language(args.dataset, code, several, "--dataset") or _shipped(sample_mcq_path(code))
        if mcq_file is None:
            message = (f"language {code!r}: no stereotype MCQ file (no shipped sample): pass --dataset "
                       f"{code}=<file.csv>")
            if code in explicit:
                raise ValueError(message)
            logger.warning("%s; skipped.", message)
            continue
        if args.control_dataset and args.control_dataset.strip().lower() == "none":
            control_file = None
        else:
            control_file = (file_for_language(args.control_dataset, code, several, "--control_dataset")
                            or _shipped(sample_control_path(code)))
            if control_file is None:
                logger.warning("language %r: no control questions (none shipped, no --control_dataset): no control "
                               "task.", code)
        mcq = load_mcq(mcq_file, skip_bad_rows=args.skip_bad_rows)
        control = load_mcq(control_file, skip_bad_rows=args.skip_bad_rows, is_control=True) if control_file else None
        split = held_out_split(mcq, split_args.eval_fraction, split_args.split_seed)
        rows = {"eval": split.eval, "train": split.train, "all": list(range(len(mcq)))}[args.split]
        splits[code] = {**split.describe(), "dataset": os.path.abspath(mcq_file),
                        "control_dataset": os.path.abspath(control_file) if control_file else None}
        docs = build_task_docs(pack, mcq, control, rows, args.seed, args.prompt_style, scoring_rule,
                               args.max_questions, args.max_control_questions)
        members = []
        for item_type, item_docs in docs.items():
            name = task_name(code, item_type)
            if tokenizer is not None:
                option_token_counts(tokenizer, item_docs)
                mismatches = tokenization_mismatches(tokenizer, item_docs)
                mismatch_counts[name] = len(mismatches)
                if mismatches:
                    logger.warning("%s: on %d (context, option) pairs lm-eval's encoding differs from ours (e.g. "
                                   "row %s, option %r): lm-eval scores other tokens there.", name, len(mismatches),
                                   mismatches[0]["row"], mismatches[0]["option"])
            data_file = output / "data" / f"{name}.jsonl"
            write_text_atomic(data_file, "".join(json.dumps(doc, ensure_ascii=False) + "\n" for doc in item_docs))
            metadata = {"language": code, "item_type": item_type, "scoring_rule": scoring_rule,
                        "prompt_style": args.prompt_style, "seed": args.seed, "split": args.split,
                        "eval_fraction": split_args.eval_fraction, "split_seed": split_args.split_seed,
                        "eval_rows_sha256": split.describe()["eval_rows_sha256"]}
            yaml_file = output / f"{name}.yaml"
            write_text_atomic(yaml_file, task_yaml(name, str(data_file), item_type, scoring_rule, metadata))
            tasks[name] = {"language": code, "item_type": item_type, "n": len(item_docs), "yaml": str(yaml_file),
                           "data": str(data_file)}
            members.append(name)
        if not members:
            logger.warning("language %r: no items (split %r of %s): skipped.", code, args.split, mcq_file)
            continue
        groups[group_name(code)] = members
        write_text_atomic(output / f"{group_name(code)}.yaml", group_yaml(group_name(code), members))
        logger.info("%s: %s", group_name(code), ", ".join(f"{tasks[m]['item_type']} {tasks[m]['n']}" for m in members))
    if not groups:
        raise ValueError("no language had data: nothing written")
    groups[group_name()] = list(groups)
    write_text_atomic(output / f"_{group_name()}.yaml", group_yaml(group_name(), groups[group_name()]))
    write_text_atomic(output / "utils.py", UTILS_PY)
    generated = GeneratedTasks(str(output), scoring_rule, args.prompt_style, tasks, groups, mismatch_counts)
    manifest = {"settings": {**asdict(args), "scoring_rule": scoring_rule, **asdict(split_args)},
                "splits": splits, **{k: v for k, v in asdict(generated).items() if k != "output_dir"}}
    write_text_atomic(output / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return generated
