"""geounlearn-trl: unlearning unwanted knowledge and geo-cultural stereotypes in multilingual LLMs, on TRL."""

__version__ = "0.1.0"

_EXPORTS = {
    "GradientAscentConfig": "geounlearn_trl.trainers.gradient_ascent",
    "GradientAscentTrainer": "geounlearn_trl.trainers.gradient_ascent",
    "SelectiveRelabelConfig": "geounlearn_trl.trainers.selective_relabel",
    "SelectiveRelabelTrainer": "geounlearn_trl.trainers.selective_relabel",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    # Lazy: `import geounlearn_trl.languages` (or the CLI's --help) should not pay for importing TRL and torch.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'geounlearn_trl' has no attribute {name!r}")
