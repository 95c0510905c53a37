"""A PostgreSQL backend whose waits for the server are bounded (ENGINE "ops.postgresql")."""

# How much longer than the statement timeout the client waits before it gives up on the
# server: the server's own cancel must come first whenever the server is alive.
READ_TIMEOUT_MARGIN = 1.0


def timeout_options(statement_timeout: float) -> dict[str, float]:
    """The backend's OPTIONS for a statement timeout in seconds (0: none, nor a deadline)."""
    return {
        "statement_timeout": statement_timeout,
        "read_timeout": statement_timeout + READ_TIMEOUT_MARGIN if statement_timeout else 0,
    }
