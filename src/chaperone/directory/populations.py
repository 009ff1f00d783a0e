"""The populations of Policy 9052 §D: who a person is to the district."""

from __future__ import annotations

POPULATIONS = ("staff", "student", "parent", "vendor", "volunteer", "contractor")
