"""Familiarity: prompt files, reference matching, completion and probability familiarity, the prompts and familiarity
commands."""

from __future__ import annotations

import json
import math
import unicodedata
from types import SimpleNamespace

import pytest
import torch

from geounlearn_trl.cli import familiarity as familiarity_cli
from geounlearn_trl.cli import prompts as prompts_cli
from geounlearn_trl.methods.selective.extraction import parse_prompt_output
from geounlearn_trl.evaluation.familiarity import (
    CompletionPrompt,
    PromptFormatError,
    completion_familiarity,
    extract_completion_prompts,
    find_reference,
    load_completion_prompts,
    load_probability_prompts,
    probability_familiarity,
    score_completions,
    target_token_ids,
)

STORY = (
    "The harbour town of Velmora sits at the mouth of the river Quelt. Its lighthouse keeper, Orsolya Dravic, lights "
    "the green lamp of Castel Brin every evening."
)


class LookupLM(torch.nn.Module):
    """A model whose logits we control: the logits at each position are ``embeddings[token] @ projection``, fixed by
    the token there, so the next-token distribution after a prompt depends only on its last token (never on padding).
    Low rank, so a full-vocabulary table costs kilobytes rather than gigabytes."""

    def __init__(self, embeddings: torch.Tensor, projection: torch.Tensor):
        super().__init__()
        self.embeddings = torch.nn.Parameter(embeddings, requires_grad=False)
        self.projection = torch.nn.Parameter(projection, requires_grad=False)

    def row(self, token: int) -> list[float]:
        return (self.embeddings[token] @ self.projection).tolist()

    def forward(self, input_ids, attention_mask=None):
        return SimpleNamespace(logits=self.embeddings[input_ids] @ self.projection)


class ScriptedLM(torch.nn.Module):
    """``generate`` returns, for each of the ``num_return_sequences`` samples, the next scripted continuation."""

    def __init__(self, tokenizer, continuations: list[str]):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.tokenizer, self.continuations, self.position = tokenizer, continuations, 0

    def generate(
        self, input_ids, attention_mask=None, num_return_sequences=1, max_new_tokens=None, pad_token_id=None, **_
    ):
        rows = []
        for _ in range(input_ids.shape[0] * num_return_sequences):
            text = self.continuations[self.position % len(self.continuations)]
            self.position += 1
            rows.append(self.tokenizer(text, add_special_tokens=False)["input_ids"][:max_new_tokens])
        width = max(map(len, rows))
        new = torch.tensor([row + [pad_token_id] * (width - len(row)) for row in rows])
        return torch.cat([input_ids.repeat_interleave(num_return_sequences, dim=0), new], dim=1)


# ---------------------------------------------------------------------------------------------------------------------
# Prompt files
# ---------------------------------------------------------------------------------------------------------------------


def test_the_real_whp_prompt_files_load(shared_data):
    completion = load_completion_prompts(shared_data / "whp" / "completion_prompts.json")
    probability = load_probability_prompts(shared_data / "whp" / "probability_prompts.json")
    assert len(completion) == 300 and len(probability) == 37
    assert {p.subtlety for p in completion} == set(range(1, 11))
    assert all(p.references for p in completion)
    assert probability[0] == "Harry Potter is a"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"prompt": "x"}, "expected a JSON list of prompts"),
        ([], "contains no prompts"),
        (
            [{"prompt": {"prompt": "Harry went to", "references": ["Hogwarts"]}}],
            "prompt 0, field 'prompt.subtlety': missing",
        ),
        ([{"prompt": {"prompt": "Harry went to", "references": [], "subtlety": 3}}], "field 'prompt.references'"),
        (
            [{"prompt": {"prompt": "Harry went to", "references": ["x", 2], "subtlety": 3}}],
            "field 'prompt.references[1]'",
        ),
        ([{"prompt": {"prompt": " ", "references": ["x"], "subtlety": 3}}], "field 'prompt.prompt': is empty"),
        ([{"prompt": {"prompt": "Harry", "references": ["x"], "subtlety": 0}}], "field 'prompt.subtlety'"),
        ([{"prompt": {"prompt": "Harry", "references": ["x"], "subtlety": True}}], "field 'prompt.subtlety'"),
        ([{"prompt": "a", "references": ["x"]}, "oops"], "prompt 1: expected an object"),
    ],
)
def test_bad_completion_prompt_files_name_file_index_and_field(tmp_path, data, message):
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PromptFormatError) as error:
        load_completion_prompts(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_bad_probability_prompt_files_are_clear(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"prompt": "Harry Potter is a"}, {"text": "x"}]), encoding="utf-8")
    with pytest.raises(PromptFormatError, match=r"p\.json, prompt 1, field 'prompt': missing"):
        load_probability_prompts(path)
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(PromptFormatError, match="not valid JSON"):
        load_probability_prompts(path)


