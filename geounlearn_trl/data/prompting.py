"""How a prompt and its answer become token ids: shared by training, option scoring and generation.

Training and evaluation must see the model in the same way, so this is the one place that decides it:

* without a chat template, the answer follows the prompt after a space: ``"…Answer:" + " " + answer``;
* with one (the default for instruct models), the prompt is the user turn rendered with
  ``add_generation_prompt=True`` and the answer is the assistant's text.

Prompt and answer are tokenised separately and their ids concatenated, so the answer's first token is always its own
token (the original scripts lost it when ``"Answer: "`` and the answer merged into one token) and the answer mask is
exact whatever the script (Latin, Devanagari).
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase


def wants_chat_template(tokenizer: PreTrainedTokenizerBase, use_chat_template: bool | None) -> bool:
    """``None`` means: use the chat template when the tokenizer has one."""
    if use_chat_template is None:
        return tokenizer.chat_template is not None
    if use_chat_template and tokenizer.chat_template is None:
        raise ValueError("use_chat_template=True, but the tokenizer has no chat template")
    return use_chat_template


def render_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str, use_chat_template: bool) -> str:
    """The exact text the model sees before the answer: the plain prompt, or the chat template up to the assistant turn."""
    if not use_chat_template:
        return prompt
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"use_chat_template=True but the tokenizer of {getattr(tokenizer, 'name_or_path', '?')!r} has no chat "
            "template; use use_chat_template=False (--use_chat_template false)."
        )
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )


def answer_text(answer: str, use_chat_template: bool) -> str:
    return answer if use_chat_template else " " + answer


def encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str, use_chat_template: bool) -> list[int]:
    # A rendered chat template already holds its special tokens as text; adding them again would double BOS.
    return tokenizer(render_prompt(tokenizer, prompt, use_chat_template), add_special_tokens=not use_chat_template)[
        "input_ids"
    ]


def encode_answer(tokenizer: PreTrainedTokenizerBase, answer: str, use_chat_template: bool) -> list[int]:
    return tokenizer(answer_text(answer, use_chat_template), add_special_tokens=False)["input_ids"]


def encode_prompt_answer(
    tokenizer: PreTrainedTokenizerBase, prompt: str, answer: str, use_chat_template: bool, max_length: int | None = None
) -> tuple[list[int], list[int]]:
    """``(input_ids, answer_mask)`` with ``answer_mask[i] == 1`` exactly on the answer's tokens.

    Over-long prompts are cut from the left so that the answer, the part the losses read, is always whole.
    """
    prompt_ids = encode_prompt(tokenizer, prompt, use_chat_template)
    answer_ids = encode_answer(tokenizer, answer, use_chat_template)
    if not answer_ids:
        raise ValueError(f"answer {answer!r} encodes to no tokens")
    if max_length is not None and len(prompt_ids) + len(answer_ids) > max_length:
        keep = max(max_length - len(answer_ids), 1)
        prompt_ids = prompt_ids[-keep:]
    return prompt_ids + answer_ids, [0] * len(prompt_ids) + [1] * len(answer_ids)
