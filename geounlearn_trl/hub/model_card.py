"""Model cards for every adapter or model geounlearn-trl saves, built with ``huggingface_hub.ModelCard``.

A training command ends with :func:`geounlearn_trl.hub.push.finalize_output`, which writes ``README.md`` into the output
folder (always, also without pushing) from a :class:`ModelCardInfo` that :func:`describe_run` reads off the trainer:

* metadata (YAML front matter): ``library_name: peft`` (``transformers`` for a full model), ``base_model`` and
  ``datasets`` when they are Hub ids (the Hub rejects local paths there; local paths go in the text), ``language``,
  ``pipeline_tag: text-generation`` and the tags ``unlearning``, ``trl``, ``geounlearn-trl``, the method's tag, and
  ``peft``/``lora`` for adapters;
* the method with its loss and weights (gradient ascent: ``w_kl``, ``w_unlearn``, ``w_unk``; selective relabeling: the
  label formula with ``α``), the languages and data, the training settings (optimiser, steps, batch, LoRA, 4-bit
  quantisation, how many processes and which DeepSpeed ZeRO stage), why training stopped early if it did;
* the before/after metrics, when an evaluation was run: read from ``eval_results.json`` in the output folder;
* BibTeX of the method papers and of TRL.

``eval_results.json`` (written by :func:`save_eval_results`, read by :func:`load_eval_results`)::

    {
      "evaluation": "SeeGULL MCQ, held-out (identity, attribute) pairs",   # optional: what was evaluated
      "results": [
        {"metric": "stereotype_rate", "language": "en", "before": 0.62, "after": 0.21, "n": 240,
         "lower_is_better": true},
        {"metric": "control_accuracy", "language": "en", "before": 0.91, "after": 0.88, "n": 60}
      ]
    }

Each result needs ``metric`` (text) and at least one of ``before``/``after`` (numbers, or null when not measured);
``language``, ``n`` (examples scored) and ``lower_is_better`` are optional. A malformed file is an error that names the
file, the result's index and the field.

The card never holds a token: the training settings are an explicit list of fields, and nothing reads ``hub_token``.
"""

from __future__ import annotations

import enum
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from ..citations import CITATIONS
from ..files import write_text_atomic
from ..data.records import InputError, read_text

CARD_NAME = "README.md"
EVAL_RESULTS_NAME = "eval_results.json"
LIBRARY_TAG = "geounlearn-trl"

@dataclass(frozen=True)
class MethodDescription:
    """How a training method is named, tagged, explained and cited (BibTeX entries) in a card."""

    title: str
    tag: str
    summary: str
    citations: tuple[str, ...]
    # How to measure it, said when no eval_results.json was saved.
    evaluation_hint: str = ""


REINFORCE_METHOD = "reinforce"  # the reinforced model of selective relabeling: trained, but not an unlearning method


def method_description(method: str) -> MethodDescription:
    """How the card describes ``method``: read off its trainer class in the registry
    (:data:`geounlearn_trl.methods.METHODS`: ``card_title``, ``card_summary()``, ``_paper``, ``card_citations``), or
    the reinforced model's :class:`~geounlearn_trl.methods.selective_relabel.ReinforceTrainer`."""
    from ..methods import METHODS, method_classes
    from ..methods.selective_relabel import ReinforceTrainer

    if method == REINFORCE_METHOD:
        trainer = ReinforceTrainer
    elif method in METHODS:
        _, trainer = method_classes(method)
    else:
        raise ValueError(f"Unknown method {method!r} for a model card; known: {', '.join([*METHODS, REINFORCE_METHOD])}")
    paper = trainer._paper.get("citation")
    return MethodDescription(
        title=trainer.card_title,
        tag="reinforced-model" if method == REINFORCE_METHOD else method.replace("_", "-"),
        summary=trainer.card_summary(),
        citations=((paper,) if paper else ()) + tuple(CITATIONS[key] for key in trainer.card_citations),
        evaluation_hint=trainer.card_evaluation_hint,
    )


# TrainingArguments/SFTConfig fields reported under "Training": an allow-list, so no secret can slip in.
TRAINING_FIELDS = (
    "learning_rate",
    "lr_scheduler_type",
    "warmup_steps",
    "num_train_epochs",
    "max_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "max_length",
    "optim",
    "weight_decay",
    "max_grad_norm",
    "bf16",
    "fp16",
    "gradient_checkpointing",
    "seed",
)


