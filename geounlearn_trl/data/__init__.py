"""Data: MCQ sets, language packs, retain sets, target text, tokenised unlearning rows and their collator."""
