"""Selective relabeling ("Who's Harry Potter"): anchor dictionaries (``anchors``), anchor extraction (``extraction``),
generic labels from base vs reinforced logits (``relabel``, with the reinforced model in ``reinforced_model``), the
commands' arguments (``arguments``) and the reinforce → relabel → selective pipeline as functions (``pipeline``). The
trainer is :class:`geounlearn_trl.methods.selective_relabel.SelectiveRelabelTrainer`."""
