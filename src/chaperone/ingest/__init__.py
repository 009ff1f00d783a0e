"""Ingest: every communication silo into normalized records, with nothing lost."""
