"""The monthly report budget (issue 14) over 1,000,000 incidents (run it with
`python -m benchmarks.report`; __main__ says what it measures)."""
