"""Chaperone: Board Policy 9052 as code for a school district's electronic communication."""

__version__ = "0.1.0"
