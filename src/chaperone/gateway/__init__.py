"""The gateway: Policy 9052 at the district's Postfix, before delivery."""