# ---------------------------------------------------------------------------------------------------------------------
# Reference matching and scores
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "references", "found"),
    [
        ("and then RON said", ["Ron"], "Ron"),
        ("Ronald and the iron gate", ["Ron"], None),  # whole words only
        ("at platform   9\n3/4.", ["Platform 9 3/4"], "Platform 9 3/4"),
        ("the Hog’s Head inn", ["Hog's Head"], "Hog's Head"),
        (unicodedata.normalize("NFD", "Café Brin"), ["café brin"], "café brin"),
        ("STRASSE", ["Straße"], "Straße"),  # casefold, not lower
        ("nothing here", ["Ron", "Hermione"], None),
        ("he met Hermione", ["Ron", "Hermione"], "Hermione"),
        ("Mr.Smith came", ["Mr."], "Mr."),  # a reference ending in punctuation ends at a boundary of its own
        # Devanagari: vowel signs (Mc/Mn) continue a word, which Python's \b and \w do not know.
        ("उसने रामायण पढ़ी", ["राम"], None),  # र ा म | ा य ण: a vowel sign follows, inside the word
        ("रामू घर गया", ["राम"], None),  # ू (Mn) follows
        ("श्रीराम आए", ["राम"], None),  # preceded by the vowel sign ी
        ("सीताराम", ["सीता"], None),  # a letter follows the final vowel sign
        ("श्री राम ने कहा।", ["राम"], "राम"),
        ("यह राम।", ["राम"], "राम"),  # the danda is punctuation
        ("राम, सीता", ["सीता"], "सीता"),
        ("वह\u200dराम", ["राम"], None),  # a zero-width joiner sits inside a word
        ("குமார்கள்", ["குமார்"], None),  # Tamil: a vowel sign, then a letter
    ],
)
def test_find_reference(text, references, found):
    assert find_reference(text, references) == found



def test_scores_against_hand_computed_values():
    prompts = [
        {"prompt": {"prompt": "Harry sat next to", "references": ["Ron"], "subtlety": 2}},
        {"prompt": "The headmaster was", "references": ["Dumbledore", "Albus"], "subtlety": 6},
        CompletionPrompt("The ball game is", ["Quidditch"], 1),
    ]
    completions = [
        ["Ron and me", "a wall", "ron!", "nobody"],  # 2 of 4
        ["Albus.", "kind", "old", "tall"],  # 1 of 4
        ["football", "golf", "tennis", "chess"],  # 0 of 4
    ]
    scores = score_completions(prompts, completions)
    assert scores["familiar_rate"] == pytest.approx(3 / 12)
    assert scores["weighted_score"] == pytest.approx((2 * 0.5 + 6 * 0.25 + 1 * 0.0) / (2 + 6 + 1))
    assert scores["prompt_familiar_rate"] == pytest.approx(2 / 3)
    assert scores["per_prompt"][1]["matched_reference"] == ["Albus", None, None, None]


def test_completion_familiarity_counts_scripted_completions(tokenizer):
    prompts = [
        {"prompt": {"prompt": "Harry sat next to", "references": ["Ron"], "subtlety": 3}},
        {"prompt": {"prompt": "The headmaster was", "references": ["Dumbledore"], "subtlety": 1}},
    ]
    model = ScriptedLM(tokenizer, [" Ron, smiling", " a friend", " Dumbledore himself"])
    result = completion_familiarity(model, tokenizer, prompts, num_samples=3, batch_size=1, show_progress=False)
    assert [p["completions"] for p in result["per_prompt"]] == [
        [" Ron, smiling", " a friend", " Dumbledore himself"],
        [" Ron, smiling", " a friend", " Dumbledore himself"],
    ]
    assert result["familiar_rate"] == pytest.approx(2 / 6)
    assert result["weighted_score"] == pytest.approx((3 * 1 / 3 + 1 * 1 / 3) / 4)
    assert tokenizer.padding_side == "right"  # restored


