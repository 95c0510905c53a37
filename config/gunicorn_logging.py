"""gunicorn's logger, with the tokens of secret-bearing paths taken out of its lines.

gunicorn writes its access log (and its error log: "Error handling request <path>") through
its own handlers, which our LOGGING settings never see; the request line, the path and the
Referer of an access line would otherwise show a feed's, an ack link's or a webhook's token.
config/gunicorn.py names it; start gunicorn with `--config python:config.gunicorn`.
"""

from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from ops.logging import RedactingFilter


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn has no type hints
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # On the loggers, not their handlers: whatever access_log_format or logconfig an
        # operator chooses, every line passes through it. setup() runs again on reload.
        for log in (self.access_log, self.error_log):
            if not any(isinstance(existing, RedactingFilter) for existing in log.filters):
                log.addFilter(RedactingFilter())
