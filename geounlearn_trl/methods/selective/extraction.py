"""Asking a local instruct model for lists about a text, and reading back what it writes.

Used by ``geounlearn-trl anchors`` (anchor terms and their generic alternatives) and ``geounlearn-trl prompts``
(familiarity prompts). Small models rarely follow a format exactly, so the parsers here accept what they actually
write: JSON objects or lists (bare or inside a code fence), ``term: alt1, alt2`` lines, bullets, numbered lists,
``**bold**`` terms, ``Term: ...`` / ``Alternatives: ...`` line pairs and a term followed by indented bullets.
Anything that yields nothing is skipped and counted, never guessed at.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from ...files import write_text_atomic


@dataclass
class ExtractionArguments:
    """How the target text is cut and the model asked: the flags ``anchors`` and ``prompts`` share.

    Subclasses define ``target_text``, the file the model reads.
    """

    chunk_tokens: int = field(default=384, metadata={"help": "Tokens of target text per request to the model."})
    max_chunks: int | None = field(default=None, metadata={"help": "Only the first N chunks (quick looks)."})
    max_new_tokens: int = field(default=256, metadata={"help": "Longest reply per chunk, in tokens."})
    batch_size: int = field(default=4, metadata={"help": "Chunks per generate call."})
    do_sample: bool = field(default=False, metadata={"help": "Sample replies instead of greedy decoding."})
    temperature: float = field(default=0.7, metadata={"help": "Sampling temperature (with --do_sample)."})
    repetition_penalty: float = field(
        default=1.1, metadata={"help": "Discourages the repetition loops of small models."}
    )
    seed: int = field(default=0, metadata={"help": "Seed for sampled replies."})
    save_replies: str | None = field(
        default=None, metadata={"help": "Also write the model's raw replies to this JSON file, to check the parsing."}
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow the model's own code (off unless asked)."})

    def extract_from_target_text(self, extract, model_args, **kwargs):
        """Run ``extract`` (an ``extract_*`` function) on ``--target_text`` with the model of ``model_args``.

        The flags above go to ``extract`` with ``kwargs``; the raw replies are written to ``--save_replies`` when asked.
        """
        from ...models import load_model_and_tokenizer
        from ...data.target_text import read_target_text

        text = read_target_text(self.target_text)
        model, tokenizer = load_model_and_tokenizer(model_args, trust_remote_code=self.trust_remote_code)
        report = extract(
            model, tokenizer, text, chunk_tokens=self.chunk_tokens, max_chunks=self.max_chunks,
            max_new_tokens=self.max_new_tokens, batch_size=self.batch_size, do_sample=self.do_sample,
            temperature=self.temperature, repetition_penalty=self.repetition_penalty, seed=self.seed, **kwargs,
        )  # fmt: skip
        if self.save_replies:
            write_text_atomic(self.save_replies, json.dumps(report.replies, ensure_ascii=False, indent=2))
        return report


# ---------------------------------------------------------------------------------------------------------------------
# Text chunks and chat generation
# ---------------------------------------------------------------------------------------------------------------------


def chunk_text(text: str, tokenizer, max_tokens: int) -> list[str]:
    """Cut ``text`` into chunks of at most ``max_tokens`` tokens, at paragraph, sentence, word, then token boundaries.

    Paragraphs (blank-line separated) are packed greedily; a paragraph longer than ``max_tokens`` is split into
    sentences, a sentence longer than that at spaces, and a single word longer than that into token windows. Lengths
    are measured on the joined text itself, so every chunk fits the budget exactly.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")

    def length(piece: str) -> int:
        return len(tokenizer(piece, add_special_tokens=False)["input_ids"])

    def pack(parts: list[str], separator: str) -> list[str]:
        # Grow each chunk by the parts' own lengths (each measured once), then confirm on the joined text and back
        # off while it is too long: exact, and linear rather than quadratic in the number of parts.
        lengths = [len(ids) for ids in tokenizer(parts, add_special_tokens=False)["input_ids"]] if parts else []
        separator_cost = length(separator) if separator.strip() or "\n" in separator else 0
        packed, start = [], 0
        while start < len(parts):
            end, estimate = start + 1, lengths[start]
            while end < len(parts) and estimate + separator_cost + lengths[end] <= max_tokens:
                estimate += separator_cost + lengths[end]
                end += 1
            while end > start + 1 and length(separator.join(parts[start:end])) > max_tokens:
                end -= 1
            packed.append(separator.join(parts[start:end]))
            start = end
        return packed

    def split(piece: str, level: int) -> list[str]:
        if length(piece) <= max_tokens:
            return [piece]
        if level == 0:
            parts, separator = [p.strip() for p in re.split(r"\n\s*\n", piece)], "\n\n"
        elif level == 1:
            parts, separator = re.split(r"(?<=[.!?…。।])\s+", piece), " "
        elif level == 2:
            parts, separator = piece.split(), " "
        else:  # one "word" longer than the budget (a URL, a run without spaces): token windows
            ids = tokenizer(piece, add_special_tokens=False)["input_ids"]
            return [tokenizer.decode(ids[i : i + max_tokens]) for i in range(0, len(ids), max_tokens)]
        parts = [part for part in parts if part.strip()]
        if len(parts) <= 1 and level < 3:
            return split(piece, level + 1)
        return pack([small for part in parts for small in split(part, level + 1)], separator)

    return [chunk for chunk in split(text.strip(), 0) if chunk.strip()]


