"""Collators for datasets whose rows hold several tokenised sequences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

PAIRED_GROUPS = ("forget", "unknown", "retain")


def right_pad(rows: Sequence[Sequence[int]], pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)`` of shape ``(len(rows), longest)``, right-padded; the mask comes from the lengths,
    never from comparing ids with ``pad_token_id`` (often EOS)."""
    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        input_ids[index, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        attention_mask[index, : len(row)] = 1
    return input_ids, attention_mask


@dataclass
class PairedUnlearningCollator:
    """Stack the forget, unknown and retain sequences of ``B`` rows into one right-padded batch of ``3·B`` rows.

    Each row of the dataset has ``{group}_input_ids`` and ``{group}_loss_mask`` for group in forget, unknown, retain.
    The batch is ``input_ids``/``attention_mask``/``loss_mask`` of shape ``(3·B, L)`` with rows ``[0, B)`` forget,
    ``[B, 2B)`` unknown, ``[2B, 3B)`` retain, so the policy runs once per step. The pad id never matters: every mask is
    built from the lengths here, not from comparing ids with it.
    """

    pad_token_id: int = 0
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        sequences = [(row[f"{group}_input_ids"], row[f"{group}_loss_mask"]) for group in PAIRED_GROUPS for row in features]
        length = max(len(ids) for ids, _ in sequences)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids = torch.full((len(sequences), length), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(sequences), length), dtype=torch.long)
        loss_mask = torch.zeros((len(sequences), length), dtype=torch.long)
        for row, (ids, mask) in enumerate(sequences):
            input_ids[row, : len(ids)] = torch.as_tensor(ids)
            attention_mask[row, : len(ids)] = 1
            loss_mask[row, : len(mask)] = torch.as_tensor(mask)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "loss_mask": loss_mask}
