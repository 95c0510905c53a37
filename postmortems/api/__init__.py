"""The REST API of postmortems and action items."""
