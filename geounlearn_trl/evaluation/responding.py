"""Collecting a model's answers to the MCQ questions: the library behind ``geounlearn-trl respond``.

:func:`respond` is the whole command as a typed function (TRL's ``main(script_args, ...)`` shape): it finds the
models (:func:`discover_models`), builds the items to answer (:func:`build_items`: the stereotype rows of the chosen
split, their disambiguated items, the control rows, each with its seeded option order), answers them batch by batch
(:func:`answer_batch`: option log-likelihood via :func:`geounlearn_trl.evaluation.measurement.pick_options`, or greedy
generation parsed by :func:`geounlearn_trl.evaluation.answers.parse_answer`), and appends one record per (model,
question) to a :class:`ResponseStore`.

The store is what makes a run resumable: it reads back the JSONL a stopped run left (a half-written last line is
dropped), refuses to mix records of other settings or prompts, and batches are cut from the full item list so that a
resumed run writes exactly the bytes an uninterrupted one would. At the end it rewrites the original
``{"question", "target", "model_answer"}`` JSON, so the original tooling keeps working.

Models are loaded by :func:`geounlearn_trl.models.load_evaluated_model`, the one loader of every evaluating command.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

from ..data.languages import OPTION_LETTERS, LanguagePack, load_language_pack
from ..data.mcq import (
    ITEM_TYPES,
    PROMPT_STYLES,
    HeldOutSplit,
    SplitArguments,
    disambiguated_items,
    held_out_split,
    load_mcq,
    present_question,
)
from ..data.prompting import render_prompt
from ..files import write_text_atomic
from ..models import (
    EMBEDDED_MODEL_NAME,
    ModelNotFoundError,
    check_model_folder,
    load_evaluated_model,
    resolve_model_path,
)
from .answers import parse_answer
from .measurement import ScoringSettings, pick_options
from .scoring import DEFAULT_SCORING_RULE, SCORING_RULES

logger = logging.getLogger("geounlearn_trl.respond")

MODES = ("loglik", "generate")
# Fields that must agree between the records already in a JSONL and the run resuming it.
RESUME_SETTINGS = ("language", "mode", "seed", "use_chat_template", "scoring_rule", "max_new_tokens", "unknown_phrase",
                   "prompt_style", "split")
SPLITS = ("eval", "train", "all")


@dataclass
class RespondArguments:
    model_dir: str = field(
        default=EMBEDDED_MODEL_NAME,
        metadata={"help": "A saved model or adapter folder, a folder of several (each is evaluated), a Hub id, or "
                          f"the embedded {EMBEDDED_MODEL_NAME!r}."},
    )
    dataset: str | None = field(
        default=None,
        metadata={"help": "MCQ file (CSV/JSON/JSONL) or Hub dataset id; default: the shipped sample of --language "
                          "(with its control questions)."},
    )
    output_dir: str = field(default="./outputs/", metadata={"help": "Where the JSON/JSONL outputs go."})
    filename: str = field(default="unlearned_models_output", metadata={"help": "Output file stem."})
    language: str = field(default="en", metadata={"help": "Language pack of the prompts (en, fr, hi, ...)."})
    mode: str = field(default="loglik", metadata={"help": "loglik (option log-likelihood) or generate.",
                                                  "choices": list(MODES)})
    control_dataset: str | None = field(
        default=None,
        metadata={"help": "Control MCQ file (factual questions, Correct_Option = the right answer), answered in the "
                          "same run and marked is_control in the records."},
    )
    seed: int = field(default=42, metadata={"help": "Seed of the option shuffle and unknown-phrase choice (recorded)."})
    unknown_phrase: str | None = field(
        default=None, metadata={"help": "Use this unknown phrase for every question instead of a seeded choice."}
    )
    batch_size: int = field(default=16, metadata={"help": "Questions per batch (all their options in one forward "
                                                          "pass in loglik mode)."})
    max_new_tokens: int = field(default=32, metadata={"help": "Generation bound in generate mode."})
    scoring_rule: str = field(
        default=DEFAULT_SCORING_RULE,
        metadata={"help": "loglik: how an option's log-likelihood becomes its score (geounlearn_trl.evaluation.scoring).",
                  "choices": list(SCORING_RULES), "aliases": ["--normalize"]},
    )
    prompt_style: str | None = field(
        default=None,
        metadata={"help": "'options' (lettered options in the prompt, the original) or 'cloze' (the question alone). "
                          "Default: cloze with --mode loglik, options with --mode generate.",
                  "choices": list(PROMPT_STYLES)},
    )
    split: str = field(default="eval", metadata={"help": "Which stereotype rows: the held-out ones (eval), the training "
                                                         "ones (train) or all.", "choices": list(SPLITS)})
    item_types: str = field(default="ambiguous,disambiguated,control",
                            metadata={"help": "Comma-separated item types to answer: ambiguous, disambiguated, control."})
    no_chat_template: bool = field(default=False, metadata={"help": "Plain prompt even if the model has a chat template."})
    max_rows: int | None = field(default=None, metadata={"help": "Only the first N rows of each dataset (a sample)."})
    skip_bad_rows: bool = field(default=False, metadata={"help": "Skip malformed rows instead of stopping."})
    dtype: str = field(default="auto", metadata={"help": "Model dtype: auto, float32, bfloat16, float16."})
    load_in_4bit: bool = field(default=False, metadata={"help": "Load the model in 4-bit (bitsandbytes)."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow custom model code (off by default)."})


@dataclass(frozen=True)
class ModelEntry:
    """One model to answer with: its name in the records and where it is loaded from."""

    name: str  # the key in the records and in output file names
    path: str  # what resolve_model_path / from_pretrained reads


@dataclass(frozen=True)
class Item:
    """One question to answer: its record key, the normalised MCQ row and how it is presented."""

    key: str
    row: dict
    presented: object  # PresentedQuestion


def _is_saved_model(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def discover_models(model_dir: str) -> tuple[list[ModelEntry], bool]:
    """The models named by ``--model_dir`` and whether it was a collection (several models in one folder)."""
    path = Path(model_dir)
    if not path.is_dir():
        resolve_model_path(model_dir)  # the embedded name or a cached Hub id; raises ModelNotFoundError otherwise
        return [ModelEntry(Path(model_dir).name or model_dir, model_dir)], False
    if _is_saved_model(path):
        return [ModelEntry(path.resolve().name, str(path))], False
    children = sorted(child for child in path.iterdir() if child.is_dir() and _is_saved_model(child))
    if not children:
        raise ModelNotFoundError(
            f"{model_dir}: not a saved model (no config.json or adapter_config.json) and no subfolder holds one."
        )
    return [ModelEntry(child.name, str(child)) for child in children], True


def item_types(args: RespondArguments) -> list[str]:
    chosen = [name.strip() for name in args.item_types.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in ITEM_TYPES]
    if unknown or not chosen:
        raise ValueError(f"--item_types: {unknown or 'empty'}; choose among {', '.join(ITEM_TYPES)}")
    return chosen


def build_items(args: RespondArguments, split_args: SplitArguments, pack: LanguagePack) -> tuple[list[Item], HeldOutSplit]:
    """The stereotype rows of ``--split``, their disambiguated items, then the control rows, each presented with its
    seeded option order; and the split they came from."""
    dataset, control_dataset = args.dataset, args.control_dataset
    if dataset is None:
        from ..data.unlearning import sample_control_path, sample_mcq_path

        dataset = sample_mcq_path(args.language)
        control_dataset = control_dataset or sample_control_path(args.language)
        logger.info("No --dataset: using the shipped sample %s and its control questions %s", dataset, control_dataset)
    wanted = item_types(args)
    rows = load_mcq(dataset, skip_bad_rows=args.skip_bad_rows)
    if rows.info.description:
        logger.warning("%s: %s", dataset, rows.info.description)
    split = held_out_split(rows, split_args.eval_fraction, split_args.split_seed)
    if args.split != "all":
        rows = rows.select(split.eval if args.split == "eval" else split.train)
    if args.max_rows is not None:
        rows = rows.select(range(min(args.max_rows, len(rows))))
    parts = [("stereotype", rows)] if "ambiguous" in wanted else []
    if "disambiguated" in wanted:
        parts.append(("disambiguated", disambiguated_items(rows, pack, args.seed)))
    if control_dataset and "control" in wanted:
        control = load_mcq(control_dataset, skip_bad_rows=args.skip_bad_rows, is_control=True)
        if control.info.description:
            logger.warning("%s: %s", control_dataset, control.info.description)
        if args.max_rows is not None:
            control = control.select(range(min(args.max_rows, len(control))))
        parts.append(("control", control))
    style = args.prompt_style or ("cloze" if args.mode == "loglik" else "options")
    if args.mode == "generate" and style == "cloze":
        raise ValueError("--mode generate needs --prompt_style options: a model can only name an option it was shown")
    items = []
    for kind, part in parts:
        for index, row in enumerate(part):
            # Two disambiguated items per row: pro-stereotypical (even), counter-stereotypical (odd).
            key = f"{kind}:{row['row']}" + (f":{'pro' if index % 2 == 0 else 'counter'}" if kind == "disambiguated" else "")
            presented = present_question(row, pack, args.seed, unknown_phrase=args.unknown_phrase, prompt_style=style)
            items.append(Item(key=key, row=row, presented=presented))
    return items, split


def lettered(index: int, option: str) -> str:
    return f"{OPTION_LETTERS[index]}) {option}"


def generate_answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    max_new_tokens: int = 32,
    use_chat_template: bool = False,
) -> list[str]:
    """Greedy continuations of ``prompts`` in one left-padded ``generate`` call; only the new text is returned."""
    rendered = [render_prompt(tokenizer, prompt, use_chat_template) for prompt in prompts]
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # decoder-only generation continues from the last real token
    try:
        inputs = tokenizer(rendered, return_tensors="pt", padding=True, add_special_tokens=not use_chat_template)
    finally:
        tokenizer.padding_side = padding_side
    inputs = inputs.to(model.device)
    generation_config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=model.generation_config.eos_token_id or tokenizer.eos_token_id,
        bos_token_id=model.generation_config.bos_token_id,
    )
    with torch.no_grad():
        output = model.generate(**inputs, generation_config=generation_config)
    new_tokens = output[:, inputs["input_ids"].shape[1] :]
    return tokenizer.batch_decode(new_tokens, skip_special_tokens=True)


def answer_batch(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    items: Sequence[Item],
    pack: LanguagePack,
    args: RespondArguments,
    use_chat_template: bool,
) -> list[dict]:
    """The answer fields of each item's record: ``model_answer``, ``chosen_index``, ``chosen_option``, ``scores``."""
    prompts = [item.presented.prompt for item in items]
    options = [item.presented.options for item in items]
    if args.mode == "loglik":
        settings = ScoringSettings(args.seed, args.prompt_style or "cloze", args.scoring_rule, use_chat_template,
                                   batch_size=args.batch_size * max(len(row) for row in options))
        return [
            {"model_answer": lettered(index, row[index]), "chosen_index": index, "chosen_option": row[index],
             "parse_method": "loglik", "scores": row_scores}
            for (index, row_scores), row in zip(pick_options(model, tokenizer, [i.presented for i in items], pack,
                                                             settings), options)
        ]
    texts = generate_answers(model, tokenizer, prompts, args.max_new_tokens, use_chat_template)
    answers = []
    for text, row in zip(texts, options):
        parsed = parse_answer(text, row, pack)
        answers.append({
            "model_answer": text,
            "chosen_index": parsed.option_index,
            "chosen_option": row[parsed.option_index] if parsed.option_index is not None else None,
            "parse_method": parsed.method,
            "scores": None,
        })
    return answers


