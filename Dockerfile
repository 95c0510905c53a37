# One image for every Tocsin process: web (the default command), migrate, worker and beat.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TOCSIN_DATA_DIR=/var/lib/tocsin

RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /app tocsin \
    && install -d -o tocsin -g tocsin "$TOCSIN_DATA_DIR"

WORKDIR /app

# Dependencies before the code, so a code change reuses this layer; constraints.txt pins the
# whole production set (`make lock`).
COPY pyproject.toml README.md constraints.txt ./
RUN pip install -c constraints.txt .

COPY . .

USER tocsin
# Static files are built into the image and served by WhiteNoise from DATA_DIR/static.
RUN python manage.py collectstatic --noinput --verbosity 0

EXPOSE 8000
# Liveness only; docker-compose.yml checks readiness (/readyz) for web and pings worker and beat.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "config.wsgi", "--config", "python:config.gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", \
     "--access-logfile", "-", "--no-control-socket"]
