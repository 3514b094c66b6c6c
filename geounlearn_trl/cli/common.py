"""Plumbing shared by the commands: flag parsing with TRL's TrlParser (recipes checked first), logging, the CPU
process-group backend."""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import sys
import types
from pathlib import Path

import yaml
from trl import TrlParser

from ..data.records import InputError, read_text
from ..methods import DEFAULT_METHOD, METHODS, PAIRED_METHODS

logger = logging.getLogger("geounlearn_trl")

def cpu_process_group_backend() -> str | None:
    """``"gloo"`` when launched as several processes on a machine without CUDA, else None (the launcher decides).

    With a DeepSpeed config on CPU, accelerate starts no process group unless ``--ddp_backend`` names one: every process
    would then believe it is alone (and DeepSpeed fails its batch-size check, or each process writes the same output).
    """
    import torch

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available():
        return "gloo"
    return None


def parse_flags(dataclass_types: tuple, argv: list[str] | None):
    """``TrlParser`` over ``dataclass_types``: ``--config recipe.yaml`` (with an ``env:`` block), flags override it.

    Every command with a ``--ddp_backend`` flag (the training commands' TrainingArguments, relabel) defaults it to gloo
    when several CPU processes were launched (:func:`cpu_process_group_backend`); a recipe or the flag still wins.
    """
    parser = TrlParser(dataclass_types)
    backend = cpu_process_group_backend()
    if backend and any(action.dest == "ddp_backend" for action in parser._actions):
        parser.set_defaults(ddp_backend=backend)  # a default: the recipe's value, then the flag, override it
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--config" in argv and argv.index("--config") + 1 < len(argv):
        check_recipe(argv[argv.index("--config") + 1], parser)
    return parser.parse_args_and_config(args=argv)


class RecipeError(InputError):
    """A recipe (``--config``) or accelerate config that can't be used; the message names the file and the key."""