@dataclass
class ModelCardInfo:
    """Everything a card says about one training run. ``base_model`` and ``datasets`` are as the user named them."""

    method: str
    base_model: str
    languages: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    method_settings: dict[str, Any] = field(default_factory=dict)
    training_settings: dict[str, Any] = field(default_factory=dict)
    adapter: dict[str, Any] | None = None
    quantization: dict[str, Any] | None = None
    distributed: dict[str, Any] = field(default_factory=dict)
    model_name: str | None = None
    hub_model_id: str | None = None
    stop_reason: str | None = None
    license: str | None = None

    def __post_init__(self):
        method_description(self.method)  # an unknown method fails here, naming the known ones


_FILE_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet", ".txt", ".arrow", ".npy")


def is_hub_id(name: str | None) -> bool:
    """True for ``owner/name`` (or ``name``) that is not a local path: what the Hub accepts as ``base_model``."""
    if not name or os.path.exists(name) or name.startswith((".", "/", "~")):
        return False
    if name.lower().endswith(_FILE_SUFFIXES):  # a data file recorded elsewhere (e.g. relative to another folder)
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def hub_base_model(name: str) -> str | None:
    """The Hub id a base model goes by: the id itself, the embedded default's origin, or None for a local folder."""
    from ..models import EMBEDDED_MODELS

    if name in EMBEDDED_MODELS:
        return EMBEDDED_MODELS[name].hub_id
    return name if is_hub_id(name) else None


def describe_run(
    method: str,
    trainer,
    model_args,
    *,
    languages: list[str] | None = None,
    datasets: list[str] | None = None,
    method_settings: dict[str, Any] | None = None,
) -> ModelCardInfo:
    """A :class:`ModelCardInfo` read off a trained ``trainer`` and the run's ``trl.ModelConfig``.

    ``method_settings`` adds to (or overrides) the settings read off ``trainer.args`` (an
    :class:`~geounlearn_trl.methods.base.UnlearningConfig`'s ``method_settings()``: its weights, guards and the
    method's own hyper-parameters), e.g. the ``alpha`` with which selective labels were built.
    """
    method_description(method)
    args = trainer.args
    settings = args.method_settings() if hasattr(args, "method_settings") else {}
    if hasattr(trainer, "use_soft_labels"):  # SelectiveRelabelTrainer resolves label_type="auto" from the data
        settings["label_type"] = "soft (KL to top-k targets)" if trainer.use_soft_labels else "hard (cross-entropy)"
    settings.update(method_settings or {})

    training = {name: _plain(getattr(args, name)) for name in TRAINING_FIELDS if hasattr(args, name)}
    if (training.get("max_steps") or 0) > 0:
        training.pop("num_train_epochs", None)  # max_steps wins over epochs in the Trainer
    world_size = trainer.accelerator.num_processes
    training["total_train_batch_size"] = (
        args.per_device_train_batch_size * args.gradient_accumulation_steps * world_size
    )
    training["optimizer_steps_done"] = trainer.state.global_step

    return ModelCardInfo(
        method=method,
        base_model=model_args.model_name_or_path,
        languages=list(languages or []),
        datasets=[str(name) for name in datasets or [] if name],
        method_settings={key: _plain(value) for key, value in settings.items()},
        training_settings=training,
        adapter=_adapter_settings(trainer),
        quantization=_quantization_settings(model_args),
        distributed=_distributed_settings(trainer),
        model_name=(args.hub_model_id or Path(args.output_dir).name),
        hub_model_id=args.hub_model_id,
        stop_reason=getattr(trainer, "stop_reason", None),
    )


