"""Settings for `benchmarks.ingest`: the product's settings plus the benchmark's floor view.

The floor lives in benchmarks/urls.py so that the product's URLs never carry it.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
