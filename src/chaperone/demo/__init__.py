"""Sample data for demonstrations and tests."""