def chat_generate(
    model,
    tokenizer,
    user_messages: Sequence[str],
    system_message: str | None = None,
    examples: Sequence[tuple[str, str]] = (),
    max_new_tokens: int = 256,
    batch_size: int = 4,
    do_sample: bool = False,
    temperature: float = 0.7,
    repetition_penalty: float = 1.1,
    seed: int = 0,
    desc: str = "generating",
    show_progress: bool = True,
) -> list[str]:
    """The model's reply to each user message, through the tokenizer's chat template; batched with left padding.

    ``examples`` are (user, assistant) turns placed before each message: worked examples as earlier turns of the
    conversation steer small chat models to a format much better than a description of it.

    Greedy by default (reproducible); with ``do_sample`` the RNG is seeded with ``seed`` in a forked RNG state. A
    reply that hit ``max_new_tokens`` before its end-of-turn token loses its last, unfinished line. Without a
    ``system_message`` the chat template's own default (if any) is used.
    """
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(
            "the tokenizer has no chat template: extraction needs an instruct (chat) model, such as the default "
            "smollm2-135m-instruct"
        )
    rendered = []
    for message in user_messages:
        messages = [{"role": "system", "content": system_message}] if system_message else []
        for user, assistant in examples:
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        messages.append({"role": "user", "content": message})
        rendered.append(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    parameter = next(iter(model.parameters()))
    device = parameter.device
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    stop_ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None) or tokenizer.eos_token_id
    stop_ids = [stop_ids] if isinstance(stop_ids, int) else list(stop_ids or [])
    sampling = {"do_sample": True, "temperature": temperature, "top_k": 0} if do_sample else {"do_sample": False}
    replies: list[str] = []
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []), torch.no_grad():
            torch.manual_seed(seed)
            for start in tqdm(range(0, len(rendered), batch_size), desc=desc, disable=not show_progress):
                batch = rendered[start : start + batch_size]
                # The chat template already holds the special tokens; adding them again would double the BOS.
                encoded = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
                output = model.generate(
                    **encoded,
                    max_new_tokens=max_new_tokens,
                    repetition_penalty=repetition_penalty,
                    pad_token_id=pad_token_id,
                    **sampling,
                )
                new_tokens = output[:, encoded["input_ids"].shape[1] :]
                finished = torch.isin(new_tokens, torch.tensor(stop_ids, device=new_tokens.device)).any(dim=1)
                for text, done in zip(
                    tokenizer.batch_decode(new_tokens, skip_special_tokens=True), finished.tolist(), strict=True
                ):
                    # A reply cut off by max_new_tokens ends in a half-written line ("Elena, Elenor, El"): drop it.
                    replies.append(text if done or "\n" not in text else text[: text.rindex("\n")])
    finally:
        tokenizer.padding_side = padding_side
        model.train(was_training)
    return replies