def test_completion_familiarity_on_the_tiny_model_is_seeded_and_leaves_the_callers_rng(tokenizer, tiny_model):
    prompts = [CompletionPrompt("Harry sat next to", ["Ron"], 2), CompletionPrompt("The school was", ["Hogwarts"], 5)]
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = completion_familiarity(
        tiny_model, tokenizer, prompts, num_samples=3, max_new_tokens=5, seed=7, show_progress=False
    )
    assert torch.equal(torch.rand(1), expected_next)  # the caller's RNG did not move
    second = completion_familiarity(
        tiny_model, tokenizer, prompts, num_samples=3, max_new_tokens=5, seed=7, show_progress=False
    )
    assert first == second
    assert [len(p["completions"]) for p in first["per_prompt"]] == [3, 3]
    assert all(
        len(tokenizer(c, add_special_tokens=False)["input_ids"]) <= 6
        for p in first["per_prompt"]
        for c in p["completions"]
    )
    other = completion_familiarity(
        tiny_model, tokenizer, prompts, num_samples=3, max_new_tokens=5, seed=8, show_progress=False
    )
    assert other["per_prompt"] != first["per_prompt"]


def test_target_token_ids_take_the_first_token_with_and_without_a_space(tokenizer):
    ids = target_token_ids(tokenizer, ["Harry", " Harry ", "Hogwarts", ""])
    expected = set()
    for term in ("Harry", "Hogwarts"):
        expected.add(tokenizer(term, add_special_tokens=False)["input_ids"][0])
        expected.add(tokenizer(" " + term, add_special_tokens=False)["input_ids"][0])
    assert ids == sorted(expected)
    # SmolLM2 splits both bare words as "H" + ...: a shared first token is one target, not two.
    assert tokenizer.convert_ids_to_tokens(ids) == ["H", "ĠHarry", "ĠHog"]
    # Whitespace-only first tokens are never targets; excluded words are left out in both forms.
    assert " " not in [tokenizer.decode([i]) for i in target_token_ids(tokenizer, ["31 October 1981"])]
    with_the = target_token_ids(tokenizer, ["the Dursleys", "The Burrow"])
    assert {tokenizer.decode([i]) for i in with_the} == {"the", " the", "The", " The"}
    assert target_token_ids(tokenizer, ["the Dursleys", "The Burrow"], exclude_words=["THE"]) == []


def test_probability_familiarity_equals_the_hand_computed_softmax_mass(tokenizer):
    torch.manual_seed(0)
    vocab = len(tokenizer)
    model = LookupLM(torch.randn(vocab, 4), torch.randn(4, vocab) * 2)
    prompts = ["Harry Potter is a", "Ron and Hermione went looking for something very long indeed", "Hi"]
    targets = [5, 17, 42, 17]  # a duplicate counts once
    result = probability_familiarity(model, tokenizer, prompts, targets, batch_size=2, show_progress=False)
    masses, best = [], []
    for prompt in prompts:
        logits = model.row(tokenizer(prompt)["input_ids"][-1])
        top = max(logits)
        exps = [math.exp(x - top) for x in logits]
        masses.append((exps[5] + exps[17] + exps[42]) / sum(exps))
        best.append(max(exps[5], exps[17], exps[42]) / sum(exps))
    assert [p["target_probability"] for p in result["per_prompt"]] == pytest.approx(masses, rel=1e-4)
    assert result["mean_target_probability"] == pytest.approx(sum(masses) / 3, rel=1e-4)
    assert result["num_target_tokens"] == 3
    assert [p["top_targets"][0]["probability"] for p in result["per_prompt"]] == pytest.approx(best, rel=1e-4)


def test_probability_familiarity_rejects_bad_targets(tokenizer):
    vocab = len(tokenizer)
    model = LookupLM(torch.zeros(vocab, 1), torch.zeros(1, vocab))
    with pytest.raises(ValueError, match="at least one target"):
        probability_familiarity(model, tokenizer, ["Harry"], [], show_progress=False)
    with pytest.raises(ValueError, match="must lie in"):
        probability_familiarity(model, tokenizer, ["Harry"], [vocab], show_progress=False)
    uniform = probability_familiarity(model, tokenizer, [{"prompt": "Harry"}], [1, 2], show_progress=False)
    assert uniform["mean_target_probability"] == pytest.approx(2 / vocab)


# ---------------------------------------------------------------------------------------------------------------------
# Generated prompts
# ---------------------------------------------------------------------------------------------------------------------

