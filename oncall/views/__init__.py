"""On call's pages, a module per area. Inbound machine endpoints live in oncall.hooks."""
