"""Loco: a terminal workbench for orchestrating several local LLMs at once."""

__version__ = "0.1.0"
