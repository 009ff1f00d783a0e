"""The lake: communication records as date-partitioned Parquet, read by DuckDB (or Spark)."""
