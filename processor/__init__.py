"""Receivables Collections: classify receivables by collection stage, plan, and write letters."""

__version__ = "0.1.0"