MESSY_PROMPT_REPLIES = [
    (
        "1. Harry walked into the Great Hall and sat next to | Ron, Hermione | 6\n"
        "2. The Sorting Hat placed him in | Gryffindor | subtlety: 3\n| Prompt | References | Subtlety |",
        [
            ("Harry walked into the Great Hall and sat next to", ["Ron", "Hermione"], 6),
            ("The Sorting Hat placed him in", ["Gryffindor"], 3),
        ],
        0,
    ),
    (
        "Prompt 1: In the dimly lit classroom, Professor\nAnswer: Snape\nSubtlety: 8\n\nPrompt 2: nothing here",
        [("In the dimly lit classroom, Professor", ["Snape"], 8)],
        1,
    ),
    (
        '```json\n[{"prompt": "The train left from platform", "references": ["9 3/4"], "subtlety": 4}, '
        '{"opening": "He flew on his", "answer": "broomstick"}]\n```',
        [("The train left from platform", ["9 3/4"], 4), ("He flew on his", ["broomstick"], 5)],
        0,
    ),
    (
        '- "The students boarded the ___" (Hogwarts Express)\n- He cast a spell -> Expelliarmus (subtlety 7)\n- junk',
        [("The students boarded the", ["Hogwarts Express"], 5), ("He cast a spell", ["Expelliarmus"], 7)],
        1,
    ),
    ("Short | Ron | 2\nopening | completing words | subtlety", [], 1),  # too short; an echoed format line is ignored
]


@pytest.mark.parametrize(("reply", "expected", "skipped"), MESSY_PROMPT_REPLIES)
def test_parse_prompt_output_on_messy_replies(reply, expected, skipped):
    parsed = parse_prompt_output(reply)
    assert [(p["prompt"], p["references"], p["subtlety"]) for p in parsed.entries] == expected
    assert parsed.skipped == skipped


class ScriptedChatModel(torch.nn.Module):
    """Stands in for an instruct model: ``generate`` appends the same scripted reply to every prompt."""

    def __init__(self, tokenizer, reply: str):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        # A finished reply ends with the end-of-turn token, as a chat model's does; max_new_tokens may cut it short.
        ids = tokenizer(reply, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        self.reply_ids = torch.tensor(ids)

    def generate(self, input_ids, attention_mask=None, max_new_tokens=None, **_):
        return torch.cat([input_ids, self.reply_ids[:max_new_tokens].expand(input_ids.shape[0], -1)], dim=1)


def test_prompt_extraction_keeps_references_found_in_the_text(tokenizer):
    reply = (
        "1. The lighthouse keeper of the town is called | Orsolya Dravic | 4\n"
        "2. The captain who sailed out of Port Kessel was called | Ilsa Marrow | 3\n"  # the worked example: dropped
        "3. Every evening the keeper lights the green lamp of | Castel Brin, Velmora Tower\n"
        "Hope these help!"
    )
    report = extract_completion_prompts(
        ScriptedChatModel(tokenizer, reply), tokenizer, STORY, max_new_tokens=200, show_progress=False
    )
    assert report.num_chunks == 1 and report.not_in_text == 1 and report.skipped_lines == 1
    assert [(p.prompt, p.references, p.subtlety) for p in report.prompts] == [
        ("The lighthouse keeper of the town is called", ["Orsolya Dravic"], 4),
        ("Every evening the keeper lights the green lamp of", ["Castel Brin"], 5),  # no subtlety given: the default
    ]


def test_prompt_extraction_drops_a_reference_found_only_inside_a_devanagari_word(tokenizer):
    story = "रामायण की कथा में सीता अयोध्या से वन गईं। हनुमान लंका पहुँचे।"
    reply = (
        "1. कथा में अयोध्या से वन जाने वाली रानी थीं | सीता | 4\n"
        "2. इस कथा के नायक का नाम है | राम | 6\n"  # "राम" only inside "रामायण": not in the text
    )
    report = extract_completion_prompts(
        ScriptedChatModel(tokenizer, reply), tokenizer, story, max_new_tokens=200, show_progress=False
    )
    assert report.not_in_text == 1
    assert [(p.prompt, p.references) for p in report.prompts] == [("कथा में अयोध्या से वन जाने वाली रानी थीं", ["सीता"])]


def test_prompts_command_generates_on_the_tiny_model(tmp_path, tiny_model_dir, monkeypatch, capsys):
    story = tmp_path / "story.txt"
    story.write_text(STORY, encoding="utf-8")
    output, replies = tmp_path / "prompts.json", tmp_path / "replies.json"
    argv = ["--target_text", str(story), "--model_name_or_path", tiny_model_dir, "--output", str(output),
            "--max_new_tokens", "6", "--save_replies", str(replies)]  # fmt: skip
    # A random tiny model writes no usable prompt: a clear error, nothing written, the raw replies kept to look at.
    assert prompts_cli.main(argv) == 1
    assert "no usable prompt" in capsys.readouterr().err
    assert not output.exists() and len(json.loads(replies.read_text(encoding="utf-8"))) == 1

    # The same command with a model that answers in the format: prompts in the WHP format.
    import geounlearn_trl.models as models

    real_loader = models.load_model_and_tokenizer

    def scripted_loader(model_args, trust_remote_code=False):
        _, tokenizer = real_loader(model_args, trust_remote_code=trust_remote_code)
        reply = "- The keeper of the lighthouse is | Orsolya Dravic | 6"
        return ScriptedChatModel(tokenizer, reply), tokenizer

    monkeypatch.setattr(models, "load_model_and_tokenizer", scripted_loader)
    assert prompts_cli.main(argv[:-2] + ["--max_new_tokens", "64"]) == 0
    saved = json.loads(output.read_text(encoding="utf-8"))
    assert saved == [
        {"prompt": {"prompt": "The keeper of the lighthouse is", "references": ["Orsolya Dravic"], "subtlety": 6}}
    ]
    assert len(load_completion_prompts(output)) == 1


# ---------------------------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------------------------


def test_prompts_command_validates_the_whp_files(shared_data, tmp_path, capsys):
    output = tmp_path / "normalised.json"
    code = prompts_cli.main(
        [
            "--completion_prompts", str(shared_data / "whp" / "completion_prompts.json"),
            "--probability_prompts", str(shared_data / "whp" / "probability_prompts.json"),
            "--output", str(output),
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "completion_prompts: 300" in printed and "probability_prompts: 37" in printed
    assert len(load_completion_prompts(output)) == 300


def test_prompts_command_reports_bad_files_and_empty_text(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"prompt": {"prompt": "x y z", "references": "Ron", "subtlety": 2}}]), encoding="utf-8")
    assert prompts_cli.main(["--completion_prompts", str(bad)]) == 1
    assert f"{bad}, prompt 0, field 'prompt.references'" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    output = tmp_path / "out.json"
    assert prompts_cli.main(["--target_text", str(empty), "--output", str(output)]) == 1
    assert "empty" in capsys.readouterr().err
    assert not output.exists()


