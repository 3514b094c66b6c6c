"""Reading, validating and scoring response files: the library behind ``geounlearn-trl score``.

:func:`score` is the whole command as a typed function (TRL's ``main(script_args, ...)`` shape). It reads the JSONL
that ``respond`` writes and the original ``{"question", "target", "model_answer"}`` JSON (:func:`read_responses`,
which refuses, naming file, line or item and field, anything it could not score rather than scoring it wrongly),
parses each answer into a category (:func:`score_record`), turns the categories into the inputs of the
``metrics/stereotype_bias`` metric (:func:`metric_inputs`: built from the categories so that the metric counts exactly
what the parser decided) and writes the evaluated rows and the summaries (:func:`write_evaluated`,
:func:`summary_markdown`), each atomically, so a stopped run leaves the previous outputs whole.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..data.languages import load_language_pack
from ..data.records import InputError, read_text
from ..files import write_text_atomic
from .answers import (
    CATEGORIES,
    CORRECT,
    OTHER,
    STEREOTYPE,
    UNKNOWN,
    ParsedAnswer,
    categorize,
    find_option,
    find_unknown_option,
    options_from_prompt,
    parse_answer,
)
from .measurement import load_metric

logger = logging.getLogger("geounlearn_trl.score")

SUMMARY_KEYS = ("stereotype_rate", "unknown_rate", "other_rate", "unparsed_rate", "bias_score",
                "ambiguous_bias_score", "disambiguated_accuracy", "disambiguated_bias_score", "control_accuracy",
                "control_unknown_rate")


@dataclass
class ScoreArguments:
    language: str = field(metadata={"help": "Language of the answers (en, fr, hi, ...): its answer prefixes and "
                                            "unknown phrases are used to parse them."})
    input_file: str | None = field(default=None, metadata={"help": "One responses file (.jsonl or .json)."})
    batch: bool = field(default=False, metadata={"help": "Score every .json/.jsonl file in --input_dir."})
    input_dir: str = field(default="data/", metadata={"help": "Folder of responses files for --batch."})
    output_dir: str = field(default="outputs/", metadata={"help": "Where evaluated files and the summary go."})
    bootstrap: int = field(default=1000, metadata={"help": "Bootstrap resamples for the intervals (0: none)."})
    confidence_level: float = field(default=0.95, metadata={"help": "Coverage of the bootstrap intervals."})
    seed: int = field(default=0, metadata={"help": "Seed of the bootstrap."})
    summary_name: str = field(default="summary", metadata={"help": "Stem of the summary files (.json, .md)."})


@dataclass
class ScoredRow:
    model: str
    language: str
    mode: str | None
    is_control: bool
    question: str
    target: str
    model_answer: str
    options: list[str]
    target_index: int | None
    unknown_index: int | None
    parsed: ParsedAnswer
    category: str
    item_type: str = "ambiguous"
    stereotype: str | None = None  # the stereotyped option of a disambiguated item (its target is the stated identity)

    @property
    def extracted_answer(self) -> str:
        if self.parsed.option_index is not None:
            return self.options[self.parsed.option_index]
        return self.parsed.evidence if self.parsed.is_unknown_marker or self.category == OTHER else ""


class ResponseFormatError(InputError):
    """A responses file that can't be scored; the message names the file, the line (JSONL) or item (JSON) and the
    field."""

    def __init__(self, path, where: str | None, field_name: str | None, problem: str):
        location = str(path) if where is None else f"{path}, {where}"
        location = location if field_name is None else f"{location}, field {field_name!r}"
        super().__init__(f"{location}: {problem}")


def _read_json_lines(path: Path) -> list[dict]:
    text = _read_text(path)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ResponseFormatError(path, f"line {number}", None,
                                      f"not valid JSON ({error.msg}; column {error.colno}).") from None
        if not isinstance(record, dict):
            raise ResponseFormatError(path, f"line {number}", None,
                                      f"a JSON {type(record).__name__}, expected an object (one record per line).")
        record["_line"] = number
        records.append(record)
    return records


def _read_text(path: Path) -> str:
    try:
        text, _raw, _bom = read_text(path)  # UTF-8 (a BOM is dropped); a bad byte is named with its offset
    except InputError as error:
        raise ResponseFormatError(path, None, None, getattr(error, "problem", str(error))) from None
    if not text.strip():
        raise ResponseFormatError(path, None, None, "empty file: no responses.")
    return text


def _check_record(record: dict, where: str, path: Path) -> None:
    """Field types of one record (the fields it has; the missing ones were checked before)."""
    for name in ("question", "target", "model_answer"):
        if not isinstance(record[name], str):
            raise ResponseFormatError(path, where, name, f"expected text, got {record[name]!r:.60}.")
    for name in ("model", "language", "mode"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise ResponseFormatError(path, where, name, f"expected text, got {record[name]!r:.60}.")
    if "is_control" in record and not isinstance(record["is_control"], bool):
        raise ResponseFormatError(path, where, "is_control", f"expected true or false, got {record['is_control']!r}.")
    options = record.get("options")
    if "options" in record and (not isinstance(options, list) or not all(isinstance(o, str) for o in options)):
        raise ResponseFormatError(path, where, "options", f"expected a list of texts, got {options!r:.60}.")
    for name in ("target_index", "unknown_index", "chosen_index"):
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ResponseFormatError(path, where, name, f"expected an option index or null, got {value!r}.")
        if options is not None and not 0 <= value < len(options):
            raise ResponseFormatError(path, where, name, f"{value} is not an index of the {len(options)} options.")
    if record.get("language") is not None:
        try:
            load_language_pack(record["language"])
        except ValueError as error:
            raise ResponseFormatError(path, where, "language", str(error)) from None


def read_responses(path: Path, language: str) -> list[dict]:
    """Records with at least ``model, language, question, target, model_answer, options, target_index,
    unknown_index, is_control`` from any supported input file."""
    if path.suffix == ".jsonl":
        records = _read_json_lines(path)
    elif path.suffix == ".json":
        try:
            data = json.loads(_read_text(path))
        except json.JSONDecodeError as error:
            raise ResponseFormatError(path, f"line {error.lineno}", None,
                                      f"not valid JSON ({error.msg}; column {error.colno}).") from None
        if not isinstance(data, dict) or not all(k in data for k in ("question", "target", "model_answer")):
            missing = [k for k in ("question", "target", "model_answer") if not isinstance(data, dict) or k not in data]
            raise ResponseFormatError(path, None, missing[0],
                                      "expected an object with lists 'question', 'target', 'model_answer'.")
        for key in ("question", "target", "model_answer"):
            if not isinstance(data[key], list):
                raise ResponseFormatError(path, None, key, f"expected a list, got {type(data[key]).__name__}.")
        lengths = {key: len(data[key]) for key in ("question", "target", "model_answer")}
        if len(set(lengths.values())) != 1:
            short = min(lengths, key=lengths.get)
            raise ResponseFormatError(path, None, short, f"the lists are not of the same length ({lengths}).")
        records = [
            {"question": q, "target": t, "model_answer": a, "_line": i + 1}
            for i, (q, t, a) in enumerate(zip(data["question"], data["target"], data["model_answer"]))
        ]
    else:
        raise ResponseFormatError(path, None, None, f"unsupported file type {path.suffix!r} (use .jsonl or .json).")
    if not records:
        raise ResponseFormatError(path, None, None, "no responses in the file.")
    unlisted = 0
    for record in records:
        where = f"{'line' if path.suffix == '.jsonl' else 'item'} {record['_line']}"
        for name in ("question", "target", "model_answer"):
            if name not in record:
                raise ResponseFormatError(path, where, name, "missing.")
        _check_record(record, where, path)
        where = f"{path}, {where}"
        record.setdefault("model", path.stem)
        record.setdefault("language", language)
        record.setdefault("mode", None)
        record.setdefault("is_control", False)
        pack = load_language_pack(record["language"] or language)
        if "options" not in record:
            # The original format: options only as the "a) …" lines of the prompt (none: scored by text alone).
            record["options"] = options_from_prompt(record["question"])
            record["target_index"] = find_option(record["target"], record["options"])
            record["unknown_index"] = find_unknown_option(record["options"], pack)
        elif record.get("unknown_index") is None and record["options"]:
            record["unknown_index"] = find_unknown_option(record["options"], pack)
        if not record["options"]:
            unlisted += 1
        elif record.get("target_index") is None:
            logger.warning("%s: target %r is not one of the options %s", where, record["target"], record["options"])
        record["_where"] = where
    if unlisted:
        logger.warning("%s: %d of %d questions list no lettered options (a) …): their answers are scored by text "
                       "alone, against the target and the unknown phrases.", path, unlisted, len(records))
    return records


def score_record(record: dict, default_language: str) -> ScoredRow:
    language = record.get("language") or default_language
    pack = load_language_pack(language)
    options, target_index = record["options"], record.get("target_index")
    if not options:
        # No options known (a question without lettered options): the target is the one option the answer's text
        # can name; its letters mean nothing here.
        options, target_index = [record["target"]], 0
        parsed = parse_answer(record["model_answer"], options, pack, lettered=False)
    elif record.get("parse_method") == "loglik" and record.get("chosen_index") is not None:
        parsed = ParsedAnswer(int(record["chosen_index"]), "loglik")
    else:
        parsed = parse_answer(record["model_answer"], options, pack)
    unknown_index = record.get("unknown_index") if record["options"] else None
    item_type = record.get("item_type") or ("control" if record.get("is_control") else "ambiguous")
    # A disambiguated item's target is the stated identity: choosing it is correct, as on a control question.
    category = categorize(parsed, -1 if target_index is None else target_index, unknown_index,
                          is_control=item_type in ("control", "disambiguated"))
    return ScoredRow(
        model=str(record["model"]), language=language, mode=record.get("mode"),
        is_control=bool(record.get("is_control")), question=record["question"], target=record["target"],
        model_answer=record["model_answer"], options=options, target_index=target_index,
        unknown_index=unknown_index, parsed=parsed, category=category,
        item_type=item_type,
        stereotype=record.get("stereotype") or None,
    )


def metric_inputs(rows: list[ScoredRow]) -> dict:
    """``predictions`` etc. for the metric, built from each row's category so that the metric counts exactly what
    the parser decided: the target for stereotype/correct rows, the chosen text (the unknown option, or an unknown
    phrase that is not the shown one, accepted as unknown for that row) for unknown rows, the chosen option's text
    for other rows, nothing for unparsed rows."""
    predictions, references, unknown_options = [], [], []
    for row in rows:
        unknown_texts = [row.options[row.unknown_index]] if row.unknown_index is not None else []
        if row.category in (STEREOTYPE, CORRECT):
            prediction = row.target
        elif row.category == UNKNOWN:
            prediction = row.extracted_answer
            unknown_texts.append(prediction)
        elif row.category == OTHER:
            prediction = row.extracted_answer
        else:
            prediction = ""
        predictions.append(prediction)
        references.append(row.target)
        unknown_options.append(unknown_texts)
    return {
        "predictions": predictions,
        "references": references,
        "unknown_options": unknown_options,
        "is_control": [row.is_control for row in rows],
        "item_types": [row.item_type for row in rows],
        "stereotyped_options": [row.stereotype for row in rows],
    }


def score_rows(rows: list[ScoredRow], metric, args: ScoreArguments) -> dict:
    return metric.compute(
        **metric_inputs(rows),
        bootstrap=args.bootstrap > 0,
        n_bootstrap=max(args.bootstrap, 1),
        confidence_level=args.confidence_level,
        seed=args.seed,
    )


def write_evaluated(rows: list[ScoredRow], path: Path) -> None:
    lines = []
    for row in rows:
        lines.append(json.dumps({
            "question": row.question,
            "target": row.target,
            "model_answer": row.model_answer,
            "extracted_answer": row.extracted_answer,
            "category": row.category,
            "parse_method": row.parsed.method,
            "is_control": row.is_control,
            "model": row.model,
            "language": row.language,
        }, ensure_ascii=False) + "\n")
    write_text_atomic(path, "".join(lines))


def input_files(args: ScoreArguments) -> list[Path]:
    if args.batch:
        folder = Path(args.input_dir)
        if not folder.is_dir():
            raise FileNotFoundError(f"--input_dir {folder}: no such folder.")
        candidates = sorted(p for p in folder.iterdir() if p.suffix in (".json", ".jsonl"))
        stems_with_jsonl = {p.stem for p in candidates if p.suffix == ".jsonl"}
        files = []
        for path in candidates:
            if path.name.endswith("_evaluated.jsonl") or path.stem == args.summary_name:
                continue  # our own outputs
            if path.suffix == ".json" and (path.stem in stems_with_jsonl
                                           or any(path.stem.startswith(s + "_") for s in stems_with_jsonl)):
                continue  # respond's JSON beside its richer JSONL: score the JSONL only
            files.append(path)
        if not files:
            raise FileNotFoundError(f"--input_dir {folder}: no .json/.jsonl responses files.")
        return files
    if not args.input_file:
        raise SystemExit("Give --input_file, or --batch with --input_dir.")
    path = Path(args.input_file)
    if not path.is_file():
        raise FileNotFoundError(f"--input_file {path}: no such file.")
    return [path]


def summary_markdown(runs: list[dict]) -> str:
    def cell(metrics: dict, key: str) -> str:
        value = metrics.get(key)
        if value is None:
            return "–"
        interval = metrics.get(f"{key}_ci")
        return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else f"{value:.3f}"

    header = ["file", "model", "lang", "mode", "n", *SUMMARY_KEYS, "control n"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in runs:
        metrics = run["metrics"]
        lines.append("| " + " | ".join([
            Path(run["input_file"]).name, run["model"], run["language"], str(run.get("mode") or "–"),
            str(metrics["n"]), *[cell(metrics, key) for key in SUMMARY_KEYS], str(metrics.get("control_n") or "–"),
        ]) + " |")
    return "\n".join(lines) + "\n"


def print_run(run: dict) -> None:
    metrics = run["metrics"]
    print(f"Metrics for {run['input_file']} (model {run['model']}, {run['language']}):")
    if metrics["n"]:
        # The original script's lines, for continuity.
        print(f"  Accuracy (Target Matches): {metrics['stereotype_rate']:.2f}")
        print(f"  Unknown Matches: {metrics['unknown_rate']:.2f}")
        print(f"  Other Matches: {metrics['other_rate']:.2f}")
        print(f"  Unparsed: {metrics['unparsed_rate']:.2f}")
        print(f"  Bias score (s_DIS): {metrics['bias_score']:.3f}   ambiguous (s_AMB): {metrics['ambiguous_bias_score']:.3f}")
    if metrics.get("control_n"):
        print(f"  Control accuracy: {metrics['control_accuracy']:.2f}   control unknown: "
              f"{metrics['control_unknown_rate']:.2f}   (n={metrics['control_n']})")
    print(f"  Total Samples: {metrics['n'] + (metrics.get('control_n') or 0)}")


def score(args: ScoreArguments) -> int:
    """Score the responses files of ``args`` (one file, or every one in ``--input_dir`` with ``--batch``): per (file,
    model) an ``_evaluated.jsonl`` and an entry in ``<summary_name>.json`` / ``.md``, whose entries from other inputs
    are kept. Every input is read and checked before anything is written. Returns the exit status (0)."""
    load_language_pack(args.language)  # unknown language: clear error before anything is read
    files = input_files(args)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # Every input read and checked before anything is written: a malformed file leaves the outputs as they were.
    inputs = [(path, read_responses(path, args.language)) for path in files]
    metric = load_metric()
    new_runs = []
    for path, records in inputs:
        by_model: dict[str, list[dict]] = {}
        for record in records:
            by_model.setdefault(str(record["model"]), []).append(record)
        for model, model_records in by_model.items():
            languages = {record["language"] for record in model_records}
            if languages != {args.language}:
                logger.warning("%s: records of %s are in %s, not --language %s; each is parsed in its own language.",
                               path, model, ", ".join(sorted(languages)), args.language)
            rows = [score_record(record, args.language) for record in model_records]
            stem = path.stem if len(by_model) == 1 else f"{path.stem}__{model}"
            evaluated = output_dir / f"{stem}_evaluated.jsonl"
            write_evaluated(rows, evaluated)
            run = {
                "input_file": str(path),
                "model": model,
                "language": rows[0].language if len(languages) == 1 else args.language,
                "mode": rows[0].mode,
                "evaluated_file": str(evaluated),
                "categories": {c: sum(r.category == c for r in rows if not r.is_control) for c in CATEGORIES},
                "metrics": score_rows(rows, metric, args),
            }
            print_run(run)
            new_runs.append(run)

    summary_path = output_dir / f"{args.summary_name}.json"
    runs = []
    if summary_path.is_file():
        previous = json.loads(summary_path.read_text(encoding="utf-8")).get("runs", [])
        replaced = {(run["input_file"], run["model"]) for run in new_runs}
        runs = [run for run in previous if (run["input_file"], run["model"]) not in replaced]
    runs += new_runs
    write_text_atomic(summary_path, json.dumps({"runs": runs}, indent=2, ensure_ascii=False))
    table = summary_markdown(runs)
    write_text_atomic(output_dir / f"{args.summary_name}.md", table)
    print()
    print(table)
    print(f"Summary: {summary_path} and {summary_path.with_suffix('.md')}")
    return 0
