"""Acknowledgment campaigns (Policy 9052 §D): notices, private links, paper records."""
