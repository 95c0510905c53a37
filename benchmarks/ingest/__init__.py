"""The ingestion budget: the Alertmanager webhook against a one-row-insert floor (run it with
`python -m benchmarks.ingest`; __main__ says what it measures)."""