def ask_about_chunks(
    model,
    tokenizer,
    text: str,
    question: Callable[[str], str],
    example: tuple[str, str],
    chunk_tokens: int,
    max_chunks: int | None,
    desc: str,
    **generation_kwargs,
) -> tuple[list[str], list[str]]:
    """``(chunks, replies)``: ``text`` cut by :func:`chunk_text` (the first ``max_chunks``), ``question(chunk=...)`` asked
    of each, after one worked ``example`` exchange ``(question, answer)``. ``generation_kwargs`` go to
    :func:`chat_generate`."""
    chunks = chunk_text(text, tokenizer, chunk_tokens)
    if max_chunks is not None:
        chunks = chunks[:max_chunks]
    replies = chat_generate(
        model, tokenizer, [question(chunk=chunk) for chunk in chunks], examples=[example], desc=desc, **generation_kwargs
    )
    return chunks, replies


# ---------------------------------------------------------------------------------------------------------------------
# Shared parsing helpers
# ---------------------------------------------------------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*[A-Za-z0-9_-]*[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_LIST_MARKER = re.compile(r"^\s*(?:[-*•+·▪►–—]+|\(?\d{1,3}[.)\]:]|\(?[a-zA-Z][.)](?=\s))\s*")
# Only JSON that opens a line is read as JSON: a list inside "Harry: ["Jon", "John"]" belongs to its line.
_JSON_START = re.compile(r"^[ \t]*[\[{]", re.MULTILINE)
_WRAPPERS = "\"'`*_“”‘’«»[]"


def _clean_item(text: str) -> str:
    """Strip list markers, markdown emphasis, wrapping quotes and trailing punctuation from one term."""
    text = unicodedata.normalize("NFC", text)
    text = _LIST_MARKER.sub("", text, count=1)
    text = text.replace("**", "").replace("__", "")
    text = " ".join(text.split())
    # A trailing gloss, "Hogwarts (the school)", is commentary, not part of the term.
    text = re.sub(r"(?<=\S)\s*\([^()]*\)\s*[.;,]?$", "", text)
    previous = None
    while previous != text:
        previous = text
        text = text.strip().rstrip(".;,")
        if len(text) >= 2 and text[0] in _WRAPPERS and text[-1] in _WRAPPERS:
            text = text[1:-1]
        elif text[:1] in '"`*“«[':  # an unmatched opening quote / emphasis
            text = text[1:]
        elif text[-1:] in '"`*”»]':
            text = text[:-1]
    return text.strip()


def _json_candidates(text: str) -> tuple[list, str]:
    """JSON values found in ``text`` (code fences first, then bare ``{...}``/``[...]`` spans) and the text left over."""
    values, leftover = [], text
    for match in list(_FENCE.finditer(text)):
        try:
            values.append(json.loads(match.group(1)))
            leftover = leftover.replace(match.group(0), "\n")
        except json.JSONDecodeError:
            leftover = leftover.replace(match.group(0), "\n" + match.group(1) + "\n")  # parse the inside as lines
    decoder = json.JSONDecoder()
    position, remaining = 0, leftover
    kept = []
    while position < len(remaining):
        match = _JSON_START.search(remaining, position)
        if match is None:
            kept.append(remaining[position:])
            break
        start = match.end() - 1
        try:
            value, end = decoder.raw_decode(remaining, start)
        except json.JSONDecodeError:
            kept.append(remaining[position : start + 1])
            position = start + 1
            continue
        if isinstance(value, (dict, list)) and value:
            values.append(value)
            kept.append(remaining[position:start] + "\n")
        else:
            kept.append(remaining[position:end])
        position = end
    return values, "".join(kept)


def _split_alternatives(text: str) -> list[str]:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return [part for part in (_clean_item(v) for v in value) if part]
        except json.JSONDecodeError:
            pass
    text = re.sub(r"^\s*(?:e\.g\.|i\.e\.|such as|for example|like)[:,]?\s+", "", text, flags=re.IGNORECASE)
    parts = re.split(r"\s*[,;|]\s*|\s+or\s+|\s+/\s+", text)
    return [part for part in (_clean_item(p) for p in parts) if part]