def relabel_provenance(relabeled_dataset: str | os.PathLike) -> dict[str, Any]:
    """``describe_run`` keywords for a selective run: ``α``, ``top_k``, anchors, language and target of the labels.

    Read from the ``geounlearn_config.yaml`` that ``geounlearn-trl relabel`` saved beside the dataset; a dataset
    without it (built in Python) only names itself.
    """
    import yaml

    path = Path(relabeled_dataset) / "geounlearn_config.yaml"
    resolved = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    if not isinstance(resolved, dict):
        return {"datasets": [str(relabeled_dataset)]}
    relabel, target = resolved.get("relabel") or {}, resolved.get("target") or {}
    settings = {name: relabel[name] for name in ("alpha", "top_k", "anchors") if relabel.get(name) is not None}
    sources = [target.get("target_text") or target.get("mcq_dataset"), str(relabeled_dataset)]
    return {
        "method_settings": settings,
        "languages": [target["language"]] if target.get("mcq_dataset") and target.get("language") else [],
        "datasets": [name for name in sources if name],
    }


def _plain(value):
    """Enums and dtypes as their names, so the card and YAML hold plain values."""
    if isinstance(value, enum.Enum):  # before str: transformers' option enums are str subclasses
        return value.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set)):
        return sorted(map(str, value)) if isinstance(value, set) else [_plain(item) for item in value]
    return getattr(value, "value", None) or str(value)


def _adapter_settings(trainer) -> dict[str, Any] | None:
    model = trainer.accelerator.unwrap_model(trainer.model)
    peft_config = getattr(model, "peft_config", None)
    if not peft_config:
        return None
    config = peft_config[getattr(model, "active_adapter", "default")]
    settings = {"peft_type": _plain(config.peft_type)}
    for name in ("r", "lora_alpha", "lora_dropout", "target_modules", "use_dora", "use_rslora", "bias"):
        if hasattr(config, name):
            settings[name] = _plain(getattr(config, name))
    return settings


def _quantization_settings(model_args) -> dict[str, Any] | None:
    if getattr(model_args, "load_in_4bit", False):
        return {
            "load_in_4bit": True,
            "bnb_4bit_quant_type": model_args.bnb_4bit_quant_type,
            "bnb_4bit_use_double_quant": bool(model_args.use_bnb_nested_quant),
            "dtype": _plain(model_args.dtype),
        }
    if getattr(model_args, "load_in_8bit", False):
        return {"load_in_8bit": True}
    return None


def _distributed_settings(trainer) -> dict[str, Any]:
    accelerator = trainer.accelerator
    settings = {"distributed_type": _plain(accelerator.distributed_type), "num_processes": accelerator.num_processes}
    plugin = getattr(accelerator.state, "deepspeed_plugin", None)
    if getattr(trainer, "is_deepspeed_enabled", False) and plugin is not None:
        zero = plugin.deepspeed_config.get("zero_optimization", {})
        settings["deepspeed_zero_stage"] = zero.get("stage")
        offload = [name for name in ("offload_optimizer", "offload_param") if zero.get(name, {}).get("device") not in (None, "none")]
        if offload:
            settings["deepspeed_offload"] = offload
    return settings


# --- eval_results.json ---------------------------------------------------------------------------------------------


def save_eval_results(output_dir: str | os.PathLike, results: list[dict], evaluation: str | None = None) -> Path:
    """Write ``eval_results.json`` (format in the module docstring) so the card of ``output_dir`` shows it."""
    data = {"results": results} if evaluation is None else {"evaluation": evaluation, "results": results}
    path = Path(output_dir) / EVAL_RESULTS_NAME
    _validate_eval_results(data, str(path))
    return write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def load_eval_results(output_dir: str | os.PathLike) -> dict | None:
    """The validated ``eval_results.json`` of ``output_dir``, or None when no evaluation was saved there."""
    path = Path(output_dir) / EVAL_RESULTS_NAME
    if not path.is_file():
        return None
    try:
        text, _raw, _bom = read_text(path)  # UTF-8 (a BOM is dropped); a bad byte is named with its offset
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise EvalResultsError(f"{path}: not valid JSON ({error})") from None
    except InputError as error:
        raise EvalResultsError(str(error)) from None
    _validate_eval_results(data, str(path))
    return data


class EvalResultsError(InputError):
    """A malformed ``eval_results.json``; the message names the file, the result's index and the field."""


def _validate_eval_results(data, source: str) -> None:
    try:
        _check_eval_results(data, source)
    except EvalResultsError:
        raise
    except ValueError as error:
        raise EvalResultsError(str(error)) from None


