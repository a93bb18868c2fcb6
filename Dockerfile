# syntax=docker/dockerfile:1.7
# Multi-stage: build wheels of the locked dependencies, then a slim runtime image as non-root.

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-virtualenv -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install --require-virtualenv --no-deps .

FROM python:3.11.14-slim-bookworm AS runtime
# Pango (text layout) for WeasyPrint's PDF documents (issue 16); the fonts ship with the package.
# HarfBuzz's subsetter embeds only the glyphs used; without it WeasyPrint falls back to fontTools
# (pure Python, a warning at each PDF, a tenth of a fiche's time).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    REGLEMENTS_DIR=/srv/reglements \
    DATABASE_URL=sqlite+aiosqlite:////srv/var/journal.db \
    PROMETHEUS_MULTIPROC_DIR=/tmp/eg-metriques
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --home-dir /srv --shell /usr/sbin/nologin gateway
COPY --from=build /opt/venv /opt/venv
# The shipped règlements are defaults: mount the organismes' own over /srv/reglements (compose does).
COPY --chown=gateway:gateway reglements /srv/reglements
# The embedded journal (when DATABASE_URL is not overridden) lives in a writable, mountable folder.
# /tmp/eg-metriques: prometheus_client's multi-process directory, so that /metrics adds up every
# worker's counts (`serve` empties it before the workers start).
RUN mkdir -p /srv/var /tmp/eg-metriques && chown gateway:gateway /srv/var /tmp/eg-metriques
VOLUME ["/srv/var", "/srv/reglements"]
WORKDIR /srv
USER gateway
EXPOSE 8000
# Ready = this replica can record decisions (/readyz: 503 only when the journal is down).
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/readyz', timeout=2)"
# Alone, the image migrates its journal at start-up (workers take a lock); docker-compose.yml runs
# `python -m app db upgrade` once instead and sets DATABASE_AUTO_MIGRATE=false.
CMD ["python", "-m", "app", "serve", "--workers", "2"]
