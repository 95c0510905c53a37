"""Settings come from the environment; the defaults run the embedded setup of `make run`.

Django reads them as this package's names. Each module holds one subject and imports what it
builds on from the others by name (BASE_DIR, PRODUCTION, DATABASES…), so the order below is
only isort's.
"""

# Star imports: every UPPERCASE name of each module is a setting, and Django, django-stubs and
# config/test_settings.py read them here; listing some 250 names a second time would only drift.
from config.settings.backends import *  # noqa: F403
from config.settings.domain import *  # noqa: F403
from config.settings.environment import *  # noqa: F403
from config.settings.notifications import *  # noqa: F403
from config.settings.observability import *  # noqa: F403
from config.settings.web import *  # noqa: F403