def _load_yaml_mapping(path: str, what: str) -> dict:
    if not os.path.isfile(path):
        raise RecipeError(f"{path}: no such {what} file")
    try:
        text, _raw, _bom = read_text(path)
        data = yaml.safe_load(text)
    except InputError as error:
        raise RecipeError(str(error)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise RecipeError(f"{path}: not valid YAML{where} ({getattr(error, 'problem', None) or error})") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: expected a YAML mapping of settings, got {type(data).__name__}")
    return data


def read_recipe(path: str) -> dict:
    """A recipe's settings as a mapping (errors name the file and line)."""
    return _load_yaml_mapping(path, "recipe")


def _suggest(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_recipe_value(action, value) -> str | None:
    """Why ``value`` (as YAML gave it) can't be the default of ``action``, or None. argparse converts a string default
    with the flag's type but takes any other value as it is: a float where an int belongs would pass unconverted."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list):
        if action.nargs not in ("+", "*") and not isinstance(action.nargs, int):
            return f"expected a single value, got a list {value!r:.60}"
        problems = [_check_recipe_value(type("One", (), {"type": action.type, "nargs": None, "choices": action.choices,
                                                          "dest": action.dest}), item) for item in value]
        return next((problem for problem in problems if problem), None)
    kind = action.type
    name = getattr(kind, "__name__", "")
    if isinstance(value, str):
        if kind is not None and kind is not str:
            try:
                converted = kind(value)
            except (TypeError, ValueError, argparse.ArgumentTypeError) as error:
                return f"{value!r} is not a valid value ({error})"
            if action.choices and converted not in action.choices and value not in action.choices:
                return f"{value!r} is not one of {', '.join(map(str, action.choices))}"
        elif action.choices and value not in action.choices:
            return f"{value!r} is not one of {', '.join(map(str, action.choices))}"
        return None
    if name == "string_to_bool" or (kind is None and action.nargs == 0):
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if isinstance(value, bool):
        if action.choices and any(str(choice) in ("no", "yes", "off", "on") for choice in action.choices):
            return (f"got {str(value).lower()}: YAML reads a bare no/yes/off/on as a boolean; quote it "
                    f"('{'yes' if value else 'no'}')")
        return f"expected {getattr(kind, '__name__', 'text')}, got the boolean {str(value).lower()}"
    if kind is int and not isinstance(value, int):
        return f"expected an integer, got {value!r}"
    if kind is float and not isinstance(value, (int, float)):
        return f"expected a number, got {value!r}"
    if action.choices and str(value) not in map(str, action.choices):
        return f"{value!r} is not one of {', '.join(map(str, action.choices))}"
    return None


def check_recipe(path: str, parser) -> dict:
    """Refuse, naming the file and the key, a recipe TrlParser would fail on obscurely or take wrongly: not YAML, not
    a mapping, a key no flag of the command has, a value of the wrong type (a float for an integer flag, a bare
    ``no`` that YAML reads as false, a word outside a flag's choices), an ``env`` block that is not a mapping."""
    data = _load_yaml_mapping(path, "recipe")
    actions = {action.dest: action for action in parser._actions if action.dest != "help"}
    for key, value in data.items():
        if key == "env":
            if not isinstance(value, dict):
                raise RecipeError(f"{path}, key 'env': expected a mapping of environment variables, got {value!r:.60}")
            for name, setting in value.items():
                if isinstance(setting, (dict, list)):
                    raise RecipeError(f"{path}, key 'env.{name}': expected a single value, got {setting!r:.60}")
            continue
        if key not in actions:
            raise RecipeError(f"{path}, key {key!r}: unknown setting, no flag --{key} in this command"
                              f"{_suggest(key, actions)}")
        problem = _check_recipe_value(actions[key], value)
        if problem:
            raise RecipeError(f"{path}, key {key!r}: {problem}")
    return data


def check_accelerate_config(path: str) -> dict:
    """Refuse, naming the file and the key, an ``accelerate launch --config_file`` YAML with a key accelerate does not
    know (accelerate says only "unknown keys") or a value of the wrong type (accelerate takes ``num_processes: two``
    as it is), or a ``deepspeed_config_file`` that is missing or not JSON. Returns the mapping."""
    import enum
    import typing

    from accelerate.commands.config.config_args import ClusterConfig

    data = _load_yaml_mapping(path, "accelerate config")
    hints = typing.get_type_hints(ClusterConfig)
    for key, value in data.items():
        if key not in hints:
            raise RecipeError(f"{path}, key {key!r}: not an accelerate config key{_suggest(key, hints)}")
        expected = hints[key]
        options = typing.get_args(expected) if typing.get_origin(expected) in (typing.Union, types.UnionType) else ()
        allowed = [t for t in (options or (expected,)) if t is not type(None)]
        if value is None:
            if options and type(None) in options:
                continue
            raise RecipeError(f"{path}, key {key!r}: empty; expected {_type_name(allowed)}")
        if not any(_matches(value, kind, enum) for kind in allowed):
            raise RecipeError(f"{path}, key {key!r}: expected {_type_name(allowed)}, got {value!r:.60}")
    deepspeed = data.get("deepspeed_config") or {}
    if isinstance(deepspeed, dict) and deepspeed.get("deepspeed_config_file"):
        name = str(deepspeed["deepspeed_config_file"])
        candidates = [Path(name), Path(path).resolve().parent / name, Path(path).resolve().parent.parent / name]
        found = next((candidate for candidate in candidates if candidate.is_file()), None)
        if found is None:
            raise RecipeError(f"{path}, key 'deepspeed_config.deepspeed_config_file': {name}: no such file")
        try:
            json.loads(read_text(found)[0])
        except (InputError, json.JSONDecodeError) as error:
            raise RecipeError(f"{path}, key 'deepspeed_config.deepspeed_config_file': {found}: not valid JSON "
                              f"({error})") from None
    return data


def _matches(value, kind, enum) -> bool:
    origin = typing_origin(kind)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return value in {member.value for member in kind} or value in kind.__members__
    if kind is bool:  # accelerate's own config writer puts 'no' / 'yes' strings there
        return isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("no", "yes", "true", "false"))
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    if origin in (dict, list):
        return isinstance(value, origin)
    return True  # a type this check does not know: accelerate decides


def typing_origin(kind):
    import typing

    return typing.get_origin(kind) or (kind if kind in (dict, list) else None)


def _type_name(kinds) -> str:
    return " or ".join(getattr(kind, "__name__", str(kind)) for kind in kinds)


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level, stream=sys.stderr)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def requested_method(argv: list[str]) -> str:
    """``--method`` from the command line, else the recipe's ``method:``, else the default: the method's config
    decides which flags exist, so it is read before the flags are parsed."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--method")
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    method = known.method
    if method is None and known.config and os.path.isfile(known.config):
        method = read_recipe(known.config).get("method")
    method = method or DEFAULT_METHOD
    if METHODS.get(method) is None or METHODS[method].data != "paired":
        raise SystemExit(f"unknown --method {method!r}; choose one of {', '.join(PAIRED_METHODS)} "
                         "(selective relabeling runs as `geounlearn-trl relabel` then `geounlearn-trl selective`)")
    return method
