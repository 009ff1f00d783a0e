"""Exceptions: time-limited, audited permissions a compliance officer grants."""
