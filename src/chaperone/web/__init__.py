"""The web application: review, cases, directory, registry and the audit log."""
