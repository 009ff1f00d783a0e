"""People who sign in: accounts, roles, password hashes and sign-in throttling."""
