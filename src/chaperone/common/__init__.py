"""Pieces every stage shares: located problems, CSV and YAML readers."""
