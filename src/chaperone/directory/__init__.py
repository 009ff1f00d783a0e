"""The directory: people, their populations, orgs, accounts and guardian links."""