# ---------------------------------------------------------------------------------------------------------------------
# Anchor terms
# ---------------------------------------------------------------------------------------------------------------------

_TERM_LABELS = {"term", "anchor", "anchor term", "name", "original", "word", "entity"}
_ALTERNATIVE_LABELS = {
    "alternatives", "alternative", "generic alternatives", "generic alternative", "generic", "generic terms",
    "replacements", "replacement", "substitutes", "generic replacements", "translations", "translation",
}  # fmt: skip
# Separators between a term and its alternatives, earliest wins; " - " needs spaces so "Jean-Luc" stays whole.
_SEPARATOR = re.compile(r"\s*(?::|->|→|=>|⇒|=|\s[-–—]\s)\s*")
_PAREN_FORM = re.compile(r"^(?P<term>[^()]+?)\s*\((?P<alternatives>[^()]+)\)\s*$")
MAX_TERM_WORDS = 6
MAX_ALTERNATIVE_WORDS = 8


@dataclass
class ParseResult:
    """What a parser read: the entries, and how many non-blank lines or JSON values yielded nothing."""

    entries: dict | list
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)

    def skip(self, what: str) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < 5:
            self.skipped_examples.append(what[:120])


# What small models write when they copy the format instead of filling it: "alternative 1", "term", "N/A", ...
_PLACEHOLDER = re.compile(
    r"^(?:(?:generic\s+)?(?:alternative|alternate|term|anchor(?:\s+term)?|example|word|name|opening|reference)s?"
    r"(?:\s*\d+)?|place|person|character|location|object|noun|adjective|verb|occupation|n/?a|none|nothing|no\s+alternatives?.*|not\s+applicable|unknown|\.\.\.|etc\.?)$",
    re.IGNORECASE,
)


def is_placeholder(text: str) -> bool:
    return _PLACEHOLDER.match(text.strip()) is not None


def _valid_term(term: str) -> bool:
    return (
        bool(term)
        and len(term.split()) <= MAX_TERM_WORDS
        and any(ch.isalpha() for ch in term)
        and not is_placeholder(term)
    )


def _add_anchor(result: dict[str, list[str]], term: str, alternatives: Sequence[str]) -> bool:
    term = _clean_item(term)
    if not _valid_term(term):
        return False
    kept = []
    for alternative in alternatives:
        alternative = _clean_item(alternative)
        if (
            alternative
            and not is_placeholder(alternative)
            and alternative.casefold() != term.casefold()
            and len(alternative.split()) <= MAX_ALTERNATIVE_WORDS
            and alternative not in kept
        ):
            kept.append(alternative)
    if not kept:
        return False
    existing = result.setdefault(term, [])
    existing += [alternative for alternative in kept if alternative not in existing]
    return True


