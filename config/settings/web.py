"""The web stack: apps, middleware (for browsers, for /hooks/ and for the public status page),
templates, static files, the API, security headers and sign-in."""

import os

from django.utils.csp import CSP

from config.settings.backends import DATABASES
from config.settings.environment import BASE_DIR, DATA_DIR, DEBUG, PRODUCTION, env_bool

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    # Sign-in lockout, counted in the database (see the sign-in block below).
    "axes",
    "accounts",
    "incidents",
    "alerts",
    "oncall",
    "chatops",
    "postmortems",
    "reports",
    "statuspage",
    "ops",
    # The audit trail of configuration changes: django-auditlog's table, filled and read by audit.
    "auditlog",
    "audit",
    "demo",
]

MIDDLEWARE = [
    "ops.middleware.RequestMetricsMiddleware",
    # Before anything that validates the Host header: probes come by pod or container address.
    "ops.probes.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ops.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.ViewerTimezoneMiddleware",
    # After authentication: audit entries written during the request name its user.
    "audit.actors.AuditActorMiddleware",
]

# For /hooks/ (see config/wsgi.py): requests from machines need none of the browser's middleware.
MACHINE_MIDDLEWARE = [
    "ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ops.middleware.BodySizeLimitMiddleware",
    # Sets Content-Length, without which gunicorn answers chunked (or closes the connection).
    "django.middleware.common.CommonMiddleware",
]

# For the public status page's reads (see config/wsgi.py): nobody signs in there, and a page
# that reads no session, sets no cookie and varies on no cookie is one every proxy may cache.
# The browser's security headers stay (CSP, frame and content-type options).
PUBLIC_MIDDLEWARE = [
    "ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ops.middleware.BodySizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Django's `date` and `time` filters, safe for times the viewer's zone cannot hold.
            "builtins": ["ops.templatetags.viewer_time", "ops.templatetags.links"],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "incidents:list"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The organisation's zone (IANA): when an action item's due date ends, when reminders go out,
# which month an incident counts in. Storage is UTC whatever this says.
ORGANISATION_TIME_ZONE = os.environ.get("ORGANISATION_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "ops.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "ops.api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "ops.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Tocsin API",
    "DESCRIPTION": (
        "Incidents, their timeline, integrations, schedules and the people who run them.\n\n"
        "Every error is an RFC 9457 problem details body (`application/problem+json`); a 400 "
        "names each invalid field in `errors`. Inputs refuse fields they do not know and values "
        "of another JSON type, and text may not hold NUL characters or unpaired surrogates "
        "(PostgreSQL cannot store them)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Tags and operation ids come from the path after this, e.g. "incidents".
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Two choice sets are both called `role` (a person's access role, an incident role) and two
    # `kind` (a timeline entry's, an integration's); the audit trail's would be a bare
    # `ActionEnum` and `ObjectTypeEnum`.
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.models.Role",
        "IncidentRoleEnum": "incidents.models.RoleKind",
        # An incident's status, and the expected_status of its changes: one enum, one name.
        "StatusEnum": "incidents.models.Status",
        "IntegrationKindEnum": "alerts.models.IntegrationKind",
        "AuditActionEnum": "audit.api.serializers.ACTION_NAMES",
        "AuditObjectTypeEnum": "audit.api.serializers.OBJECT_TYPES",
        # A postmortem's and an action item's status, and an action item's kind.
        "PostmortemStatusEnum": "postmortems.models.PostmortemStatus",
        "ActionItemStatusEnum": "postmortems.models.ActionItemStatus",
        "ActionItemKindEnum": "postmortems.models.ActionItemKind",
    },
}

# Largest request body accepted anywhere; larger ones get 413 before any view runs.
MAX_REQUEST_BODY_BYTES = int(os.environ.get("MAX_REQUEST_BODY_BYTES", str(512 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Sign-in lockout (accounts/lockout.py, django-axes with its database handler: no Redis).
# A (username, address) pair is locked after LOGIN_RATE_LIMIT failed sign-ins, an address after
# LOGIN_ADDRESS_RATE_LIMIT whatever the usernames; a lock ends LOGIN_RATE_WINDOW seconds after
# the last failure it counted, and signing in clears the pair's count.
LOGIN_RATE_LIMIT = int(os.environ.get("LOGIN_RATE_LIMIT", "10"))
LOGIN_ADDRESS_RATE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "100"))
LOGIN_RATE_WINDOW = int(os.environ.get("LOGIN_RATE_WINDOW", "300"))
# How many proxies in front of Tocsin append to X-Forwarded-For. 0 trusts no header and takes
# the client address from the connection; N takes the N-th address from the right.
TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked sign-in before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "accounts.lockout.SignInLockout"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = "accounts.lockout.failure_limit"
AXES_COOLOFF_TIME = "accounts.lockout.lockout_window"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.lockout_address"
AXES_RESET_ON_SUCCESS = True
# Attempts while locked are refused uncounted, so a lock ends on time however often it is hit.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Successful sign-ins are not logged to a table that would grow for ever, and no process logs
# axes' banner at start; failures and locks are still logged, names and addresses masked.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# Sessions live in the database, never in the cache: Redis down must not sign anybody out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# The sign-in forms show the lock as a form error (accounts/forms.py), so axes' middleware,
# which would replace the page with its own, is left out.
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The covering columns (INCLUDE) of PostgreSQL's indexes, which SQLite builds without them.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
