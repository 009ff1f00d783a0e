"""The audit log: append-only, hash-chained record of every view, export and change."""
