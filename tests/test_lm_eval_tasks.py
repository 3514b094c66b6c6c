"""lm-evaluation-harness tasks (geounlearn_trl.evaluation.lm_eval_tasks): generated for every language pack, and lm_eval's per-item
log-likelihoods, picks and aggregate numbers equal to ours (evaluation.answer_questions + the stereotype_bias metric)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geounlearn_trl.evaluation import scoring
from geounlearn_trl.data.languages import (
    LANGUAGE_DIR,
    available_languages,
    load_language_pack,
)
from geounlearn_trl.evaluation.lm_eval_tasks import (
    OUR_METRIC_NAMES,
    LmEvalTaskArguments,
    accuracy_metric_name,
    group_name,
    task_name,
    tokenization_mismatches,
    write_lm_eval_tasks,
)
from geounlearn_trl.data.mcq import (
    SplitArguments,
    disambiguated_items,
    held_out_split,
    load_mcq,
    present_question,
)
from geounlearn_trl.data.unlearning import sample_control_path, sample_mcq_path

SEED = 42
ITEM_TYPES = ("ambiguous", "disambiguated", "control")


def read_docs(generated, name: str) -> list[dict]:
    with open(generated.tasks[name]["data"], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def reference_items(code: str, n: int | None = None, pack=None) -> dict[str, list[dict]]:
    """The measuring commands' items, built here as demo builds them: held-out rows (default split), their
    disambiguated items, the control rows."""
    pack = pack or load_language_pack(code)
    split_args = SplitArguments()
    mcq = load_mcq(sample_mcq_path(code))
    rows = held_out_split(mcq, split_args.eval_fraction, split_args.split_seed).eval
    held = mcq.select(rows[:n] if n else rows)
    control = load_mcq(sample_control_path(code), is_control=True)
    control = control.select(range(n)) if n else control
    return {"ambiguous": list(held), "disambiguated": list(disambiguated_items(held, pack, SEED)),
            "control": list(control)}


def test_every_installed_pack_with_the_default_rule_and_the_held_out_split(tmp_path):
    generated = write_lm_eval_tasks(LmEvalTaskArguments(output_dir=str(tmp_path)))
    assert generated.scoring_rule == scoring.DEFAULT_SCORING_RULE
    assert set(available_languages()) >= {"en", "fr", "hi"}
    assert generated.groups[group_name()] == [group_name(code) for code in available_languages()]
    for code in ("en", "fr", "hi"):
        pack = load_language_pack(code)
        assert generated.groups[group_name(code)] == [task_name(code, item_type) for item_type in ITEM_TYPES]
        for item_type, rows in reference_items(code).items():
            docs = read_docs(generated, task_name(code, item_type))
            assert [doc["row"] for doc in docs] == [row["row"] for row in rows]
            for doc, row in zip(docs, rows):
                presented = present_question(row, pack, SEED, prompt_style="cloze")
                assert doc["prompt"] == presented.prompt and doc["prompt"].endswith(f"\n{pack.answer_label}:")
                assert doc["choices"] == presented.options
                assert doc["unknown_phrase"] == presented.unknown_phrase
                assert doc["choices"][doc["unknown_index"]] == presented.unknown_phrase
                assert doc["scoring_rule"] == scoring.DEFAULT_SCORING_RULE
                assert doc["premise"] == pack.content_free_prompt
                right = {"ambiguous": presented.unknown_phrase}.get(item_type, row["target"])
                assert doc["choices"][doc["gold"]] == right
                if item_type != "control":
                    assert doc["choices"][doc["stereotype_index"]] == row["stereotype"]
        yaml_text = Path(generated.tasks[task_name(code, "control")]["yaml"]).read_text(encoding="utf-8")
        assert "dataset_path: json" in yaml_text and "process_results: !function utils.process_results" in yaml_text
        assert f"metric: {accuracy_metric_name(scoring.DEFAULT_SCORING_RULE)}\n" in yaml_text
    assert (tmp_path / "utils.py").is_file() and (tmp_path / f"_{group_name()}.yaml").is_file()


def test_the_default_rule_is_read_at_generation_time(tmp_path, monkeypatch):
    monkeypatch.setattr(scoring, "DEFAULT_SCORING_RULE", "sum")
    generated = write_lm_eval_tasks(LmEvalTaskArguments(output_dir=str(tmp_path), languages="fr", max_questions=2))
    yaml_text = Path(generated.tasks[task_name("fr", "disambiguated")]["yaml"]).read_text(encoding="utf-8")
    assert generated.scoring_rule == "sum" and "class:" not in yaml_text and "metric: acc\n" in yaml_text
    monkeypatch.setattr(scoring, "DEFAULT_SCORING_RULE", "calibrated")
    generated = write_lm_eval_tasks(LmEvalTaskArguments(output_dir=str(tmp_path), languages="fr", max_questions=2))
    yaml_text = Path(generated.tasks[task_name("fr", "disambiguated")]["yaml"]).read_text(encoding="utf-8")
    assert "class: !function utils.PremiseCalibratedTask" in yaml_text and "metric: acc_calibrated\n" in yaml_text


def test_splits_and_user_files(tmp_path):
    mcq = load_mcq(sample_mcq_path("en"))
    split = held_out_split(mcq, 0.3, 7)
    generated = write_lm_eval_tasks(
        LmEvalTaskArguments(output_dir=str(tmp_path), languages="en", split="train", control_dataset="none",
                            dataset=f"en={sample_mcq_path('en')}"),
        SplitArguments(eval_fraction=0.3, split_seed=7),
    )
    assert [doc["row"] for doc in read_docs(generated, task_name("en", "ambiguous"))] == [mcq[i]["row"] for i in split.train]
    assert task_name("en", "control") not in generated.tasks
    with pytest.raises(ValueError, match="one file for several languages"):
        write_lm_eval_tasks(LmEvalTaskArguments(output_dir=str(tmp_path), languages="en,fr",
                                                dataset=sample_mcq_path("en")))


def test_a_user_language_pack_through_the_command(tmp_path):
    """A pack that is not installed (a JSON file elsewhere) with its own data, next to the installed ones."""
    from geounlearn_trl.cli.main import main

    data = json.loads((LANGUAGE_DIR / "en.json").read_text(encoding="utf-8"))
    data.update(code="xx", name="Test", unknown_phrases=["Nobody can tell", "No idea"], answer_label="Reply")
    pack_file = tmp_path / "packs" / "xx.json"
    pack_file.parent.mkdir()
    pack_file.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "tasks"
    assert main(["lm-eval-tasks", "--output_dir", str(out), "--language_pack", str(pack_file), "--dataset",
                 f"xx={sample_mcq_path('en')}", "--control_dataset", f"xx={sample_control_path('en')}",
                 "--max_questions", "3", "--max_control_questions", "2"]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert group_name("xx") in manifest["groups"][group_name()]
    assert {"en", "fr", "hi", "xx"} <= {task["language"] for task in manifest["tasks"].values()}
    docs = [json.loads(line) for line in (out / "data" / f"{task_name('xx', 'ambiguous')}.jsonl").open()]
    assert len(docs) == 3 and all(doc["unknown_phrase"] in data["unknown_phrases"] for doc in docs)
    assert all(doc["prompt"].endswith("\nReply:") and doc["premise"] == "Reply:" for doc in docs)
    assert manifest["tasks"][task_name("xx", "control")]["n"] == 2
    lm_eval = pytest.importorskip("lm_eval")
    from lm_eval.tasks import TaskManager

    names = TaskManager(include_path=str(out), include_defaults=False).all_tasks
    assert {group_name(), group_name("xx"), *(task_name("xx", t) for t in ITEM_TYPES)} <= set(names)
    del lm_eval


def test_tokenizations_agree_on_every_shipped_item(tmp_path, tokenizer):
    """lm-eval encodes context + continuation at once, we encode them apart: on our prompts (ending in ':') and the
    embedded tokenizer they give the same ids, in every language, for the prompt and for the premise."""
    generated = write_lm_eval_tasks(LmEvalTaskArguments(output_dir=str(tmp_path), languages="en,fr,hi",
                                                        scoring_rule="calibrated"))
    for name in generated.tasks:
        assert tokenization_mismatches(tokenizer, read_docs(generated, name)) == [], name


def test_rules_from_lm_eval_results_without_a_model():
    pytest.importorskip("lm_eval")
    from geounlearn_trl.evaluation.lm_eval_utils import option_scores, process_results

    doc = {"choices": ["Kenyan", "Unknown", "German"], "target": "Kenyan", "stereotype": "Kenyan",
           "unknown_phrase": "Unknown", "item_type": "ambiguous", "option_tokens": [2, 1, 3]}
    results = [(-4.0, False), (-3.0, False), (-6.0, False), (-1.0, False), (-0.5, False), (-5.0, False)]
    for rule in scoring.SCORING_RULES:
        expected = [scoring.apply_scoring_rule(rule, total, tokens, option, premise)
                    for total, tokens, option, premise in zip([-4.0, -3.0, -6.0], [2, 1, 3], doc["choices"],
                                                               [-1.0, -0.5, -5.0])]
        assert option_scores(dict(doc, scoring_rule=rule), results) == pytest.approx(expected)
    assert process_results(dict(doc, scoring_rule="calibrated"), results)["stereotype_rate"] == 0  # -1 vs -2.5
    assert process_results(dict(doc, scoring_rule="sum"), results)["unknown_rate"] == 1
    with pytest.raises(ValueError, match="PremiseCalibratedTask"):
        option_scores(dict(doc, scoring_rule="calibrated"), results[:3])


# --------------------------------------------------------------------------------------------------- lm_eval runs


def run_lm_eval(task_dir: str, model_dir: str, tasks: list[str], apply_chat_template: bool = False) -> dict:
    import lm_eval
    from lm_eval.tasks import TaskManager

    return lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={model_dir},dtype=float32,device=cpu", tasks=tasks,
        task_manager=TaskManager(include_path=task_dir, include_defaults=False), batch_size=32, log_samples=True,
        bootstrap_iters=0, apply_chat_template=apply_chat_template,
    )


def compare_with_ours(out: dict, generated, model, tokenizer, languages, rules, use_chat_template=False, tol=1e-4):
    """Per item: lm_eval's log-likelihoods (prompt and premise) equal ours (with a chat template: up to one constant
    per item), and so do the picks under each of ``rules`` (from the same lm_eval results); per task: every number
    equals the stereotype_bias metric's on our answers under the generated rule."""
    from geounlearn_trl.evaluation.measurement import (
        ModelAnswers,
        ScoringSettings,
        answer_questions,
        load_metric,
        metric_inputs,
    )
    from geounlearn_trl.evaluation.lm_eval_utils import choose

    metric = load_metric()
    for code in languages:
        pack = load_language_pack(code)
        names = generated.task_names(code)
        items = {}
        for name in names:
            docs = read_docs(generated, name)
            keys = ("question", "options", "target", "target_index", "identity", "attribute", "is_control", "source",
                    "row", "split_group", "item_type", "stereotype")
            items[name] = [{key: doc[key] for key in keys} for doc in docs]
            samples = sorted(out["samples"][name], key=lambda sample: sample["doc_id"])
            assert [sample["doc"]["row"] for sample in samples] == [doc["row"] for doc in docs]
            presented = [present_question(item, pack, SEED, prompt_style=generated.prompt_style) for item in items[name]]
            ours_ll = scoring.option_loglikelihoods(model, tokenizer, [q.prompt for q in presented],
                                                    [q.options for q in presented], normalize="sum",
                                                    use_chat_template=use_chat_template)
            ours_premise = scoring.content_free_loglikelihoods(model, tokenizer, [pack.content_free_prompt] * len(docs),
                                                               [q.options for q in presented],
                                                               use_chat_template=use_chat_template)
            for sample, ll, premise in zip(samples, ours_ll, ours_premise):
                theirs = [float(result[0]) for result in sample["filtered_resps"]]
                n = len(sample["doc"]["choices"])
                pairs = [(theirs[:n], ll)] + ([(theirs[n:], premise)] if generated.scoring_rule == "calibrated" else [])
                for lm_eval_ll, our_ll in pairs:
                    # With a chat template lm-eval adds log p(template's trailing newline) to every option's score.
                    offset = lm_eval_ll[0] - our_ll[0] if use_chat_template else 0.0
                    assert [value - offset for value in lm_eval_ll] == pytest.approx(our_ll, abs=tol), name
            for rule in rules:
                answers = answer_questions(model, tokenizer, items[name], pack,
                                           ScoringSettings(SEED, generated.prompt_style, rule, use_chat_template, 64))
                picks = [choose(dict(sample["doc"], scoring_rule=rule), sample["filtered_resps"]) for sample in samples]
                assert picks == [answer.chosen_index for answer in answers], (name, rule)
        answers = answer_questions(model, tokenizer, [item for name in names for item in items[name]], pack,
                                   ScoringSettings(SEED, generated.prompt_style, generated.scoring_rule,
                                                   use_chat_template, 64))
        ours = metric.compute(**metric_inputs([ModelAnswers(code, answers)]))
        for name in names:
            item_type = generated.tasks[name]["item_type"]
            for task_metric, our_metric in OUR_METRIC_NAMES[item_type].items():
                task_metric = task_metric.format(acc=accuracy_metric_name(generated.scoring_rule))
                value = out["results"][name][f"{task_metric},none"]
                assert ours[our_metric] is not None, our_metric
                assert value == pytest.approx(ours[our_metric], abs=1e-9), (name, task_metric)


