"""Board policy as code: the pack model, its loader and validators, and the 9052 pack."""
