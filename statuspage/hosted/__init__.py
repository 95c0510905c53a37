"""Push public incidents to a hosted Atlassian Statuspage (issue 15, item 8): services.py
queues and sends, client.py speaks its REST API, checks.py refuses half a configuration."""