def _check_eval_results(data, source: str) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise ValueError(f"{source}, key 'results': expected an object with a 'results' list")
    unknown = sorted(set(data) - {"results", "evaluation"})
    if unknown:
        raise ValueError(f"{source}, key {unknown[0]!r}: unknown field (the fields are 'evaluation' and 'results')")
    if "evaluation" in data and not isinstance(data["evaluation"], str):
        raise ValueError(f"{source}, field 'evaluation': expected text")
    for index, result in enumerate(data["results"]):
        where = f"{source}, results[{index}]"
        if not isinstance(result, dict):
            raise ValueError(f"{where}: expected an object")
        if not isinstance(result.get("metric"), str) or not result["metric"].strip():
            raise ValueError(f"{where}, field 'metric': missing or not text")
        for name in ("before", "after"):
            value = result.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{where}, field {name!r}: expected a number or null, got {value!r}")
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{where}, field {name!r}: expected a finite number, got {value!r}")
        if result.get("before") is None and result.get("after") is None:
            raise ValueError(f"{where}: needs 'before' or 'after'")
        if "language" in result and not isinstance(result["language"], str):
            raise ValueError(f"{where}, field 'language': expected text")
        if "n" in result and (isinstance(result["n"], bool) or not isinstance(result["n"], int) or result["n"] < 0):
            raise ValueError(f"{where}, field 'n': expected a non-negative integer")
        if "lower_is_better" in result and not isinstance(result["lower_is_better"], bool):
            raise ValueError(f"{where}, field 'lower_is_better': expected true or false")


# --- the card ------------------------------------------------------------------------------------------------------

TEMPLATE = """\
---
{{ card_data }}
---

# {{ model_name }}

{{ lead }}

## Method: {{ method.title }}

{{ method.summary }}

{% if method_settings %}| Setting | Value |
|---|---|
{% for key, value in method_settings.items() %}| `{{ key }}` | {{ value }} |
{% endfor %}{% endif %}
## Data

- Languages: {{ languages_text }}
- Data: {{ datasets_text }}

## Evaluation

{% if evaluation %}{% if evaluation.evaluation %}{{ evaluation.evaluation }}

{% endif %}| Language | Metric | Before | After | Change | n |
|---|---|---|---|---|---|
{% for row in evaluation_rows %}| {{ row.language }} | {{ row.metric }} | {{ row.before }} | {{ row.after }} | {{ row.change }} | {{ row.n }} |
{% endfor %}
From `eval_results.json` in this folder.
{% else %}No evaluation was saved with this {{ artifact }} (`eval_results.json` is absent). {{ method.evaluation_hint }}
{% endif %}
## Training

| Setting | Value |
|---|---|
{% for key, value in training_rows %}| {{ key }} | {{ value }} |
{% endfor %}
{% if stop_reason %}Training stopped early: {{ stop_reason }}
{% endif %}
## Usage

```python
{{ usage }}
```

## Limitations

Unlearning is approximate: it lowers how likely a model is to produce what was unlearned on the kind of prompts it \
was trained on, and the evaluation above measures only that. Check other prompt formats, other languages and general \
ability before relying on it.

### Framework versions

{% for name, version in versions.items() %}- {{ name }}: {{ version }}
{% endfor %}
## Citations

```bibtex
{{ citations }}
```
"""


def build_model_card(info: ModelCardInfo, output_dir: str | os.PathLike | None = None) -> ModelCard:
    """The card of ``info``; with ``output_dir``, its ``eval_results.json`` (if any) fills the Evaluation section."""
    method = method_description(info.method)
    base_hub_id = hub_base_model(info.base_model)
    hub_datasets = [name for name in info.datasets if is_hub_id(name)]
    is_adapter = info.adapter is not None
    tags = ["unlearning", "trl", LIBRARY_TAG, method.tag]
    if is_adapter:
        tags += ["peft", "lora"] if str(info.adapter.get("peft_type", "")).upper() == "LORA" else ["peft"]
    if info.quantization and info.quantization.get("load_in_4bit"):
        tags.append("qlora")
    card_data = ModelCardData(
        base_model=base_hub_id,
        datasets=hub_datasets or None,
        language=info.languages or None,
        library_name="peft" if is_adapter else "transformers",
        license=info.license,
        model_name=info.model_name,
        pipeline_tag="text-generation",
        tags=tags,
    )
    evaluation = load_eval_results(output_dir) if output_dir is not None else None
    return ModelCard.from_template(
        card_data,
        template_str=TEMPLATE,
        model_name=info.model_name or f"{method.title} of {info.base_model}",
        lead=_lead(info, method, base_hub_id),
        method=method,
        method_settings={key: _format(value) for key, value in info.method_settings.items()},
        languages_text=", ".join(info.languages) or "not recorded",
        datasets_text=", ".join(f"`{name}`" for name in info.datasets) or "the samples shipped with geounlearn-trl",
        evaluation=evaluation,
        evaluation_rows=_evaluation_rows(evaluation) if evaluation else [],
        artifact="adapter" if is_adapter else "model",
        training_rows=_training_rows(info),
        stop_reason=info.stop_reason,
        usage=_usage(info, is_adapter),
        versions=_versions(),
        citations="\n\n".join(method.citations),
    )


