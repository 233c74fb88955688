"""Lifecycle, decision reports, archive and portfolio summaries (docs/lifecycle.md)."""