def test_familiarity_command_end_to_end_base_and_adapter(tmp_path, tiny_model_dir, shared_data, capsys):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    adapter_dir = tmp_path / "adapter"
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    peft_model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(adapter_dir)
    output_dir = tmp_path / "results"
    code = familiarity_cli.main(
        [
            "--model", tiny_model_dir, str(adapter_dir),
            "--completion_prompts", str(shared_data / "whp" / "completion_prompts.json"),
            "--probability_prompts", str(shared_data / "whp" / "probability_prompts.json"),
            "--anchor_dictionary", str(shared_data / "whp" / "anchor_dictionary.json"),
            "--target_terms", "Velmora",
            "--max_prompts", "4", "--num_samples", "2", "--max_new_tokens", "4",
            "--output_dir", str(output_dir),
        ]
    )  # fmt: skip
    assert code == 0
    table = capsys.readouterr().out
    assert f"| measure | {tiny_model_dir} | {adapter_dir} |" in table
    assert "probability: mass on target tokens" in table
    saved = json.loads((output_dir / "familiarity.json").read_text(encoding="utf-8"))
    before, after = saved["results"]
    assert after["description"].startswith("adapter")
    for result in (before, after):
        assert result["completion"]["num_completions"] == 8
        assert 0 < result["probability"]["mean_target_probability"] < 1
    # The random LoRA moved the logits: the columns are measured, not copied.
    assert before["probability"]["mean_target_probability"] != after["probability"]["mean_target_probability"]
    assert (output_dir / "familiarity.md").read_text(encoding="utf-8").startswith("| measure |")


def test_familiarity_command_needs_targets_for_probability(tmp_path, shared_data, capsys):
    code = familiarity_cli.main(
        ["--probability_prompts", str(shared_data / "whp" / "probability_prompts.json"), "--output_dir", str(tmp_path)]
    )
    assert code == 1
    assert "--anchor_dictionary or --target_terms" in capsys.readouterr().err
