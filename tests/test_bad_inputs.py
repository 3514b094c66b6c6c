"""A sweep of malformed inputs (issue 11): every kind of file the project reads, broken in the ways files break.

Each case writes its input file(s), runs one command or loader on them and checks that

* the error is one clear message naming the **file**, the **row** (or line, item, key) and the **field** where it is
  wrong (only what the file lets one name: a YAML syntax error has a line but no key);
* the run fails: through ``geounlearn_trl.cli.main.main([command, ...])``, the ``geounlearn-trl`` entry point, a
  non-zero exit status (2 for every :class:`~geounlearn_trl.data.records.InputError`; ``prompts`` and ``anchors`` keep their
  own 1) and the message on stderr; a loader called from Python raises a subclass of ``InputError`` (a ``ValueError``)
  with that message (the command modules' own ``main`` functions raise it too);
* nothing already written is touched: the output folder holds a sentinel file and an earlier result, and every file
  under the test's folder, inputs included, is byte for byte what it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from geounlearn_trl.data.records import InputError

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "geounlearn_trl" / "data" / "sample"

HEADER = "MCQ_Question,Option_1,Option_2,Option_3,Option_4,Correct_Option"
GOOD_ROW = '"I know a person who is ""punctual"". The person is:",Thai,German,Peruvian,Swiss,Option_2'
LATIN1 = "Qui est ponctuel ? La personne est :".replace("est", "\xe9t\xe9", 1).encode("latin-1")


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def mcq_record(**overrides) -> dict:
    record = {"MCQ_Question": "Who is punctual? The person is:", "Option_1": "Thai", "Option_2": "German",
              "Option_3": "Peruvian", "Option_4": "Swiss", "Correct_Option": "Option_2"}
    record.update(overrides)
    return {key: value for key, value in record.items() if value is not ...}


def jsonl(*records) -> str:
    return "".join((record if isinstance(record, str) else json.dumps(record)) + "\n" for record in records)


EN_PACK = json.loads((REPO / "geounlearn_trl" / "data" / "languages" / "en.json").read_text(encoding="utf-8"))


def pack(**changes) -> str:
    data = dict(EN_PACK)
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    return json.dumps(data, ensure_ascii=False)


WHP_COMPLETION = [{"prompt": {"prompt": "Harry's best friend is", "references": ["Ron"], "subtlety": 3}}]
RESPONSE = {"model": "m", "language": "en", "question": "Q: a) x\nb) y\nAnswer:", "target": "x", "model_answer": "a) x",
            "options": ["x", "y"], "target_index": 0, "unknown_index": None, "is_control": False}


@dataclass
class Case:
    """One malformed input. ``files``: name -> content (str: UTF-8 text; bytes as they are) under ``in/``;
    ``run``: (command, argv) for ``main.main`` or a loader ``callable(folder)``; ``names``: regexes that must all be
    found in the message (``{in}`` is the escaped input folder); ``setup``: prepares folders (models, datasets)."""

    id: str
    files: dict[str, str | bytes]
    run: tuple[str, list[str]] | Callable
    names: list[str]
    setup: Callable | None = None
    exit_code: int = 2
    extra: dict = field(default_factory=dict)


def respond(dataset: str, *extra: str):
    return ("respond", ["--model_dir", "{model}", "--dataset", "{in}/" + dataset, "--output_dir", "{out}", *extra])


def unlearn(*extra: str):
    return ("unlearn", ["--model_name_or_path", "{model}", "--use_peft", "--max_steps", "1", "--report_to", "none",
                        "--use_cpu", "--save_strategy", "no", "--output_dir", "{out}", *extra])


def loader(function_path: str, *arguments: str, **keywords):
    """A loader called on the case's files: ``function_path`` is ``module:function``; ``{in}`` in the arguments is
    the input folder."""

    def call(folder: Path):
        import importlib

        module_name, name = function_path.split(":")
        function = getattr(importlib.import_module(module_name), name)
        resolved = [argument.replace("{in}", str(folder)) for argument in arguments]
        return function(*resolved, **keywords)

    call.__name__ = function_path
    return call


def recipe_check(name: str):
    def call(folder: Path):
        from trl import TrlParser

        from geounlearn_trl.cli.common import check_recipe
        from geounlearn_trl.cli.unlearn import ARGUMENT_TYPES

        return check_recipe(str(folder / name), TrlParser(ARGUMENT_TYPES))

    return call


def half(path: Path) -> None:
    """Cut a file to half its bytes: what a kill during its write leaves."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def saved_adapter(folder: Path, model_dir: str, breakage: Callable[[Path], None]) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    adapter = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir),
                             LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    adapter.save_pretrained(folder / "adapter")
    breakage(folder / "adapter")


def saved_model(folder: Path, model_dir: str, breakage: Callable[[Path], None]) -> None:
    import shutil

    shutil.copytree(model_dir, folder / "model")
    breakage(folder / "model")


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def saved_retain_with_splits(folder: Path, model_dir: str) -> None:
    import datasets

    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a"]}),
                          "test": datasets.Dataset.from_dict({"text": ["b"]})}).save_to_disk(str(folder / "saved"))