@pytest.fixture(scope="module")
def tiny_model(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    from geounlearn_trl.models import load_tokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval(), load_tokenizer(tiny_model_dir)


def test_lm_eval_equals_ours_on_a_tiny_model_calibrated(tmp_path, tiny_model_dir, tiny_model):
    """The calibrated rule's task class (premise requests), in en and hi; from its results every rule's picks."""
    pytest.importorskip("lm_eval")
    generated = write_lm_eval_tasks(LmEvalTaskArguments(
        output_dir=str(tmp_path), languages="en,hi", scoring_rule="calibrated", max_questions=4,
        max_control_questions=8, tokenizer=tiny_model_dir))
    assert set(generated.tokenization_mismatches.values()) == {0}
    out = run_lm_eval(str(tmp_path), tiny_model_dir, [group_name("en"), group_name("hi")])
    compare_with_ours(out, generated, *tiny_model, ["en", "hi"], scoring.SCORING_RULES)


def test_lm_eval_equals_ours_on_a_tiny_model_sum_with_lettered_options(tmp_path, tiny_model_dir, tiny_model):
    """The stock multiple_choice path (no task class): lm-eval's own ``acc`` is ours under the sum rule; here with
    the lettered-options prompt (respond's format)."""
    pytest.importorskip("lm_eval")
    generated = write_lm_eval_tasks(LmEvalTaskArguments(output_dir=str(tmp_path), languages="fr", scoring_rule="sum",
                                                        prompt_style="options", max_questions=4, max_control_questions=4))
    assert "\na) " in read_docs(generated, task_name("fr", "control"))[0]["prompt"]
    out = run_lm_eval(str(tmp_path), tiny_model_dir, [group_name()])
    compare_with_ours(out, generated, *tiny_model, ["fr"], ["sum"])


def test_with_a_chat_template_the_sum_and_calibrated_rules_still_agree(tmp_path, tiny_model_dir, tiny_model):
    """lm_eval --apply_chat_template renders the prompt as ours does with a chat template, but moves the template's
    trailing newline into every continuation: a constant per item, which leaves the sum and calibrated picks (and
    so every number) ours; acc_norm, acc_bytes and mean divide it and can differ."""
    pytest.importorskip("lm_eval")
    generated = write_lm_eval_tasks(LmEvalTaskArguments(output_dir=str(tmp_path), languages="hi", max_questions=3,
                                                        max_control_questions=3, scoring_rule="calibrated"))
    out = run_lm_eval(str(tmp_path), tiny_model_dir, [group_name("hi")], apply_chat_template=True)
    compare_with_ours(out, generated, *tiny_model, ["hi"], ["sum", "calibrated"], use_chat_template=True)


@pytest.mark.slow
def test_lm_eval_equals_ours_on_the_embedded_model(tmp_path, gemma_model_dir):
    pytest.importorskip("lm_eval")
    import torch
    from transformers import AutoModelForCausalLM

    from geounlearn_trl.models import load_tokenizer

    generated = write_lm_eval_tasks(LmEvalTaskArguments(output_dir=str(tmp_path), languages="en,hi", max_questions=3,
                                                        max_control_questions=3, tokenizer=gemma_model_dir))
    assert set(generated.tokenization_mismatches.values()) == {0}
    out = run_lm_eval(str(tmp_path), gemma_model_dir, [group_name()])
    model = AutoModelForCausalLM.from_pretrained(gemma_model_dir, dtype=torch.float32).eval()
    compare_with_ours(out, generated, model, load_tokenizer(gemma_model_dir), ["en", "hi"], [generated.scoring_rule],
                      tol=2e-3)
