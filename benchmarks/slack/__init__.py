"""The Slack budgets (issue 12), against the local Slack stub (run them with
`python -m benchmarks.slack`; __main__ says what it measures)."""
