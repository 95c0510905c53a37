from statuspage import admin_subscribers  # noqa: F401
