"""Reports: one self-contained HTML file a board member can read."""
