"""Widgets only: they show controller state and forward user intent; no engine calls."""
