"""Reusable widgets: attributes down, messages up."""
