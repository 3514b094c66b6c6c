"""Anchor dictionaries: parsing what models write, merge/clean rules, validation, the pickle opt-in, the CLI."""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from geounlearn_trl.methods.selective.anchors import (
    AnchorDictionaryError,
    PickleRefusedError,
    clean_anchor_dictionary,
    extract_anchor_dictionary,
    load_anchor_dictionary,
    load_npy_dictionaries,
    merge_anchor_dictionaries,
    save_anchor_dictionary,
    splittable_keys,
    validate_anchor_dictionary,
)
from geounlearn_trl.cli import anchors as anchors_cli
from geounlearn_trl.methods.selective.extraction import _TERM_LABELS, chunk_text, is_placeholder, parse_anchor_output

STORY = (
    "The harbour town of Velmora sits at the mouth of the river Quelt. Its lighthouse keeper, Orsolya Dravic, lights "
    "the green lamp of Castel Brin every evening.\n\n"
    "Every spring the town holds the Festival of Salt Lanterns, and the mayor, Tobiah Wrenfield, reads the Charter of "
    "Tides aloud."
)


class ScriptedChatModel(torch.nn.Module):
    """Stands in for an instruct model: ``generate`` appends the same scripted reply to every prompt."""

    def __init__(self, tokenizer, reply: str):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # chat_generate reads the device from a parameter
        # A finished reply ends with the end-of-turn token, as a chat model's does; max_new_tokens may cut it short.
        ids = tokenizer(reply, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        self.reply_ids = torch.tensor(ids)
        self.calls = []

    def generate(self, input_ids, attention_mask=None, max_new_tokens=None, **kwargs):
        self.calls.append({"input_ids": input_ids, "max_new_tokens": max_new_tokens, **kwargs})
        reply = self.reply_ids[:max_new_tokens].expand(input_ids.shape[0], -1)
        return torch.cat([input_ids, reply], dim=1)


# ---------------------------------------------------------------------------------------------------------------------
# Parsing what models write
# ---------------------------------------------------------------------------------------------------------------------

MESSY_REPLIES = [
    (
        "Here are the anchor terms:\n\n1. **Harry**: Jon, John, Henry\n2. **Hogwarts** - Riverside Academy, the "
        "school\n- Ron -> Tom, Sam\n* Quidditch (football, rugby)\nI hope this list helps you.\n",
        {
            "Harry": ["Jon", "John", "Henry"],
            "Hogwarts": ["Riverside Academy", "the school"],
            "Ron": ["Tom", "Sam"],
            "Quidditch": ["football", "rugby"],
        },
        1,
    ),
    (
        'Sure!\n```json\n{"Harry": ["Jon", "John"], "Hogwarts": "the academy, the school"}\n```\nHope this helps!',
        {"Harry": ["Jon", "John"], "Hogwarts": ["the academy", "the school"]},
        2,
    ),
    (
        '[{"term": "Harry", "alternatives": ["Jon"]}, {"term": "Ron", "alternatives": "Tom, Sam"}]',
        {"Harry": ["Jon"], "Ron": ["Tom", "Sam"]},
        0,
    ),
    (
        "Term: Malfoy\nAlternatives: Smith, Blackwood\n\nTerm: Snape\nAlternatives: Mr. Smith or Mr. Jones",
        {"Malfoy": ["Smith", "Blackwood"], "Snape": ["Mr. Smith", "Mr. Jones"]},
        0,
    ),
    ("Harry:\n- Jon\n- John\n\nAnchor terms:\n- Ron\n- Hermione\n", {"Harry": ["Jon", "John"]}, 2),
    ("1. Harry\n   - Jon\n   - John\n2. Ron\n   - Tom\n", {"Harry": ["Jon", "John"], "Ron": ["Tom"]}, 0),
    (
        "| Term | Alternatives |\n|---|---|\n| Harry | Jon, John |\n| Ron | Tom |",
        {"Harry": ["Jon", "John"], "Ron": ["Tom"]},
        0,
    ),
    ('Harry: ["Jon", "John"]\nHarry: Harry, Harold', {"Harry": ["Jon", "John", "Harold"]}, 0),
    ('{"anchors": {"Hog’s Head": ["Boar’s Crown"]}}', {"Hog’s Head": ["Boar’s Crown"]}, 0),
    # A flat list of bare terms has no alternatives: nothing is guessed.
    ("- Harry\n- Ron\n- Hermione", {}, 3),
    # What the 135M model really wrote on a test story: placeholders are not alternatives.
    ('"alternative 1: no alternative is available."\nAlternative 2: N/A', {}, 2),
    (
        "Pellin Astrane (girl)\nCastel Brin: the castle (a lighthouse), the tower.",
        {"Pellin Astrane": ["girl"], "Castel Brin": ["the castle", "the tower"]},
        0,
    ),
]


@pytest.mark.parametrize(("reply", "expected", "skipped"), MESSY_REPLIES)
def test_parse_anchor_output_on_messy_replies(reply, expected, skipped):
    parsed = parse_anchor_output(reply)
    assert parsed.entries == expected
    assert parsed.skipped == skipped


_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9).map(str.capitalize)
# A term that *is* a term label ("1. **Term**: Aa" opens a pending term "Aa") is ambiguous: left out. Alternative
# labels as terms ("1. **Generic**: Aa", found by Hypothesis) parse as terms when no term is pending.
_LABEL_WORDS = {label.casefold() for label in _TERM_LABELS}
_phrase = (
    st.lists(_word, min_size=1, max_size=3)
    .map(" ".join)
    .filter(lambda p: not is_placeholder(p) and p.casefold() not in _LABEL_WORDS)
)
_dictionaries = (
    st.dictionaries(_phrase, st.lists(_phrase, min_size=1, max_size=4, unique=True), min_size=1, max_size=6)
    .map(lambda d: {k: [a for a in v if a.casefold() != k.casefold()] for k, v in d.items()})
    .filter(lambda d: all(d.values()))
)


