"""Telephone survey capture for a police Research Bureau."""

__version__ = "0.1.0"