class ResponseStore:
    """The JSONL of one run: read back for resuming, appended batch by batch, turned into the original JSON."""

    def __init__(self, path: Path):
        self.path = path
        self.records: dict[tuple[str, str], dict] = {}
        if path.is_file():
            self._load()

    def _load(self) -> None:
        raw = self.path.read_bytes()
        lines = raw.splitlines(keepends=True)
        keep = 0  # bytes of complete, valid lines
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                keep += len(line)
                continue
            try:
                record = json.loads(line)
            except ValueError:  # JSONDecodeError, or UnicodeDecodeError: a kill can cut a character in two
                if number == len(lines):  # the last line, cut short by an interrupted write: drop it
                    logger.warning("%s: dropping the incomplete last line %d (interrupted write)", self.path, number)
                    break
                raise ValueError(f"{self.path}, line {number}: not valid JSON; fix or remove the line to resume.")
            for field_name in ("model", "key"):
                if field_name not in record:
                    raise ValueError(f"{self.path}, line {number}: record has no {field_name!r} field.")
            self.records.setdefault((record["model"], record["key"]), record)
            keep += len(line)
        if keep < len(raw) or (keep and not raw[:keep].endswith(b"\n")):
            with open(self.path, "r+b") as handle:  # only complete lines, ending in a newline, before appending
                handle.truncate(keep)
                if keep and not raw[:keep].endswith(b"\n"):
                    handle.seek(keep)
                    handle.write(b"\n")

    def check_settings(self, model: str, settings: dict) -> None:
        for (name, key), record in self.records.items():
            if name != model:
                continue
            for setting, value in settings.items():
                if record.get(setting) != value:
                    raise ValueError(
                        f"{self.path}: record {key!r} of model {model!r} was written with {setting}="
                        f"{record.get(setting)!r}, but this run has {setting}={value!r}. Use another --filename or "
                        "--output_dir, or run with the same settings to resume."
                    )
            return

    def check_same_questions(self, model: str, items: Sequence[Item]) -> None:
        """Records being resumed must be for the same prompts (same dataset, seed, language and option order)."""
        for item in items:
            record = self.records.get((model, item.key))
            if record is not None and (record["question"] != item.presented.prompt
                                       or record["options"] != item.presented.options):
                raise ValueError(
                    f"{self.path}: record {item.key!r} of model {model!r} was written for another prompt than this "
                    f"run builds for {item.row['source']}, row {item.row['row']} (different dataset, seed, language "
                    "or unknown phrase). Use another --filename or --output_dir, or the same settings to resume."
                )

    def has(self, model: str, key: str) -> bool:
        return (model, key) in self.records

    def append(self, records: Sequence[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                self.records[(record["model"], record["key"])] = record
            handle.flush()
            os.fsync(handle.fileno())

    def write_original_json(self, model: str, keys: Sequence[str], path: Path) -> int:
        """The original ``{"question", "target", "model_answer"}`` JSON of the stereotype rows, in dataset order."""
        result = {"question": [], "target": [], "model_answer": []}
        for key in keys:
            record = self.records.get((model, key))
            if record is None or record.get("item_type", "control" if record["is_control"] else "ambiguous") != "ambiguous":
                continue
            result["question"].append(record["question"])
            result["target"].append(record["target"])
            result["model_answer"].append(record["model_answer"])
        write_text_atomic(path, json.dumps(result, indent=4, ensure_ascii=False))  # a reader never sees half a file
        return len(result["question"])


def chunks(items: Sequence[Item], size: int) -> Iterator[list[Item]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def respond_with_model(
    entry: ModelEntry,
    items: Sequence[Item],
    store: ResponseStore,
    pack: LanguagePack,
    args: RespondArguments,
    split: HeldOutSplit,
) -> int:
    """Answer every item of ``entry`` not yet in ``store``; returns how many new records were written."""
    store.check_same_questions(entry.name, items)
    pending = [item for item in items if not store.has(entry.name, item.key)]
    if not pending:
        logger.info("%s: all %d rows already answered in %s", entry.name, len(items), store.path)
        return 0
    logger.info("%s: %d of %d rows to answer (%s mode)", entry.name, len(pending), len(items), args.mode)
    evaluated = load_evaluated_model(entry.path, args.dtype, args.trust_remote_code, load_in_4bit=args.load_in_4bit)
    model, tokenizer = evaluated.model, evaluated.tokenizer
    del evaluated  # so that `del model` below drops the last reference to the model
    use_chat_template = not args.no_chat_template and bool(getattr(tokenizer, "chat_template", None))
    settings = run_settings(args, use_chat_template, split)
    store.check_settings(entry.name, settings)
    written = 0
    # Batches are cut from the full item list, not from the pending ones: a resumed run forms the same batches as an
    # uninterrupted one (identical padding, identical numbers); a partly written batch is redone and only its missing
    # rows are written.
    batches = [batch for batch in chunks(items, args.batch_size) if any(not store.has(entry.name, i.key) for i in batch)]
    for batch in tqdm(batches, desc=f"respond {entry.name} [{args.language}, {args.mode}]", unit="batch"):
        answers = answer_batch(model, tokenizer, batch, pack, args, use_chat_template)
        records = [
            make_record(entry, item, answer, settings)
            for item, answer in zip(batch, answers)
            if not store.has(entry.name, item.key)
        ]
        store.append(records)
        written += len(records)
    del model
    return written


def run_settings(args: RespondArguments, use_chat_template: bool, split: HeldOutSplit) -> dict:
    return {
        "language": args.language,
        "mode": args.mode,
        "seed": args.seed,
        "use_chat_template": use_chat_template,
        "scoring_rule": args.scoring_rule if args.mode == "loglik" else None,
        "prompt_style": args.prompt_style or ("cloze" if args.mode == "loglik" else "options"),
        "split": {"rows": args.split, **split.describe()},
        "max_new_tokens": args.max_new_tokens if args.mode == "generate" else None,
        "unknown_phrase": args.unknown_phrase,
    }


def make_record(entry: ModelEntry, item: Item, answer: dict, settings: dict) -> dict:
    presented, row = item.presented, item.row
    return {
        "model": entry.name,
        "model_path": entry.path,
        "key": item.key,
        "source": row["source"],
        "row": row["row"],
        "is_control": row["is_control"],
        "item_type": row["item_type"],
        "stereotype": row["stereotype"],
        **settings,
        "identity": row["identity"],
        "attribute": row["attribute"],
        "question": presented.prompt,  # the full prompt, as the original JSON's "question"
        "options": presented.options,
        "target": row["target"],
        "target_index": presented.target_index,
        "unknown_index": presented.unknown_index,
        "unknown_option": presented.unknown_phrase,
        **answer,
    }


def respond(args: RespondArguments, split_args: SplitArguments) -> int:
    """Answer the items of ``args`` with every model of ``args.model_dir`` into ``<output_dir>/<filename>.jsonl``
    (resuming what is there), then write the original JSON per model. Returns the exit status: 0 when done, 130 when
    stopped by Ctrl-C (every finished batch is kept; the same call resumes)."""
    if args.batch_size < 1 or args.max_new_tokens < 1:
        raise SystemExit("--batch_size and --max_new_tokens must be >= 1")
    pack = load_language_pack(args.language)
    models, is_collection = discover_models(args.model_dir)
    for entry in models:  # every broken folder named before anything is answered or written
        check_model_folder(entry.path)
    items, split = build_items(args, split_args, pack)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    store = ResponseStore(output_dir / f"{args.filename}.jsonl")
    keys = [item.key for item in items]
    try:
        for entry in models:
            written = respond_with_model(entry, items, store, pack, args, split)
            json_path = output_dir / (f"{args.filename}_{entry.name}.json" if is_collection else f"{args.filename}.json")
            count = store.write_original_json(entry.name, keys, json_path)
            logger.info("%s: %d new records; %d stereotype answers in %s", entry.name, written, count, json_path)
    except KeyboardInterrupt:
        logger.warning("Stopped. Every finished batch is in %s: run the same command again to resume.", store.path)
        return 130
    print(f"Responses: {store.path}")
    return 0