def _render(dictionary: dict, style: str) -> str:
    if style == "json":
        return json.dumps(dictionary)
    if style == "fenced":
        return "Here you go:\n```json\n" + json.dumps(dictionary, indent=2) + "\n```\nDone."
    if style == "numbered":
        return "\n".join(f"{i}. **{k}**: {', '.join(v)}" for i, (k, v) in enumerate(dictionary.items(), 1))
    if style == "bullets":
        return "Anchor terms:\n" + "\n".join(f"- {k} -> {'; '.join(v)}" for k, v in dictionary.items())
    if style == "pairs":
        return "\n\n".join(f"Term: {k}\nAlternatives: {', '.join(v)}" for k, v in dictionary.items())
    if style == "nested":
        return "\n".join(
            f"{i}. {k}\n" + "\n".join(f"   - {a}" for a in v) for i, (k, v) in enumerate(dictionary.items(), 1)
        )
    raise AssertionError(style)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(dictionary={"Generic": ["Aa"]}, style="numbered")
@given(dictionary=_dictionaries, style=st.sampled_from(["json", "fenced", "numbered", "bullets", "pairs", "nested"]))
def test_parse_anchor_output_round_trips_every_format(dictionary, style):
    parsed = parse_anchor_output(_render(dictionary, style))
    assert parsed.entries == dictionary
    assert parsed.skipped == (1 if style == "fenced" else 0)  # the closing "Done." is prose: skipped and counted


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_parse_anchor_output_never_raises_and_never_keeps_a_term_as_its_own_alternative(text):
    parsed = parse_anchor_output(text)
    assert parsed.skipped >= 0
    for term, alternatives in parsed.entries.items():
        assert alternatives and term.casefold() not in {a.casefold() for a in alternatives}


