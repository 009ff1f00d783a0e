"""Importers turn a district's files into a directory Batch; they never write."""
