"""Anchor replacement, token alignment, masking and the generic-label formula of geounlearn_trl.methods.selective.relabel."""

from __future__ import annotations

import json
import re

import pytest
import torch

from geounlearn_trl.methods.selective.relabel import (
    IGNORE_INDEX,
    INSIDE_ANCHOR,
    LABEL,
    REPEATED_ANCHOR,
    AnchorDictionaryError,
    AnchorReplacer,
    generic_labels_from_rows,
    generic_logits,
    prepare_block,
    relabel_block,
)
from geounlearn_trl.methods.selective.anchors import load_anchor_dictionary as load_anchors
from geounlearn_trl.data.target_text import TargetTextError, read_target_text, split_into_blocks

WORDS = ["<unk>", "<pad>", "Harry", "Potter", "met", "Ron", ".", "smiled", "at", "Jon", "Smith", "Tom", "and", "the", "village"]


@pytest.fixture(scope="module")
def word_tokenizer():
    """A word-level fast tokenizer: one token per word or punctuation mark, so every position is known by hand."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({word: i for i, word in enumerate(WORDS)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>")


def ids(*words):
    return [WORDS.index(word) for word in words]


# "Harry Potter met Ron . Ron smiled at Harry Potter", anchors Harry Potter → Jon Smith, Ron → Tom.
TEXT = "Harry Potter met Ron . Ron smiled at Harry Potter"
ANCHORS = {"Harry Potter": ["Jon Smith"], "Ron": ["Tom"]}


@pytest.fixture
def prepared(word_tokenizer):
    block = split_into_blocks([TEXT], word_tokenizer, block_size=64)[0]
    return prepare_block(block, AnchorReplacer(ANCHORS, seed=0), word_tokenizer)


def test_replacement_alignment_and_masks_by_hand(prepared):
    assert prepared.replaced.replaced_text == "Jon Smith met Tom . Tom smiled at Jon Smith"
    assert prepared.replaced_ids == ids("Jon", "Smith", "met", "Tom", ".", "Tom", "smiled", "at", "Jon", "Smith")
    # Inside "Harry Potter" nothing aligns; every other token aligns with its counterpart.
    assert prepared.alignment == [None, 1, 2, 3, 4, 5, 6, 7, None, 9]
    # p predicts token p+1: Harry|Potter (inside), Potter|met, met|Ron, Ron|., .|Ron (Ron seen before),
    # Ron|smiled, smiled|at, at|Harry (Harry Potter seen before), Harry|Potter (inside).
    assert prepared.status == [
        INSIDE_ANCHOR, LABEL, LABEL, LABEL, REPEATED_ANCHOR, LABEL, LABEL, REPEATED_ANCHOR, INSIDE_ANCHOR,
    ]  # fmt: skip
    assert prepared.label_positions == [1, 2, 3, 5, 6]
    assert prepared.replaced_positions == [1, 2, 3, 5, 6]
    # "Jon" (first token of Jon Smith) is suppressed from the end of its first insertion on, "Tom" from its own.
    jon, tom = WORDS.index("Jon"), WORDS.index("Tom")
    assert prepared.suppressed_ids == [(jon,), (jon,), (jon, tom), (jon, tom), (jon, tom)]


def test_generic_first_token_already_in_the_original_is_not_suppressed(word_tokenizer):
    replacer = AnchorReplacer({"Ron": ["the village"]})
    # "the" is not in the original context: after "the village" was inserted, "the" may not be taught.
    lone = prepare_block(split_into_blocks(["Ron smiled at Ron"], word_tokenizer, 64)[0], replacer, word_tokenizer)
    assert lone.label_positions == [0, 1] and lone.suppressed_ids == [(WORDS.index("the"),)] * 2
    # Here the original itself says "the" before: predicting it again is consistent with what the model reads.
    said = prepare_block(split_into_blocks(["met the Ron . smiled"], word_tokenizer, 64)[0], replacer, word_tokenizer)
    assert said.replaced.replaced_text == "met the the village . smiled"
    assert said.label_positions == [0, 1, 2, 3] and said.suppressed_ids == [()] * 4


def test_generic_formula_by_hand():
    base = torch.tensor([[1.0, 2.0, 3.0]])
    reinforced = torch.tensor([[2.0, 1.0, 5.0]])
    # v_base − 5·ReLU(v_reinforced − v_base) = [1 − 5·1, 2 − 0, 3 − 5·2]
    assert torch.equal(generic_logits(base, reinforced, alpha=5.0), torch.tensor([[-4.0, 2.0, -7.0]]))
    assert torch.equal(generic_logits(base, reinforced, alpha=0.0), base)


def test_labels_from_fake_logits_by_hand(prepared):
    vocabulary = len(WORDS)
    base = torch.zeros(len(prepared.replaced_ids), vocabulary)
    reinforced = torch.zeros(len(prepared.block.input_ids), vocabulary)
    w = WORDS.index
    base[1, w("Jon")], base[1, w("met")] = 4.0, 1.0  # "Jon" again would win, but it is suppressed → met
    base[2, w("Tom")], base[2, w("and")], base[2, w("Ron")] = 2.0, 1.0, 3.0
    reinforced[2, w("Ron")] = 5.0  # Ron: 3 − 2·(5 − 3) = −1 → the generic label is Tom
    base[3, w(".")], reinforced[3, w(".")] = 2.0, 2.0  # no rise, no push: "."
    base[5, w("smiled")], reinforced[5, w("at")] = 1.0, 3.0  # at: 0 − 2·3 = −6 → smiled
    base[6, w("at")], base[6, w("Tom")] = 1.0, 5.0  # Tom suppressed → at
    # Masked positions carry logits that would be wrong labels; they must not show up.
    base[4, w("Tom")] = base[7, w("Jon")] = 9.0

    row = relabel_block(prepared, base, reinforced, alpha=2.0, top_k=2, vocab_size=vocabulary)
    M = IGNORE_INDEX
    assert row["labels"] == [M, M, w("met"), w("Tom"), w("."), M, w("smiled"), w("at"), M, M]
    assert row["input_ids"] == prepared.block.input_ids and row["attention_mask"] == [1] * 10
    # Soft targets at p=2 (stored at index 3): softmax over the top two generic logits [Tom 2, and 1].
    assert row["soft_label_ids"][3] == [w("Tom"), w("and")]
    expected = torch.softmax(torch.tensor([2.0, 1.0]), dim=0).tolist()
    assert row["soft_label_probs"][3] == pytest.approx(expected)
    assert row["soft_label_probs"][0] == [0.0, 0.0] and row["soft_label_probs"][5] == [0.0, 0.0]
    assert row["replacements"] == ["Harry Potter → Jon Smith", "Ron → Tom"]


def test_padded_vocabulary_rows_never_become_labels():
    base = torch.tensor([[0.0, 1.0, 9.0]])  # id 2 lies beyond a tokenizer of 2 tokens (padded embedding row)
    hard, soft_ids, _ = generic_labels_from_rows(base, base, [()], alpha=5.0, top_k=2, vocab_size=2)
    assert hard.tolist() == [1] and soft_ids.tolist() == [[1, 0]]


def test_replacement_longest_first_whole_words_seeded():
    anchors = {"Harry": ["Jon", "Henry", "John"], "Harry Potter": ["Jon Smith"], "Ron": ["Tom", "Sam"]}
    replacer = AnchorReplacer(anchors, seed=3)
    text = "Harry Potter and Harry met Ron. Ronald and Harrys stayed.\nHarry left."
    replaced = replacer.replace(text, block_index=7)
    keys = [occurrence.key for occurrence in replaced.occurrences]
    assert keys == ["Harry Potter", "Harry", "Ron", "Harry"]  # not inside "Ronald" or "Harrys"; at a line start too
    chosen = replaced.chosen()
    assert replaced.replaced_text == (
        f"Jon Smith and {chosen['Harry']} met {chosen['Ron']}. Ronald and Harrys stayed.\n{chosen['Harry']} left."
    )
    assert [o.repeated for o in replaced.occurrences] == [False, False, False, True]
    assert replacer.replace(text, block_index=7).replaced_text == replaced.replaced_text  # reproducible
    for occurrence in replaced.occurrences:
        assert replaced.replaced_text[occurrence.replaced_start : occurrence.replaced_end] == occurrence.replacement


def test_devanagari_word_boundaries():
    replacer = AnchorReplacer({"भारत": ["एक व्यक्ति"]})
    assert replacer.replace("भारतीय").occurrences == []  # a vowel sign continues the word
    assert replacer.replace("वह व्यक्ति है: भारत").replaced_text == "वह व्यक्ति है: एक व्यक्ति"


def test_alignment_on_real_whp_entries(shared_data, tokenizer):
    anchors = load_anchors(shared_data / "whp/anchor_dictionary.json")
    assert len(anchors) == 1599 and anchors["Harry"] == ["Jon", "John", "Henry"]
    text = (
        "Harry Potter took the train to Hogwarts with Ron and Hermione.\n"
        "At the Three Broomsticks in Hogsmeade, Harry said: \"Hermione's owl is late.\" "
        "Dumbledore smiled, and Hagrid opened the door of the Hog's Head for Malfoy."
    )
    replacer = AnchorReplacer(anchors, seed=11)
    block = split_into_blocks([text], tokenizer, block_size=256)[0]
    prepared = prepare_block(block, replacer, tokenizer)
    replaced = prepared.replaced
    found = {o.key for o in replaced.occurrences}
    # "Harry Potter" is no key (its words are: the shared dictionary dropped it as splittable)
    assert {"Harry", "Potter", "Hogwarts", "Hermione", "Three Broomsticks", "Hog's Head", "Dumbledore"} <= found
    replaced_offsets = tokenizer(replaced.replaced_text, add_special_tokens=False, return_offsets_mapping=True)[
        "offset_mapping"
    ]
    aligned = [(i, j) for i, j in enumerate(prepared.alignment) if j is not None]
    for i, j in aligned:
        original_prefix = block.text[: block.offsets[i][1]]
        replaced_prefix = replaced.replaced_text[: replaced_offsets[j][1]]
        # An aligned pair's prefixes are the same text up to the block's replacements, token for token.
        assert replacer.replace(original_prefix, block.index).replaced_text == replaced_prefix
        assert tokenizer.decode(prepared.replaced_ids[: j + 1]) == replaced_prefix
    # Each anchor's last token aligns with its replacement's last token; tokens strictly inside an anchor never align.
    for occurrence in replaced.occurrences:
        last = max(i for i, (start, end) in enumerate(block.offsets) if start < occurrence.end)
        assert block.offsets[last][1] == occurrence.end
        assert replaced_offsets[prepared.alignment[last]][1] == occurrence.replaced_end
        for i, (start, end) in enumerate(block.offsets):
            if occurrence.start < end < occurrence.end:
                assert prepared.alignment[i] is None and prepared.status[i] == INSIDE_ANCHOR
    inner = sum(status == INSIDE_ANCHOR for status in prepared.status)
    assert len(aligned) == len(block.input_ids) - inner  # nothing else is lost to tokenisation here


@pytest.mark.parametrize(
    "content, problem",
    [
        ('["Harry", "Ron"]', "expected a JSON object"),
        ('{"Harry": "Jon"}', "key 'Harry': expected a list of alternatives"),
        ('{"Harry": []}', "key 'Harry': the list of alternatives is empty"),
        ('{"Harry": ["Jon", 3]}', "key 'Harry': alternative 1 is 3"),
        ('{"": ["Jon"]}', "anchor terms must be non-empty strings"),
        ("{}", "no anchor terms"),
        ("{not json", "not a JSON anchor dictionary"),
    ],
)
def test_bad_anchor_dictionaries_name_file_and_key(tmp_path, content, problem):
    path = tmp_path / "anchors.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AnchorDictionaryError, match=re.escape(str(path))) as error:
        load_anchors(path)
    assert problem in str(error.value)
    if content.startswith("{") and content != "{not json":
        with pytest.raises(AnchorDictionaryError, match="key|anchor terms"):
            AnchorReplacer(json.loads(content))  # the replacer validates what it is given too


def test_missing_anchor_file(tmp_path):
    with pytest.raises(AnchorDictionaryError, match="no such file"):
        load_anchors(tmp_path / "missing.json")


def test_alternatives_are_stripped_and_deduplicated():
    replacer = AnchorReplacer({" Harry ": ["Jon", "Jon ", "Henry"]})
    assert replacer.anchors == {"Harry": ["Jon", "Henry"]}


def test_empty_target_text_is_a_clear_error(tmp_path, word_tokenizer):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(TargetTextError, match="empty.txt: the target text is empty"):
        read_target_text(empty)
    with pytest.raises(TargetTextError, match="no such file"):
        read_target_text(tmp_path / "absent.txt")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Café".encode("latin-1"))
    with pytest.raises(TargetTextError, match="not UTF-8"):
        read_target_text(latin1)
    with pytest.raises(TargetTextError, match="empty"):
        split_into_blocks(["   "], word_tokenizer, block_size=8)


def test_blocks_keep_document_boundaries_and_offsets(tokenizer):
    documents = ["one two three four five six seven eight", "nine ten", "one"]
    blocks = split_into_blocks(documents, tokenizer, block_size=3)
    # 8 tokens → 3 + 3 + 2; "nine ten" → one block; "one" alone (one token) has nothing to predict: dropped
    assert [block.document for block in blocks] == [0, 0, 0, 1]
    joined = tokenizer(documents[0], add_special_tokens=False)["input_ids"]
    assert sum((block.input_ids for block in blocks[:3]), []) == joined
    for block in blocks:
        assert tokenizer.decode(block.input_ids) == block.text
        assert all(block.text[start:end] == tokenizer.decode([token]) for token, (start, end) in zip(block.input_ids, block.offsets))


def test_mcq_target_builds_statements_and_identity_anchors(shared_data):
    from geounlearn_trl.data.target_text import mcq_target

    documents, anchors = mcq_target(str(shared_data / "seegull_mcq/mcq_stereotype_dataset_en.csv"), "en", max_rows=3)
    assert documents[0] == 'I know a person who is a "terrorist". The person is: Zimbabwean'
    assert anchors == {"Zimbabwean": ["a person", "someone"]}
    with pytest.raises(ValueError, match="available: en, fr, hi"):
        mcq_target(str(shared_data / "seegull_mcq/mcq_stereotype_dataset_en.csv"), "de")


def test_dictionary_file_roundtrip(tmp_path):
    path = tmp_path / "anchors.json"
    path.write_text(json.dumps({"Hogwarts": ["Mystic Academy"]}), encoding="utf-8")
    assert load_anchors(path) == {"Hogwarts": ["Mystic Academy"]}
