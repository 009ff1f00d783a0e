"""Findings and cases as a reviewer sees them: the one door to identity, and reveals."""