# ---------------------------------------------------------------------------------------------------------------------
# Merge and clean
# ---------------------------------------------------------------------------------------------------------------------


def test_merge_is_a_deduplicated_union_without_self_alternatives():
    decomposed = unicodedata.normalize("NFD", "Zoé")
    merged = merge_anchor_dictionaries(
        {"Harry": ["Jon", "John"], "Ron": ["Ron"], "Zoé": ["Anna"]},
        {"Harry": ["John", "Henry", "harry", " Jon "], decomposed: ["Lea"], "Hogwarts  School": ["the school"]},
    )
    assert merged == {
        "Harry": ["Jon", "John", "Henry"],  # union in order of first appearance; "harry" is the key itself
        "Zoé": ["Anna", "Lea"],  # NFC: the decomposed key is the same key
        "Hogwarts School": ["the school"],
    }  # "Ron" had only itself as an alternative: dropped


def test_clean_drops_possessives_and_multiword_keys_made_of_keys():
    dictionary = {
        "Harry": ["Jon"],
        "Potter": ["Smith"],
        "Harry's": ["Jon's"],
        "Harry’s": ["Jon’s"],
        "Harry Potter": ["Jon Smith"],
        "Harry Potter and": ["x"],  # "and" is not a key: kept
        "Hermione's": ["Emma's"],  # "Hermione" is not a key: kept
        "Potter's cat": ["Smith's cat"],  # "Potter's" and "cat" are not keys: kept, as in the original
        "Weasleys'": ["the Smiths'"],
        "Weasleys": ["the Smiths"],
    }
    assert sorted(splittable_keys(dictionary)) == sorted(["Harry's", "Harry’s", "Harry Potter", "Weasleys'"])
    cleaned = clean_anchor_dictionary(dictionary)
    assert set(cleaned) == {"Harry", "Potter", "Harry Potter and", "Hermione's", "Potter's cat", "Weasleys"}
    assert cleaned["Harry"] == ["Jon"]


def test_the_real_whp_dictionary_loads_and_is_already_clean(shared_data):
    dictionary = load_anchor_dictionary(shared_data / "whp" / "anchor_dictionary.json")
    assert len(dictionary) == 1599
    assert dictionary["Harry"] == ["Jon", "John", "Henry"]
    assert len(dictionary["Hogwarts"]) == 21
    # The released file was cleaned by the original rule; ours must agree and drop nothing.
    assert splittable_keys(dictionary) == []


