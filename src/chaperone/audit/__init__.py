"""Audit: the directory, the registry and the lake, judged by the policy pack's rules."""
