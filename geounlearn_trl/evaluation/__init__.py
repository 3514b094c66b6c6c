"""Measurement: scoring, answers, summaries, familiarity, report and plots, lm-eval tasks."""
