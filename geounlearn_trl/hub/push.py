"""Sharing a trained adapter (or model) on the Hugging Face Hub, after it and its card are safely on disk.

Every training command ends the same way (:func:`finalize_output`): save the adapter, write the model card
(:mod:`geounlearn_trl.hub.model_card`), and only then, when ``--push_to_hub`` was given, push the output folder with the
standard :meth:`transformers.Trainer.push_to_hub` (``--hub_model_id``, ``--hub_private_repo``, ``--hub_revision``).

Why the push is held back from the Trainer (:func:`hold_push`): with ``push_to_hub=True`` the Trainer creates the Hub
repository when it is built and pushes at every save, so without network or token a run would die before training,
and a push could leave before the card is written. Instead the Trainer gets a copy of the arguments without
``push_to_hub`` and without ``hub_token``, and the push happens once at the end:

* without network access (``HF_HUB_OFFLINE=1``) or without a token (``huggingface_hub.get_token()`` is None and no
  ``--hub_token``), it fails fast with a message that says where the adapter and card are on disk;
* ``Trainer.push_to_hub`` renders TRL's generic card into ``README.md`` right before uploading; for that call the
  trainer's ``create_model_card`` writes the geounlearn-trl card instead, so ours is the one on the Hub;
* the token never reaches the Trainer's arguments, because ``training_args.bin`` (a pickle of them, uploaded with the
  folder) would carry it; nothing here prints or writes it, and a folder that holds it is never uploaded.
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import get_token, is_offline_mode

from .model_card import CARD_NAME, ModelCardInfo, write_model_card

logger = logging.getLogger(__name__)

# Files larger than this are weights (safetensors); a token could only hide in the small text/pickle files.
_SECRET_SCAN_MAX_BYTES = 64 * 1024 * 1024


class HubPushError(RuntimeError):
    """The push could not happen or failed; the message says why and where the saved files are."""


@dataclass(frozen=True)
class HubPush:
    """What ``--push_to_hub`` asked for, held back from the Trainer until the adapter and card are saved."""

    model_id: str | None
    private: bool | None = None
    revision: str | None = None
    token: str | None = field(default=None, repr=False)


def hold_push(args):
    """Split ``args`` (``TrainingArguments``) into what the Trainer gets and the push to do at the end.

    Returns ``(trainer_args, push)``: ``trainer_args`` is ``args`` itself when no Hub flag was given, otherwise a copy
    with ``push_to_hub=False`` and ``hub_token=None``; ``push`` is a :class:`HubPush`, or None without
    ``--push_to_hub``. ``args`` is left untouched, so the saved configuration still shows what was asked.
    """
    if not args.push_to_hub and args.hub_token is None:
        return args, None
    trainer_args = copy.copy(args)
    trainer_args.push_to_hub = False
    trainer_args.hub_token = None
    if not args.push_to_hub:
        return trainer_args, None
    push = HubPush(model_id=args.hub_model_id, private=args.hub_private_repo, revision=args.hub_revision, token=args.hub_token)
    problem = hub_unavailable_reason(push.token)
    if problem:
        logger.warning(
            "--push_to_hub: %s. Training runs and saves to %s as usual; the push will fail at the end.",
            problem,
            args.output_dir,
        )
    return trainer_args, push


def hub_unavailable_reason(token: str | None = None) -> str | None:
    """Why nothing can be pushed right now (offline mode, no token), or None. The token itself is never shown."""
    if is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set, so the Hub cannot be reached"
    if token is None and get_token() is None:
        return "no Hugging Face token was found (set HF_TOKEN or run `hf auth login`)"
    return None


def push_to_hub(trainer, card_info: ModelCardInfo, push: HubPush) -> str | None:
    """Push ``trainer.args.output_dir`` with ``trainer.push_to_hub``, the geounlearn-trl card as its README.

    Call it on every process (saving a ZeRO-3 model gathers its shards); the main process uploads and gets the commit
    URL, the others get None. Raises :class:`HubPushError`, before any network call when the Hub is unavailable.
    """
    output_dir = trainer.args.output_dir
    repo_id = push.model_id or trainer.args.hub_model_id or Path(output_dir).absolute().name
    saved_where = (
        f"The adapter and its model card are saved in {os.path.abspath(output_dir)} (card: {CARD_NAME}); "
        f"upload them later with `hf upload {repo_id} {output_dir}`."
    )
    problem = hub_unavailable_reason(push.token)
    if problem:
        raise HubPushError(f"Cannot push to the Hub: {problem}. {saved_where}")
    token = push.token or get_token()
    if trainer.is_world_process_zero():
        _refuse_folder_with_token(output_dir, token, saved_where)
    if push.model_id is not None:
        trainer.args.hub_model_id = push.model_id
    # push_to_hub saves the model again (PEFT then rewrites README.md with its own template) and calls the trainer's
    # create_model_card right before uploading: the trainers' hook (methods.base.ProjectCardMixin) writes our card.
    trainer.card_info = card_info
    try:
        commit = trainer.push_to_hub(
            commit_message=f"geounlearn-trl ({card_info.method}): weights and model card",
            token=push.token,
            private=push.private,
            revision=push.revision,
        )
    except Exception as error:  # network, permissions, invalid repo id: all end the same way for the user
        message = _redact(f"{type(error).__name__}: {error}", token)
        # `from None`: the chained exception's text is not redacted.
        raise HubPushError(f"Pushing to the Hub failed ({message}). {saved_where}") from None
    return getattr(commit, "commit_url", None) or (str(commit) if commit is not None else None)


def finalize_output(trainer, card_info: ModelCardInfo, push: HubPush | None = None) -> int:
    """The end of every training command: write the model card, then push when asked. Returns the exit status.

    Call it on every process after ``trainer.save_model``. The card is written by the main process into
    ``trainer.args.output_dir`` (replacing the generic card PEFT leaves there); a failed push is logged with the
    reason and where the files are, and returns 1.
    """
    output_dir = trainer.args.output_dir
    trainer.card_info = card_info  # later checkpoints and pushes write this card too (ProjectCardMixin)
    if trainer.is_world_process_zero():
        card_path = write_model_card(output_dir, card_info)
        logger.info("Model card written to %s", card_path)
    if push is None:
        return 0
    try:
        url = push_to_hub(trainer, card_info, push)
    except HubPushError as error:
        if trainer.is_world_process_zero():
            logger.error("%s", error)
        return 1
    if trainer.is_world_process_zero():
        logger.info("Pushed %s to the Hub: %s", output_dir, url)
    return 0


def _refuse_folder_with_token(output_dir: str, token: str | None, saved_where: str) -> None:
    """Never upload a folder in which the token was written (e.g. a ``training_args.bin`` from an older run)."""
    if not token:
        return
    needle = token.encode()
    for path in sorted(Path(output_dir).rglob("*")):
        relative = path.relative_to(output_dir).parts
        if any(part.startswith(("_", "checkpoint-")) for part in relative):
            continue  # Trainer.push_to_hub does not upload these
        if path.is_file() and path.stat().st_size <= _SECRET_SCAN_MAX_BYTES and needle in path.read_bytes():
            raise HubPushError(
                f"Not pushing: {path} contains your Hugging Face token. Delete or regenerate that file first. "
                f"{saved_where}"
            )


def _redact(text: str, token: str | None) -> str:
    return text.replace(token, "<token>") if token else text