def write_model_card(output_dir: str | os.PathLike, info: ModelCardInfo) -> Path:
    """Write ``README.md`` into ``output_dir`` (replacing the generic card PEFT or TRL may have left there)."""
    path = Path(output_dir) / CARD_NAME
    return write_text_atomic(path, str(build_model_card(info, output_dir)))


def _lead(info: ModelCardInfo, method: MethodDescription, base_hub_id: str | None) -> str:
    base = f"[{base_hub_id}](https://huggingface.co/{base_hub_id})" if base_hub_id else f"`{info.base_model}`"
    what = "A LoRA adapter" if info.adapter else "A fine-tuned version"
    if info.quantization and info.quantization.get("load_in_4bit"):
        what = "A QLoRA adapter (trained on the 4-bit base)"
    return f"{what} of {base}, trained with geounlearn-trl on [TRL](https://github.com/huggingface/trl): {method.title}."


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return "—" if value is None else str(value)


def _evaluation_rows(evaluation: dict) -> list[dict]:
    rows = []
    for result in evaluation["results"]:
        before, after = result.get("before"), result.get("after")
        change = "—"
        if before is not None and after is not None and math.isfinite(before) and math.isfinite(after):
            change = f"{after - before:+.4g}"
            if "lower_is_better" in result:
                better = (after < before) if result["lower_is_better"] else (after > before)
                change += " (better)" if better else (" (worse)" if after != before else "")
        rows.append(
            {
                "language": result.get("language", "—"),
                "metric": result["metric"],
                "before": "—" if before is None else f"{before:.4g}",
                "after": "—" if after is None else f"{after:.4g}",
                "change": change,
                "n": result.get("n", "—"),
            }
        )
    return rows


def _training_rows(info: ModelCardInfo) -> list[tuple[str, str]]:
    rows = [(f"`{key}`", _format(value)) for key, value in info.training_settings.items()]
    if info.adapter:
        rows += [(f"adapter `{key}`", _format(value)) for key, value in info.adapter.items()]
    else:
        rows.append(("adapter", "none (full fine-tuning)"))
    if info.quantization:
        rows += [(f"quantization `{key}`", _format(value)) for key, value in info.quantization.items()]
    rows += [(key.replace("_", " "), _format(value)) for key, value in info.distributed.items()]
    return rows


def _usage(info: ModelCardInfo, is_adapter: bool) -> str:
    where = info.hub_model_id or "path/to/this/folder"
    if is_adapter:
        return (
            "from peft import AutoPeftModelForCausalLM\n"
            "from transformers import AutoTokenizer\n\n"
            f'model = AutoPeftModelForCausalLM.from_pretrained("{where}")\n'
            f'tokenizer = AutoTokenizer.from_pretrained("{where}")'
        )
    return (
        "from transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
        f'model = AutoModelForCausalLM.from_pretrained("{where}")\n'
        f'tokenizer = AutoTokenizer.from_pretrained("{where}")'
    )


def _versions() -> dict[str, str]:
    import importlib.metadata

    versions = {}
    for name, distribution in (
        ("geounlearn-trl", "geounlearn-trl"),
        ("TRL", "trl"),
        ("Transformers", "transformers"),
        ("PEFT", "peft"),
        ("PyTorch", "torch"),
        ("Datasets", "datasets"),
        ("Accelerate", "accelerate"),
    ):
        try:
            versions[name] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions
