"""geounlearn-trl: unlearning unwanted knowledge and geo-cultural stereotypes in multilingual LLMs, on TRL."""

__version__ = "0.1.0"

_EXPORTS = {
    "UnlearningConfig": "geounlearn_trl.methods.base",
    "UnlearningTrainer": "geounlearn_trl.methods.base",
    "GradientAscentConfig": "geounlearn_trl.methods.gradient_ascent",
    "GradientAscentTrainer": "geounlearn_trl.methods.gradient_ascent",
    "GradDiffConfig": "geounlearn_trl.methods.grad_diff",
    "GradDiffTrainer": "geounlearn_trl.methods.grad_diff",
    "NPOConfig": "geounlearn_trl.methods.npo",
    "NPOTrainer": "geounlearn_trl.methods.npo",
    "SimNPOConfig": "geounlearn_trl.methods.simnpo",
    "SimNPOTrainer": "geounlearn_trl.methods.simnpo",
    "IdkDPOConfig": "geounlearn_trl.methods.idk_dpo",
    "IdkDPOTrainer": "geounlearn_trl.methods.idk_dpo",
    "SelectiveRelabelConfig": "geounlearn_trl.methods.selective_relabel",
    "SelectiveRelabelTrainer": "geounlearn_trl.methods.selective_relabel",
    "METHODS": "geounlearn_trl.methods",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    # Lazy: `import geounlearn_trl.data.languages` (or the CLI's --help) should not pay for importing TRL and torch.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'geounlearn_trl' has no attribute {name!r}")
