"""Review of findings, cases and interventions, scoped to who is asking."""