def _anchors_from_json(value, result: dict[str, list[str]], parsed: ParseResult) -> None:
    def as_list(alternatives) -> list[str] | None:
        if isinstance(alternatives, str):
            return _split_alternatives(alternatives)
        if isinstance(alternatives, list) and all(isinstance(a, str) for a in alternatives):
            return alternatives
        return None

    if isinstance(value, dict):
        # {"anchors": {...}} or {"terms": [...]}: one wrapping key around the real payload.
        if len(value) == 1 and isinstance(next(iter(value.values())), (dict, list)):
            inner = next(iter(value.values()))
            if isinstance(inner, dict) or (inner and all(isinstance(i, dict) for i in inner)):
                _anchors_from_json(inner, result, parsed)
                return
        lowered = {str(k).casefold(): v for k, v in value.items()}
        term_key = next((k for k in lowered if k in _TERM_LABELS), None)
        alternatives_key = next((k for k in lowered if k in _ALTERNATIVE_LABELS), None)
        if term_key and alternatives_key and isinstance(lowered[term_key], str):
            alternatives = as_list(lowered[alternatives_key])
            if alternatives is None or not _add_anchor(result, lowered[term_key], alternatives):
                parsed.skip(json.dumps(value, ensure_ascii=False))
            return
        for term, alternatives in value.items():
            alternatives = as_list(alternatives)
            if alternatives is None or not _add_anchor(result, str(term), alternatives):
                parsed.skip(f"{term}: {alternatives!r}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                _anchors_from_json(item, result, parsed)
            elif isinstance(item, list) and len(item) >= 2 and all(isinstance(i, str) for i in item):
                if not _add_anchor(result, item[0], item[1:]):
                    parsed.skip(json.dumps(item, ensure_ascii=False))
            else:
                parsed.skip(json.dumps(item, ensure_ascii=False))
    else:
        parsed.skip(repr(value))


def _label(text: str) -> str:
    return _clean_item(text).casefold()


_HEADER_WORDS = {"here", "term", "terms", "anchor", "anchors", "alternative", "alternatives", "list", "following",
                 "names", "replacements", "generic", "output", "answer", "text"}  # fmt: skip


def _is_header(text: str) -> bool:
    """``Here are the anchor terms:`` / ``Anchor terms:`` introduce a list; they are not terms themselves."""
    words = set(re.findall(r"\w+", text.casefold()))
    return bool(words & _HEADER_WORDS) or len(text.split()) > MAX_TERM_WORDS


def parse_anchor_output(text: str) -> ParseResult:
    """Read anchor terms and their generic alternatives from a model's reply.

    Returns a :class:`ParseResult` whose ``entries`` is ``{term: [alternatives...]}`` (alternatives de-duplicated,
    never the term itself) and whose ``skipped`` counts the lines or JSON values that yielded no entry.
    """
    result: dict[str, list[str]] = {}
    parsed = ParseResult(entries=result)
    values, leftover = _json_candidates(text)
    for value in values:
        _anchors_from_json(value, result, parsed)
    # A term written alone ("Harry:" or "1. Harry"), whose alternatives follow on the next lines. After "Harry:" any
    # bullet continues it; after a bulleted "1. Harry" only indented bullets do, so a flat list of bare terms is not
    # mistaken for one term with the others as its alternatives.
    pending: str | None = None
    pending_line, pending_found, pending_takes_flat = "", False, False

    def open_pending(term: str, line: str, takes_flat: bool) -> None:
        nonlocal pending, pending_line, pending_found, pending_takes_flat
        close_pending()
        pending, pending_line, pending_found, pending_takes_flat = term, line, False, takes_flat

    def close_pending() -> None:
        nonlocal pending, pending_found
        if pending is not None and not pending_found:
            parsed.skip(pending_line)
        pending, pending_found = None, False

    for raw in leftover.splitlines():
        line = raw.strip()
        if not line:
            close_pending()
            continue
        if set(line) <= set("`-=*_#|: "):  # rules, fences, table separators
            continue
        bulleted = _LIST_MARKER.match(raw) is not None and not line.startswith("|")
        nested = bulleted and raw[: len(raw) - len(raw.lstrip())] != ""
        body = _LIST_MARKER.sub("", line, count=1).lstrip("#").strip() if bulleted else line.lstrip("#").strip()
        if body.startswith("|"):  # a markdown table row: | term | alternatives |
            cells = [cell.strip() for cell in body.strip("|").split("|")]
            if len(cells) >= 2 and _label(cells[0]) in _TERM_LABELS:
                continue  # the header row
            close_pending()
            if len(cells) < 2 or not _add_anchor(result, cells[0], _split_alternatives(cells[1])):
                parsed.skip(line)
            continue
        separator = _SEPARATOR.search(body)
        if separator is not None and separator.start() > 0:
            left, right = body[: separator.start()], body[separator.end() :].strip()
            label = _label(left)
            if label in _TERM_LABELS and right:
                open_pending(_clean_item(right), line, takes_flat=False)
                continue
            if label in _ALTERNATIVE_LABELS and pending is not None:
                if right and _add_anchor(result, pending, _split_alternatives(right)):
                    pending_found = True
                else:
                    parsed.skip(line)
                continue
            # "Generic: a, b" with no term before it: a term that happens to be a label word, read as one.
            if right:
                close_pending()
                if not _add_anchor(result, left, _split_alternatives(right)):
                    parsed.skip(line)
                continue
            term = _clean_item(left)
            if _is_header(term):
                close_pending()
                continue  # "Here are the anchor terms:" introduces the list
            open_pending(term, line, takes_flat=True)
            continue
        paren = _PAREN_FORM.match(body.replace("**", ""))
        if paren is not None:
            close_pending()
            if not _add_anchor(result, paren["term"], _split_alternatives(paren["alternatives"])):
                parsed.skip(line)
            continue
        if pending is not None and (nested or (bulleted and pending_takes_flat)):
            if _add_anchor(result, pending, _split_alternatives(body)):
                pending_found = True
            else:
                parsed.skip(line)
            continue
        if bulleted and _valid_term(_clean_item(body)):
            open_pending(_clean_item(body), line, takes_flat=False)
            continue
        close_pending()
        parsed.skip(line)
    close_pending()
    return parsed


# ---------------------------------------------------------------------------------------------------------------------
# Familiarity prompts
# ---------------------------------------------------------------------------------------------------------------------

_PROMPT_LABELS = {"prompt", "opening", "sentence", "sentence opening", "start", "beginning", "question", "text"}
_REFERENCE_LABELS = {
    "references", "reference", "reference words", "answer", "answers", "completion", "completions", "words",
    "expected", "expected completion", "reference word", "target", "targets",
}  # fmt: skip
_SUBTLETY_LABELS = {"subtlety", "difficulty", "level"}
MIN_PROMPT_WORDS = 3
# "Prompt 2: ...", "References: ...", "Answer(s): ..."
_LABELLED = re.compile(r"^(?P<label>[A-Za-z][A-Za-z ]{1,25}?)\s*(?:\(s\))?\s*\d*\s*:\s*(?P<value>.*)$")
# "... sat down next to ___ (Ron, Hermione)"
_BLANK_FORM = re.compile(
    r"^(?P<opening>.+?)\s*(?:_{2,}|\.{3}|…)[\"\u201d']?\s*[(\[](?P<references>[^)\]]+)[)\]]\s*\.?$"
)


def _parse_subtlety(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= 10 else None
    match = re.search(r"\b(10|[1-9])\b", str(value))
    return int(match.group(1)) if match else None


def _clean_opening(text: str) -> str:
    text = re.sub(r"^\s*(?:prompt|opening|sentence(?: opening)?)\s*\d*\s*:\s*", "", text, flags=re.IGNORECASE)
    text = _clean_item(text)
    # Openings often end in a blank to fill: "... headmaster ___", "... to ...", "... [BLANK]".
    text = re.sub(r"\s*(?:_{2,}|\.{3}|…|\[(?:blank|mask|\.\.\.)\]|<blank>)\s*$", "", text, flags=re.IGNORECASE)
    return text.strip()


def _add_prompt(result: list[dict], opening: str, references: Sequence[str], subtlety, default_subtlety: int) -> bool:
    opening = _clean_opening(opening)
    references = [
        r
        for r in dict.fromkeys(_clean_item(r) for r in references)
        if r and len(r.split()) <= MAX_TERM_WORDS and not is_placeholder(r)
    ]
    if len(opening.split()) < MIN_PROMPT_WORDS or not references:
        return False
    level = _parse_subtlety(subtlety) if subtlety is not None else None
    entry = {"prompt": opening, "references": references, "subtlety": level or default_subtlety}
    if all(existing["prompt"] != opening for existing in result):
        result.append(entry)
    return True


def _prompts_from_json(value, result: list[dict], parsed: ParseResult, default_subtlety: int) -> None:
    if isinstance(value, list):
        for item in value:
            _prompts_from_json(item, result, parsed, default_subtlety)
        return
    if not isinstance(value, dict):
        parsed.skip(repr(value))
        return
    if isinstance(value.get("prompt"), dict):  # the WHP nesting itself
        value = value["prompt"]
    elif len(value) == 1 and isinstance(next(iter(value.values())), list):  # {"prompts": [...]}
        _prompts_from_json(next(iter(value.values())), result, parsed, default_subtlety)
        return
    lowered = {str(k).casefold(): v for k, v in value.items()}
    opening = next((lowered[k] for k in lowered if k in _PROMPT_LABELS and isinstance(lowered[k], str)), None)
    references = next((lowered[k] for k in lowered if k in _REFERENCE_LABELS), None)
    subtlety = next((lowered[k] for k in lowered if k in _SUBTLETY_LABELS), None)
    if isinstance(references, str):
        references = _split_alternatives(references)
    if (
        opening is None
        or not isinstance(references, list)
        or not all(isinstance(r, str) for r in references)
        or not _add_prompt(result, opening, references, subtlety, default_subtlety)
    ):
        parsed.skip(json.dumps(value, ensure_ascii=False))


def parse_prompt_output(text: str, default_subtlety: int = 5) -> ParseResult:
    """Read familiarity prompts from a model's reply: ``entries`` is a list of ``{"prompt", "references", "subtlety"}``.

    Accepted: JSON (a list of objects with ``prompt``/``opening`` and ``references``/``answer``, optionally
    ``subtlety``), ``opening | reference, reference | subtlety`` lines, ``opening -> reference`` lines, and
    ``Prompt: ...`` / ``Answer: ...`` line pairs, each optionally bulleted or numbered. A subtlety the model did not
    give (or gave outside 1..10) is ``default_subtlety``. Openings shorter than three words are skipped.
    """
    result: list[dict] = []
    parsed = ParseResult(entries=result)
    values, leftover = _json_candidates(text)
    for value in values:
        _prompts_from_json(value, result, parsed, default_subtlety)
    pending_prompt: str | None = None
    pending_line = ""

    def close_pending() -> None:
        nonlocal pending_prompt
        if pending_prompt is not None:
            parsed.skip(pending_line)
        pending_prompt = None

    for raw in leftover.splitlines():
        line = raw.strip()
        if not line or set(line) <= set("`-=*_#|: "):
            continue
        body = _LIST_MARKER.sub("", line, count=1).lstrip("#").strip()
        if "|" in body:
            close_pending()
            cells = [cell.strip() for cell in body.strip("|").split("|")]
            # Markdown table header rows are not prompts.
            if cells and _label(cells[0]) in _PROMPT_LABELS:
                continue
            subtlety = cells[2] if len(cells) >= 3 else None
            if len(cells) < 2 or not _add_prompt(
                result, cells[0], _split_alternatives(cells[1]), subtlety, default_subtlety
            ):
                parsed.skip(line)
            continue
        blank = _BLANK_FORM.match(body)
        if blank is not None:
            close_pending()
            if not _add_prompt(
                result, blank["opening"], _split_alternatives(blank["references"]), None, default_subtlety
            ):
                parsed.skip(line)
            continue
        labelled = _LABELLED.match(body.replace("**", ""))
        if labelled is not None:
            label, value = labelled["label"].casefold().strip(), labelled["value"].strip()
            if label in _PROMPT_LABELS and value:
                close_pending()
                pending_prompt, pending_line = value, line
                continue
            if label in _REFERENCE_LABELS and value:
                if pending_prompt is not None and _add_prompt(
                    result, pending_prompt, _split_alternatives(value), None, default_subtlety
                ):
                    pending_prompt = None
                else:
                    parsed.skip(line)
                continue
            if label in _SUBTLETY_LABELS:
                level = _parse_subtlety(value)
                if result and level is not None:
                    result[-1]["subtlety"] = level
                continue
        arrow = re.search(r"\s*(?:->|→|=>|⇒)\s*", body)
        if arrow is not None:
            close_pending()
            opening, rest = body[: arrow.start()], body[arrow.end() :]
            subtlety_match = re.search(r"\(\s*subtlety\s*:?\s*(\d+)\s*\)\s*$", rest, flags=re.IGNORECASE)
            subtlety = subtlety_match.group(1) if subtlety_match else None
            if subtlety_match:
                rest = rest[: subtlety_match.start()]
            if not _add_prompt(result, opening, _split_alternatives(rest), subtlety, default_subtlety):
                parsed.skip(line)
            continue
        parsed.skip(line)
    close_pending()
    return parsed
