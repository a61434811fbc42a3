"""Calibrated synthetic PRO-ACT download and PMS exports, in exactly the real file formats."""

from synthetic.generator import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