# ---------------------------------------------------------------------------------------------------------------------
# Validation, writing, pickle
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([["Harry", "Jon"]], "expected a JSON object"),
        ({}, "no anchor terms"),
        ({"Harry": "Jon"}, "key 'Harry': expected a list of alternatives, got str"),
        ({"Harry": []}, "key 'Harry': the list of alternatives is empty"),
        ({"Harry": ["Jon", 3]}, "key 'Harry': alternative 1 is 3"),
        ({"Harry": ["Jon", "  "]}, "key 'Harry': alternative 1 is '  '"),
        ({"": ["Jon"]}, "key '': anchor terms must be non-empty strings"),
    ],
)
def test_bad_shapes_get_errors_naming_file_and_key(tmp_path, data, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(AnchorDictionaryError) as error:
        load_anchor_dictionary(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_not_json_and_missing_files_are_clear(tmp_path):
    path = tmp_path / "dicts_new.npy"
    np.save(path, np.arange(3))
    with pytest.raises(AnchorDictionaryError, match="--allow_pickle"):
        load_anchor_dictionary(path)
    with pytest.raises(AnchorDictionaryError, match="no such file"):
        load_anchor_dictionary(tmp_path / "missing.json")


def test_saved_dictionary_is_reviewable(tmp_path):
    path = tmp_path / "anchors.json"
    save_anchor_dictionary({"Zoé": ["Anna"], "Abbott": ["Adams", "Allen"]}, path)
    text = path.read_text(encoding="utf-8")
    assert text.index('"Abbott"') < text.index('"Zoé"')  # sorted keys, UTF-8 rather than \u escapes
    assert '\n  "Abbott": [\n    "Adams",' in text  # indented
    assert load_anchor_dictionary(path) == {"Abbott": ["Adams", "Allen"], "Zoé": ["Anna"]}
    with pytest.raises(AnchorDictionaryError):
        save_anchor_dictionary({"Harry": []}, path)
    assert load_anchor_dictionary(path) == {"Abbott": ["Adams", "Allen"], "Zoé": ["Anna"]}  # nothing lost


@pytest.mark.parametrize("as_list", [False, True])
def test_npy_is_refused_without_allow_pickle_and_loaded_with_it(tmp_path, as_list):
    path = tmp_path / "dicts_new.npy"
    dictionaries = [{"Harry": ["Jon"], "Harry's": ["Jon's"]}, {"Harry": np.array(["John"]), "Ron": "Tom"}]
    payload = np.array(dictionaries, dtype=object) if as_list else dictionaries[0]
    np.save(path, payload, allow_pickle=True)
    with pytest.raises(PickleRefusedError, match="pickle"):
        load_npy_dictionaries(path)
    loaded = load_npy_dictionaries(path, allow_pickle=True)
    assert loaded[0] == {"Harry": ["Jon"], "Harry's": ["Jon's"]}
    if as_list:
        assert loaded[1] == {"Harry": ["John"], "Ron": ["Tom"]}

    output = tmp_path / "anchors.json"
    assert anchors_cli.main(["--import_npy", str(path), "--output", str(output)]) == 2
    assert not output.exists()
    assert anchors_cli.main(["--import_npy", str(path), "--allow_pickle", "--output", str(output)]) == 0
    expected = {"Harry": ["Jon", "John"], "Ron": ["Tom"]} if as_list else {"Harry": ["Jon"]}
    assert load_anchor_dictionary(output) == expected  # merged, and "Harry's" cleaned away


def test_pickle_refusal_is_explained_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "dicts_new.npy"
    np.save(path, {"Harry": ["Jon"]}, allow_pickle=True)
    assert anchors_cli.main(["--import_npy", str(path), "--output", str(tmp_path / "out.json")]) == 2
    error = capsys.readouterr().err
    assert "pickle" in error and "allow_pickle=True" in error and "--allow_pickle" in error


# ---------------------------------------------------------------------------------------------------------------------
# Extraction and the command
# ---------------------------------------------------------------------------------------------------------------------


def test_chunks_fit_the_budget_and_keep_every_word(tokenizer):
    text = STORY + "\n\n" + " ".join(["Velmora"] * 300)
    chunks = chunk_text(text, tokenizer, max_tokens=40)
    assert all(len(tokenizer(c, add_special_tokens=False)["input_ids"]) <= 40 for c in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())


def test_empty_target_text_is_a_clear_error(tmp_path, tokenizer, capsys):
    path = tmp_path / "empty.txt"
    path.write_text("  \n\n ", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        extract_anchor_dictionary(ScriptedChatModel(tokenizer, "x"), tokenizer, " ")
    output = tmp_path / "anchors.json"
    assert anchors_cli.main(["--target_text", str(path), "--output", str(output)]) == 1
    assert "empty" in capsys.readouterr().err
    assert not output.exists()


def test_extraction_parses_filters_merges_and_cleans(tokenizer):
    reply = (
        "Here are the anchor terms:\n1. Velmora: Seaton, the harbour town\n2. Castel Brin - the lighthouse\n"
        "3. Ilsa Marrow: Anna Miller\n"  # copied from the worked example: not in the text, dropped
        "4. Velmora's: Seaton's\n5. Orsolya Dravic: Olga Smith"
    )
    model = ScriptedChatModel(tokenizer, reply)
    report = extract_anchor_dictionary(
        model, tokenizer, STORY, chunk_tokens=40, max_new_tokens=200, show_progress=False
    )
    assert report.num_chunks == len(chunk_text(STORY, tokenizer, 40)) > 1
    # "Velmora's" is not in the text; "Velmora" is. Every chunk got the same reply: the union is de-duplicated.
    assert report.dictionary == {
        "Velmora": ["Seaton", "the harbour town"],
        "Castel Brin": ["the lighthouse"],
        "Orsolya Dravic": ["Olga Smith"],
    }
    assert report.not_in_text > 0
    prompt = tokenizer.decode(model.calls[0]["input_ids"][0])
    assert "<|im_start|>assistant" in prompt and "Ilsa Marrow: Anna Miller" in prompt  # chat template + worked example


def test_a_reply_cut_off_by_the_token_limit_loses_its_unfinished_line(tokenizer):
    reply = "Velmora: Seaton, the harbour town\nCastel Brin: the lighthouse, the tower"
    cut = len(tokenizer(reply, add_special_tokens=False)["input_ids"]) - 2  # "... the tow"
    model = ScriptedChatModel(tokenizer, reply)
    report = extract_anchor_dictionary(
        model, tokenizer, STORY, chunk_tokens=400, max_new_tokens=cut, show_progress=False
    )
    assert report.dictionary == {"Velmora": ["Seaton", "the harbour town"]}
    report = extract_anchor_dictionary(
        model, tokenizer, STORY, chunk_tokens=400, max_new_tokens=200, show_progress=False
    )
    assert report.dictionary["Castel Brin"] == ["the lighthouse", "the tower"]


def test_anchors_command_end_to_end_on_the_tiny_model(tmp_path, tiny_model_dir, tokenizer, capsys):
    story = tmp_path / "story.txt"
    story.write_text(STORY, encoding="utf-8")
    extra = tmp_path / "extra.json"
    save_anchor_dictionary({"Velmora": ["Seaton"], "Velmora's": ["Seaton's"]}, extra)
    output = tmp_path / "anchors.json"
    code = anchors_cli.main(
        [
            "--target_text", str(story), "--model_name_or_path", tiny_model_dir, "--merge", str(extra),
            "--output", str(output), "--chunk_tokens", "32", "--max_new_tokens", "8",
            "--save_replies", str(tmp_path / "replies.json"),
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "chunks: " in printed and "skipped_lines: " in printed
    dictionary = load_anchor_dictionary(output)
    assert dictionary["Velmora"][0] == "Seaton" and "Velmora's" not in dictionary
    replies = json.loads((tmp_path / "replies.json").read_text(encoding="utf-8"))
    assert len(replies) == len(chunk_text(STORY, tokenizer, 32))  # the tiny model has the embedded tokenizer


def test_clean_command_edits_in_place(tmp_path):
    path = tmp_path / "anchors.json"
    path.write_text(json.dumps({"Harry": ["Jon"], "Harry's": ["Jon's"], "Ron": ["Tom"]}), encoding="utf-8")
    assert anchors_cli.main(["--clean", str(path), "--output", str(path)]) == 0
    assert load_anchor_dictionary(path) == {"Harry": ["Jon"], "Ron": ["Tom"]}


def test_merge_command_reports_bad_input_without_writing(tmp_path, capsys):
    good, bad, output = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "out.json"
    good.write_text(json.dumps({"Harry": ["Jon"]}), encoding="utf-8")
    bad.write_text(json.dumps({"Ron": []}), encoding="utf-8")
    assert anchors_cli.main(["--merge", str(good), str(bad), "--output", str(output)]) == 1
    assert f"{bad}: key 'Ron'" in capsys.readouterr().err
    assert not output.exists()
    assert validate_anchor_dictionary({"Harry": ["Jon"]}) == {"Harry": ["Jon"]}