F = r"{in}/"  # the input folder, escaped, in the regexes

CASES = [
    # --- MCQ CSV (respond --dataset; unlearn --dataset; respond --control_dataset) ---------------------------------
    Case("mcq-csv-missing-column", {"m.csv": csv_text("Q,a,b,c,Option_1", header="MCQ_Question,Option_1,Option_2,"
                                                                           "Option_3,Correct_Option")},
         respond("m.csv"), [F + "m.csv", "column 'Option_4'", "missing column"]),
    Case("mcq-csv-missing-correct-option-column", {"m.csv": csv_text("Q,a,b,c,d", header=HEADER.rsplit(",", 1)[0])},
         respond("m.csv"), [F + "m.csv", "column 'Correct_Option'", "missing"]),
    Case("mcq-csv-bad-correct-option", {"m.csv": csv_text(GOOD_ROW, "Q2,a,b,c,d,Option_5")},
         respond("m.csv"), [F + "m.csv", "row 2", "column 'Correct_Option'", "Option_5"]),
    Case("mcq-csv-correct-option-as-number", {"m.csv": csv_text(GOOD_ROW, GOOD_ROW, "Q3,a,b,c,d,3")},
         respond("m.csv"), [F + "m.csv", "row 3", "column 'Correct_Option'", "'3' is not one of"]),
    Case("mcq-csv-empty-correct-option", {"m.csv": csv_text("Q,a,b,c,d,")},
         respond("m.csv"), [F + "m.csv", "row 1", "column 'Correct_Option'"]),
    Case("mcq-csv-empty-option", {"m.csv": csv_text(GOOD_ROW, "Q2,a,b,,d,Option_1")},
         respond("m.csv"), [F + "m.csv", "row 2", "column 'Option_3'", "empty option"]),
    Case("mcq-csv-blank-option", {"m.csv": csv_text("Q,a,b,c,   ,Option_1")},
         respond("m.csv"), [F + "m.csv", "row 1", "column 'Option_4'", "empty option"]),
    Case("mcq-csv-empty-question", {"m.csv": csv_text(GOOD_ROW, ",a,b,c,d,Option_1")},
         respond("m.csv"), [F + "m.csv", "row 2", "column 'MCQ_Question'", "empty question"]),
    Case("mcq-csv-identical-options", {"m.csv": csv_text("Q,a,a,a,a,Option_1")},
         respond("m.csv"), [F + "m.csv", "row 1", "column 'Option_1'", "same text"]),
    Case("mcq-csv-latin1", {"m.csv": HEADER.encode() + b"\n" + GOOD_ROW.encode() + b"\n" + LATIN1 + b",a,b,c,d,Option_1\n"},
         respond("m.csv"), [F + "m.csv", "row 2", "column 'MCQ_Question'", "not UTF-8", r"byte offset \d+", "line 3"]),
    Case("mcq-csv-latin1-in-option", {"m.csv": (csv_text(GOOD_ROW, "Q2,a,b,c,X,Option_1").encode()
                                                .replace(b",X,", b",Caf\xe9,"))},
         respond("m.csv"), [F + "m.csv", "row 2", "column 'Option_4'", "byte 0xe9 at byte offset"]),
    Case("mcq-csv-utf16", {"m.csv": csv_text(GOOD_ROW).encode("utf-16")},
         respond("m.csv"), [F + "m.csv", "not UTF-8", r"byte offset 0\b"]),
    Case("mcq-csv-bom-then-bad-row", {"m.csv": b"\xef\xbb\xbf" + csv_text(GOOD_ROW, ",a,b,c,d,Option_1").encode()},
         respond("m.csv"), [F + "m.csv", "row 2", "column 'MCQ_Question'"]),  # the BOM is not part of the name
    Case("mcq-csv-ragged-short-row", {"m.csv": csv_text(GOOD_ROW, "Q2,a,b,c")},
         respond("m.csv"), [F + "m.csv", "row 2", "column 'Option_4'", "ragged row", "4 fields, the header has 6"]),
    Case("mcq-csv-ragged-long-row", {"m.csv": csv_text(GOOD_ROW, GOOD_ROW, "Q3,a,b,c,d,Option_1,extra")},
         respond("m.csv"), [F + "m.csv", "row 3", "column 'field 7'", "ragged row", "7 fields"]),
    Case("mcq-csv-repeated-header", {"m.csv": csv_text("Q,a,b,c,d,Option_1,a", header=HEADER + ",Option_2")},
         respond("m.csv"), [F + "m.csv", "column 'Option_2'", "twice"]),
    Case("mcq-csv-empty-file", {"m.csv": ""}, respond("m.csv"), [F + "m.csv", "empty file"]),
    Case("mcq-csv-header-only", {"m.csv": csv_text()}, respond("m.csv"), [F + "m.csv", "no data rows"]),
    Case("mcq-csv-nul-byte", {"m.csv": csv_text(GOOD_ROW, "Q2,a,b\x00,c,d,Option_1")},
         respond("m.csv"), [F + "m.csv", "row 2", "column 'Option_2'", "NUL byte", "line 3"]),
    Case("mcq-csv-unclosed-quote", {"m.csv": csv_text(GOOD_ROW, '"Q2,a,b,c,d,Option_1')},
         respond("m.csv"), [F + "m.csv", "row 2", "(ragged row|not valid CSV)"]),
    Case("mcq-csv-unsupported-extension", {"m.txt": csv_text(GOOD_ROW)},
         respond("m.txt"), [F + "m.txt", "unsupported file type '.txt'"]),
    Case("mcq-csv-missing-file", {}, respond("nope.csv"), [F + "nope.csv", "no such file"]),
    Case("mcq-control-dataset-bad-row", {"c.csv": csv_text(GOOD_ROW, "Q2,a,b,c,d,Option_9")},
         ("respond", ["--model_dir", "{model}", "--dataset", str(SAMPLE / "sample_mcq_en.csv"), "--max_rows", "2",
                      "--control_dataset", "{in}/c.csv", "--output_dir", "{out}"]),
         [F + "c.csv", "row 2", "column 'Correct_Option'"]),
    Case("mcq-unlearn-dataset-ragged", {"m.csv": csv_text(GOOD_ROW, "Q2,a,b")},
         unlearn("--dataset", "{in}/m.csv"), [F + "m.csv", "row 2", "column 'Option_3'", "ragged"]),
    # --- MCQ JSON / JSONL ----------------------------------------------------------------------------------------
    Case("mcq-jsonl-truncated-line", {"m.jsonl": jsonl(mcq_record(), '{"MCQ_Question": "Q2", "Opt')},
         respond("m.jsonl"), [F + "m.jsonl", "row 2", "line 2 is not valid JSON"]),
    Case("mcq-jsonl-line-not-object", {"m.jsonl": jsonl(mcq_record(), "[1, 2]")},
         respond("m.jsonl"), [F + "m.jsonl", "row 2", "line 2 is a JSON list"]),
    Case("mcq-jsonl-correct-option-int", {"m.jsonl": jsonl(mcq_record(), mcq_record(Correct_Option=3))},
         respond("m.jsonl"), [F + "m.jsonl", "row 2", "column 'Correct_Option'", "'3' is not one of"]),
    Case("mcq-jsonl-option-is-list", {"m.jsonl": jsonl(mcq_record(Option_2=["a", "b"]))},
         respond("m.jsonl"), [F + "m.jsonl", "row 1", "column 'Option_2'", "expected text, got a JSON list"]),
    Case("mcq-jsonl-missing-key", {"m.jsonl": jsonl(mcq_record(), mcq_record(Option_4=...))},
         respond("m.jsonl"), [F + "m.jsonl", "row 2", "column 'Option_4'", "empty option"]),
    Case("mcq-jsonl-null-question", {"m.jsonl": jsonl(mcq_record(MCQ_Question=None))},
         respond("m.jsonl"), [F + "m.jsonl", "row 1", "column 'MCQ_Question'"]),
    Case("mcq-json-not-a-list", {"m.json": json.dumps("rows")},
         respond("m.json"), [F + "m.json", "expected a JSON list of objects, got a str"]),
    Case("mcq-json-item-not-object", {"m.json": json.dumps([mcq_record(), "row"])},
         respond("m.json"), [F + "m.json", "row 2", "item 1 is a str"]),
    Case("mcq-json-truncated", {"m.json": json.dumps([mcq_record(), mcq_record()])[:150]},
         respond("m.json"), [F + "m.json", "not valid JSON", r"line 1, column \d+"]),
    Case("mcq-json-columns-of-unequal-length",
         {"m.json": json.dumps({key: [value] * (2 if key == "Option_3" else 3) for key, value in mcq_record().items()})},
         respond("m.json"), [F + "m.json", "not of the same length", "'Option_3': 2"]),
    Case("mcq-json-latin1", {"m.json": b'[{"MCQ_Question": "' + LATIN1 + b'"}]'},
         respond("m.json"), [F + "m.json", "not UTF-8", "byte 0xe9 at byte offset", "line 1"]),
    # --- retain sets (unlearn --retain_dataset; load_retain) --------------------------------------------------------
    Case("retain-missing-answer-column", {"r.jsonl": jsonl({"question": "Q?", "best_answer": "A."})},
         unlearn("--retain_dataset", "{in}/r.jsonl"),
         [F + "r.jsonl", "column 'answer'", "needs 'question' and 'answer'", "--retain_answer_column best_answer"]),
    Case("retain-empty-answer", {"r.jsonl": jsonl(*[{"question": f"Q{i}?", "answer": "" if i == 2 else "A."}
                                                     for i in range(4)])},
         unlearn("--retain_dataset", "{in}/r.jsonl"), [F + "r.jsonl", "row 3", "column 'answer'", "empty retain text"]),
    Case("retain-answer-is-list", {"r.jsonl": jsonl({"question": "Q?", "answer": ["A", "B"]})},
         unlearn("--retain_dataset", "{in}/r.jsonl"), [F + "r.jsonl", "row 1", "column 'answer'", "expected text"]),
    Case("retain-empty-question", {"r.csv": "question,answer\nQ?,A.\n,B.\n"},
         unlearn("--retain_dataset", "{in}/r.csv"), [F + "r.csv", "row 2", "column 'question'", "empty"]),
    Case("retain-csv-ragged", {"r.csv": "question,answer\nQ?,A.\nQ2?\n"},
         unlearn("--retain_dataset", "{in}/r.csv"), [F + "r.csv", "row 2", "column 'answer'", "ragged"]),
    Case("retain-jsonl-truncated", {"r.jsonl": jsonl({"text": "one"}, '{"text": "tw')},
         unlearn("--retain_dataset", "{in}/r.jsonl"), [F + "r.jsonl", "row 2", "line 2 is not valid JSON"]),
    Case("retain-latin1", {"r.jsonl": b'{"text": "' + LATIN1 + b'"}\n'},
         unlearn("--retain_dataset", "{in}/r.jsonl"), [F + "r.jsonl", "not UTF-8", "byte offset"]),
    Case("retain-no-rows", {"r.csv": "question,answer\n"},
         unlearn("--retain_dataset", "{in}/r.csv"), [F + "r.csv", "no rows"]),
    Case("retain-unsupported-extension", {"r.txt": "some text"},
         unlearn("--retain_dataset", "{in}/r.txt"), [F + "r.txt", "unsupported retain file type"]),
    Case("retain-file-with-config", {"r.jsonl": jsonl({"text": "one"})},
         unlearn("--retain_dataset", "{in}/r.jsonl", "--retain_config", "generation"),
         [F + "r.jsonl", "column 'retain_config'", "no configurations"]),
    Case("retain-saved-dataset-missing-split", {}, loader("geounlearn_trl.data.unlearning:load_retain", "{in}/saved",
                                                          split="validation"),
         [F + "saved", "column 'retain_split'", "no split 'validation'"], setup=saved_retain_with_splits),
    # --- language packs ------------------------------------------------------------------------------------------
    Case("pack-unknown-key", {"en.json": pack(unknwon_phrases=["x"])},
         loader("geounlearn_trl.data.languages:load_language_pack_file", "{in}/en.json"),
         [F + "en.json", "key 'unknwon_phrases'", "unknown field", "did you mean 'unknown_phrases'"]),
    Case("pack-phrases-not-a-list", {"en.json": pack(unknown_phrases="Unknown")},
         loader("geounlearn_trl.data.languages:load_language_pack_file", "{in}/en.json"),
         [F + "en.json", "key 'unknown_phrases'", "expected a list"]),
    Case("pack-missing-key", {"en.json": pack(answer_label=...)},
         loader("geounlearn_trl.data.languages:load_language_pack_file", "{in}/en.json"),
         [F + "en.json", "key 'answer_label'", "missing"]),
    Case("pack-empty-phrases", {"en.json": pack(unknown_phrases=[])},
         loader("geounlearn_trl.data.languages:load_language_pack_file", "{in}/en.json"),
         [F + "en.json", "key 'unknown_phrases'", "empty"]),
    Case("pack-label-wrong-type", {"en.json": pack(question_label=7)},
         loader("geounlearn_trl.data.languages:load_language_pack_file", "{in}/en.json"),
         [F + "en.json", "key 'question_label'", "expected non-empty text"]),
    Case("pack-template-unknown-placeholder", {"en.json": pack(prompt_template="{instruction}\n{question}\n{answr}:")},
         loader("geounlearn_trl.data.languages:load_language_pack_file", "{in}/en.json"),
         [F + "en.json", "key 'prompt_template'", r"unknown placeholder \{answr\}"]),
    Case("pack-identity-template-without-placeholder", {"en.json": pack(stated_identity_template="This person is.")},
         loader("geounlearn_trl.data.languages:load_language_pack_file", "{in}/en.json"),
         [F + "en.json", "key 'stated_identity_template'", r"\{identity\}"]),
    Case("pack-not-json", {"en.json": pack()[:-1] + ",}"},
         loader("geounlearn_trl.data.languages:load_language_pack_file", "{in}/en.json"),
         [F + "en.json", "not valid JSON", r"line \d+, column \d+"]),
    Case("pack-not-an-object", {"en.json": "[]"},
         loader("geounlearn_trl.data.languages:load_language_pack_file", "{in}/en.json"),
         [F + "en.json", "expected a JSON object"]),
    Case("pack-latin1", {"en.json": pack(name="FRANXAIS").encode().replace(b"FRANXAIS", b"Fran\xe7ais")},
         loader("geounlearn_trl.data.languages:load_language_pack_file", "{in}/en.json"),
         [F + "en.json", "not UTF-8", "byte 0xe7 at byte offset", "line 1"]),
    # --- anchor dictionaries (anchors --clean; load_anchor_dictionary) ----------------------------------------------
    Case("anchors-not-json", {"a.json": '{"Harry": ["Jon"],}'},
         ("anchors", ["--clean", "{in}/a.json", "--output", "{out}/anchors.json"]),
         [F + "a.json", "not a JSON anchor dictionary", r"line 1, column \d+"], exit_code=1),
    Case("anchors-value-not-list", {"a.json": json.dumps({"Harry": ["Jon"], "Hogwarts": "the school"})},
         ("anchors", ["--clean", "{in}/a.json", "--output", "{out}/anchors.json"]),
         [F + "a.json", "key 'Hogwarts'", "expected a list of alternatives"], exit_code=1),
    Case("anchors-empty-alternatives", {"a.json": json.dumps({"Harry": []})},
         loader("geounlearn_trl.methods.selective.anchors:load_anchor_dictionary", "{in}/a.json"),
         [F + "a.json", "key 'Harry'", "empty"]),
    Case("anchors-alternative-not-text", {"a.json": json.dumps({"Harry": ["Jon", 3]})},
         loader("geounlearn_trl.methods.selective.anchors:load_anchor_dictionary", "{in}/a.json"),
         [F + "a.json", "key 'Harry'", "alternative 1 is 3"]),
    Case("anchors-repeated-key", {"a.json": '{"Harry": ["Jon"], "Ron": ["Tom"], "Harry": ["Bill"]}'},
         loader("geounlearn_trl.methods.selective.anchors:load_anchor_dictionary", "{in}/a.json"),
         [F + "a.json", "key 'Harry'", "given twice"]),
    Case("anchors-top-level-list", {"a.json": json.dumps([{"Harry": ["Jon"]}])},
         loader("geounlearn_trl.methods.selective.anchors:load_anchor_dictionary", "{in}/a.json"),
         [F + "a.json", "expected a JSON object", "got list"]),
    Case("anchors-latin1", {"a.json": b'{"Fran\xe7ois": ["Jon"]}'},
         loader("geounlearn_trl.methods.selective.anchors:load_anchor_dictionary", "{in}/a.json"),
         [F + "a.json", "not UTF-8", "byte 0xe7 at byte offset 6", "line 1"]),
    # --- familiarity prompt files (prompts --completion_prompts / --probability_prompts) ------------------------------
    Case("prompts-missing-references", {"c.json": json.dumps([{"prompt": {"prompt": "Harry's friend is", "subtlety": 2}}])},
         ("prompts", ["--completion_prompts", "{in}/c.json"]),
         [F + "c.json", "prompt 0", "field 'prompt.references'", "missing"], exit_code=1),
    Case("prompts-subtlety-text", {"c.json": json.dumps(WHP_COMPLETION + [
        {"prompt": {"prompt": "Ron's sister is", "references": ["Ginny"], "subtlety": "high"}}])},
         ("prompts", ["--completion_prompts", "{in}/c.json"]),
         [F + "c.json", "prompt 1", "field 'prompt.subtlety'", "positive integer"], exit_code=1),
    Case("prompts-empty-reference", {"c.json": json.dumps([{"prompt": {"prompt": "Harry's friend is",
                                                                       "references": ["Ron", " "], "subtlety": 2}}])},
         ("prompts", ["--completion_prompts", "{in}/c.json"]),
         [F + "c.json", "prompt 0", r"field 'prompt.references\[1\]'", "empty"], exit_code=1),
    Case("prompts-not-a-list", {"c.json": json.dumps(WHP_COMPLETION[0])},
         ("prompts", ["--completion_prompts", "{in}/c.json"]), [F + "c.json", "expected a JSON list"], exit_code=1),
    Case("prompts-truncated", {"c.json": json.dumps(WHP_COMPLETION * 3)[:70]},
         ("prompts", ["--completion_prompts", "{in}/c.json"]), [F + "c.json", "not valid JSON", "line 1"], exit_code=1),
    Case("prompts-probability-missing-prompt", {"p.json": json.dumps([{"prompt": "Harry's two friends are"},
                                                                      {"text": "Ron is"}])},
         ("prompts", ["--probability_prompts", "{in}/p.json"]),
         [F + "p.json", "prompt 1", "field 'prompt'", "missing"], exit_code=1),
    Case("prompts-probability-latin1", {"p.json": b'[{"prompt": "Fran\xe7ois is"}]'},
         ("prompts", ["--probability_prompts", "{in}/p.json"]),
         [F + "p.json", "not UTF-8", "byte 0xe7 at byte offset", "line 1"], exit_code=1),
    # --- recipes (--config) ----------------------------------------------------------------------------------------
    Case("recipe-unknown-key", {"r.yaml": "learning_rat: 1.0e-4\nmax_steps: 2\n"},
         unlearn("--config", "{in}/r.yaml"), [F + "r.yaml", "key 'learning_rat'", "did you mean 'learning_rate'"]),
    Case("recipe-float-for-int", {"r.yaml": "max_steps: 2.5\n"},
         unlearn("--config", "{in}/r.yaml"), [F + "r.yaml", "key 'max_steps'", "expected an integer, got 2.5"]),
    Case("recipe-text-for-bool", {"r.yaml": "use_peft: maybe\n"},
         unlearn("--config", "{in}/r.yaml"), [F + "r.yaml", "key 'use_peft'", "not a valid value"]),
    Case("recipe-bare-no", {"r.yaml": "save_strategy: no\n"},
         unlearn("--config", "{in}/r.yaml"), [F + "r.yaml", "key 'save_strategy'", "quote it"]),
    Case("recipe-outside-choices", {"r.yaml": "lr_scheduler_type: sideways\n"},
         unlearn("--config", "{in}/r.yaml"), [F + "r.yaml", "key 'lr_scheduler_type'", "'sideways' is not one of"]),
    Case("recipe-list-for-scalar", {"r.yaml": "learning_rate: [1.0e-4, 2.0e-4]\n"},
         unlearn("--config", "{in}/r.yaml"), [F + "r.yaml", "key 'learning_rate'", "expected a single value"]),
    Case("recipe-bad-yaml", {"r.yaml": "max_steps: 2\n  learning_rate: 1\n"},
         unlearn("--config", "{in}/r.yaml"), [F + "r.yaml", "not valid YAML", r"line 2, column \d+"]),
    Case("recipe-env-not-mapping", {"r.yaml": "env: HF_HUB_OFFLINE=1\nmax_steps: 2\n"},
         unlearn("--config", "{in}/r.yaml"), [F + "r.yaml", "key 'env'", "expected a mapping"]),
    Case("recipe-not-a-mapping", {"r.yaml": "- max_steps: 2\n"},
         recipe_check("r.yaml"), [F + "r.yaml", "expected a YAML mapping"]),
    # --- accelerate configs ----------------------------------------------------------------------------------------
    Case("accelerate-unknown-key", {"a.yaml": "distributed_type: MULTI_GPU\nnum_process: 2\n"},
         loader("geounlearn_trl.cli.common:check_accelerate_config", "{in}/a.yaml"),
         [F + "a.yaml", "key 'num_process'", "did you mean 'num_processes'"]),
    Case("accelerate-text-for-int", {"a.yaml": "distributed_type: MULTI_GPU\nnum_processes: two\n"},
         loader("geounlearn_trl.cli.common:check_accelerate_config", "{in}/a.yaml"),
         [F + "a.yaml", "key 'num_processes'", "expected int, got 'two'"]),
    Case("accelerate-bad-enum", {"a.yaml": "distributed_type: MULTI_QPU\n"},
         loader("geounlearn_trl.cli.common:check_accelerate_config", "{in}/a.yaml"),
         [F + "a.yaml", "key 'distributed_type'", "MULTI_QPU"]),
    Case("accelerate-missing-deepspeed-file", {"a.yaml": "distributed_type: DEEPSPEED\ndeepspeed_config:\n"
                                                        "  deepspeed_config_file: nowhere/ds.json\n"},
         loader("geounlearn_trl.cli.common:check_accelerate_config", "{in}/a.yaml"),
         [F + "a.yaml", "key 'deepspeed_config.deepspeed_config_file'", "no such file"]),
    # --- eval_results.json ----------------------------------------------------------------------------------------
    Case("eval-results-before-text", {"eval_results.json": json.dumps({"results": [{"metric": "m", "before": "high"}]})},
         loader("geounlearn_trl.hub.model_card:load_eval_results", "{in}"),
         [F + "eval_results.json", r"results\[0\]", "field 'before'", "expected a number"]),
    Case("eval-results-nan", {"eval_results.json": '{"results": [{"metric": "m", "after": 1}, '
                                                   '{"metric": "m", "after": NaN}]}'},
         loader("geounlearn_trl.hub.model_card:load_eval_results", "{in}"),
         [F + "eval_results.json", r"results\[1\]", "field 'after'", "finite"]),
    Case("eval-results-unknown-key", {"eval_results.json": json.dumps({"result": []})},
         loader("geounlearn_trl.hub.model_card:load_eval_results", "{in}"),
         [F + "eval_results.json", "key 'results'"]),
    Case("eval-results-latin1", {"eval_results.json": b'{"evaluation": "Fran\xe7ais", "results": []}'},
         loader("geounlearn_trl.hub.model_card:load_eval_results", "{in}"),
         [F + "eval_results.json", "not UTF-8", "byte offset 20"]),
    Case("eval-results-truncated", {"eval_results.json": json.dumps({"results": [{"metric": "m", "after": 1}]})[:25]},
         loader("geounlearn_trl.hub.model_card:load_eval_results", "{in}"),
         [F + "eval_results.json", "not valid JSON", "line 1"]),
    # --- adapter and model folders (respond --model_dir) ---------------------------------------------------------
    Case("adapter-config-missing-base", {}, ("respond", ["--model_dir", "{in}/adapter", "--output_dir", "{out}"]),
         [F + "adapter/adapter_config.json", "key 'base_model_name_or_path'"],
         setup=lambda folder, model: saved_adapter(folder, model, lambda a: edit_json(
             a / "adapter_config.json", lambda d: d.pop("base_model_name_or_path")))),
    Case("adapter-config-truncated", {}, ("respond", ["--model_dir", "{in}/adapter", "--output_dir", "{out}"]),
         [F + "adapter/adapter_config.json", "not valid JSON", "line"],
         setup=lambda folder, model: saved_adapter(folder, model, lambda a: half(a / "adapter_config.json"))),
    Case("adapter-weights-missing", {}, ("respond", ["--model_dir", "{in}/adapter", "--output_dir", "{out}"]),
         [F + "adapter/adapter_model.safetensors", "missing", "no weights"],
         setup=lambda folder, model: saved_adapter(folder, model,
                                                   lambda a: (a / "adapter_model.safetensors").unlink())),
    Case("adapter-weights-truncated", {}, ("respond", ["--model_dir", "{in}/adapter", "--output_dir", "{out}"]),
         [F + "adapter/adapter_model.safetensors", "cut short"],
         setup=lambda folder, model: saved_adapter(folder, model, lambda a: half(a / "adapter_model.safetensors"))),
    Case("model-config-without-model-type", {}, ("respond", ["--model_dir", "{in}/model", "--output_dir", "{out}"]),
         [F + "model/config.json", "key 'model_type'"],
         setup=lambda folder, model: saved_model(folder, model, lambda m: edit_json(
             m / "config.json", lambda d: d.pop("model_type")))),
    Case("model-weights-truncated", {}, ("respond", ["--model_dir", "{in}/model", "--output_dir", "{out}"]),
         [F + "model/model.safetensors", "tensor '", "past the file"],
         setup=lambda folder, model: saved_model(folder, model, lambda m: half(m / "model.safetensors"))),
    Case("model-tokenizer-truncated", {}, ("respond", ["--model_dir", "{in}/model", "--output_dir", "{out}"]),
         [F + "model/tokenizer.json", "not valid JSON", "line"],
         setup=lambda folder, model: saved_model(folder, model, lambda m: half(m / "tokenizer.json"))),
    # --- response files (score --input_file) ------------------------------------------------------------------------
    Case("responses-json-missing-list", {"r.json": json.dumps({"question": ["Q"], "target": ["x"]})},
         ("score", ["--language", "en", "--input_file", "{in}/r.json", "--output_dir", "{out}"]),
         [F + "r.json", "field 'model_answer'"]),
    Case("responses-json-unequal-lists", {"r.json": json.dumps({"question": ["Q", "Q2"], "target": ["x", "y"],
                                                                "model_answer": ["a) x"]})},
         ("score", ["--language", "en", "--input_file", "{in}/r.json", "--output_dir", "{out}"]),
         [F + "r.json", "field 'model_answer'", "not of the same length"]),
    Case("responses-json-question-not-list", {"r.json": json.dumps({"question": "Q", "target": ["x"],
                                                                    "model_answer": ["a) x"]})},
         ("score", ["--language", "en", "--input_file", "{in}/r.json", "--output_dir", "{out}"]),
         [F + "r.json", "field 'question'", "expected a list"]),
    Case("responses-json-null-answer", {"r.json": json.dumps({"question": ["Q", "Q2"], "target": ["x", "y"],
                                                              "model_answer": ["a) x", None]})},
         ("score", ["--language", "en", "--input_file", "{in}/r.json", "--output_dir", "{out}"]),
         [F + "r.json", "item 2", "field 'model_answer'", "expected text"]),
    Case("responses-json-truncated", {"r.json": json.dumps({"question": ["Q"] * 5, "target": ["x"] * 5,
                                                            "model_answer": ["a) x"] * 5}, indent=1)[:60]},
         ("score", ["--language", "en", "--input_file", "{in}/r.json", "--output_dir", "{out}"]),
         [F + "r.json", r"line \d+", "not valid JSON"]),
    Case("responses-jsonl-truncated-middle", {"r.jsonl": jsonl(RESPONSE, json.dumps(RESPONSE)[:40], RESPONSE)},
         ("score", ["--language", "en", "--input_file", "{in}/r.jsonl", "--output_dir", "{out}"]),
         [F + "r.jsonl", "line 2", "not valid JSON"]),
    Case("responses-jsonl-line-not-object", {"r.jsonl": jsonl(RESPONSE, "[1]")},
         ("score", ["--language", "en", "--input_file", "{in}/r.jsonl", "--output_dir", "{out}"]),
         [F + "r.jsonl", "line 2", "expected an object"]),
    Case("responses-jsonl-index-out-of-range", {"r.jsonl": jsonl(RESPONSE, dict(RESPONSE, target_index=7))},
         ("score", ["--language", "en", "--input_file", "{in}/r.jsonl", "--output_dir", "{out}"]),
         [F + "r.jsonl", "line 2", "field 'target_index'", "7 is not an index"]),
    Case("responses-jsonl-unknown-language", {"r.jsonl": jsonl(dict(RESPONSE, language="xx"))},
         ("score", ["--language", "en", "--input_file", "{in}/r.jsonl", "--output_dir", "{out}"]),
         [F + "r.jsonl", "line 1", "field 'language'", "Unknown language 'xx'"]),
    Case("responses-jsonl-options-not-list", {"r.jsonl": jsonl(dict(RESPONSE, options="x, y"))},
         ("score", ["--language", "en", "--input_file", "{in}/r.jsonl", "--output_dir", "{out}"]),
         [F + "r.jsonl", "line 1", "field 'options'", "expected a list"]),
    Case("responses-jsonl-missing-target", {"r.jsonl": jsonl(RESPONSE, {k: v for k, v in RESPONSE.items()
                                                                        if k != "target"})},
         ("score", ["--language", "en", "--input_file", "{in}/r.jsonl", "--output_dir", "{out}"]),
         [F + "r.jsonl", "line 2", "field 'target'", "missing"]),
    Case("responses-latin1", {"r.jsonl": json.dumps(RESPONSE).encode() + b"\n" + b'{"question": "Fran\xe7ais"}\n'},
         ("score", ["--language", "en", "--input_file", "{in}/r.jsonl", "--output_dir", "{out}"]),
         [F + "r.jsonl", "not UTF-8", r"byte offset \d+ \(line 2\)"]),
    Case("responses-empty", {"r.jsonl": "\n"},
         ("score", ["--language", "en", "--input_file", "{in}/r.jsonl", "--output_dir", "{out}"]),
         [F + "r.jsonl", "empty file"]),
    # --- score summaries (report --summaries) -----------------------------------------------------------------------
    Case("summary-run-without-metrics", {"summary.json": json.dumps({"runs": [{"model": "m", "language": "en"}]})},
         ("report", ["--summaries", "{in}/summary.json", "--output_dir", "{out}"]),
         [F + "summary.json", "run 0", "field 'metrics'", "missing"]),
    Case("summary-truncated", {"summary.json": json.dumps({"runs": []}, indent=2)[:8]},
         ("report", ["--summaries", "{in}/summary.json", "--output_dir", "{out}"]),
         [F + "summary.json", "not valid JSON", "line 2"]),
]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_clear_error_and_touches_nothing(case, tmp_path, tiny_model_dir, capsys):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    for name, content in case.files.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    if case.setup is not None:
        case.setup(folder, tiny_model_dir)
    # What was written before: a sentinel and an earlier result in the output folder.
    (out / "sentinel.txt").write_text("written before\n", encoding="utf-8")
    (out / "summary.json").write_text('{"runs": []}\n', encoding="utf-8")
    before = tree(tmp_path)

    if callable(case.run):
        with pytest.raises(InputError) as raised:
            case.run(folder)
        message = str(raised.value)
    else:
        from geounlearn_trl.cli.main import main

        command, argv = case.run
        argv = [a.replace("{in}", str(folder)).replace("{out}", str(out)).replace("{model}", tiny_model_dir)
                for a in argv]
        code = main([command, *argv])
        message = capsys.readouterr().err.strip().splitlines()[-1]
        assert code == case.exit_code, message
        assert message.startswith(f"geounlearn-trl {command}: "), message
    for pattern in case.names:
        pattern = pattern.replace(F, re.escape(str(folder) + "/"))
        assert re.search(pattern, message), f"{pattern!r} not in: {message}"
    assert tree(tmp_path) == before  # every file already written, inputs included, is as it was


def test_the_sweep_covers_every_kind_of_input():
    kinds = {case.id.split("-")[0] for case in CASES}
    assert kinds == {"mcq", "retain", "pack", "anchors", "prompts", "recipe", "accelerate", "eval", "adapter", "model",
                     "responses", "summary"}
    assert len(CASES) >= 50 and len({case.id for case in CASES}) == len(CASES)


def test_a_bom_and_json_values_load_as_text(tmp_path):
    """The other side of the sweep: a UTF-8 BOM is dropped (the first column keeps its name), numbers in a JSON MCQ
    become text, blank lines are skipped and rows keep the numbers datasets gives them."""
    from geounlearn_trl.data.mcq import load_mcq

    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(GOOD_ROW, "", "Q2,1,2,3,4,Option_4").encode())
    rows = load_mcq(str(path))
    assert rows["question"][1] == "Q2" and rows["options"][1] == ["1", "2", "3", "4"] and rows["row"] == [1, 2]
    path = tmp_path / "numbers.jsonl"
    path.write_text(jsonl(mcq_record(Option_1=1, Option_2=2.5, Correct_Option="Option_2")), encoding="utf-8")
    assert load_mcq(str(path))["target"] == ["2.5"]
