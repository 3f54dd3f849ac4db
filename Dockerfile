# syntax=docker/dockerfile:1
#
# IT Liaison Bot as a container: a wheel built in one stage, installed into a virtual
# environment in a slim final stage that runs as a non-root user.
#
#   docker build -t it-liaison-bot .
#   docker run --rm -p 3000:3000 -v liaison-data:/data \
#       -v "$PWD/liaison.toml:/config/liaison.toml:ro" --env-file .env it-liaison-bot
#
# Configuration is by environment only (see README, "Configuration"): DATABASE_URL, PORT,
# LIAISON_CONFIG, PUBLIC_URL, LOG_LEVEL, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
# SLACK_APP_TOKEN, SLACK_API_URL, MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD,
# MICROSOFT_APP_TYPE and MICROSOFT_APP_TENANT_ID. Secrets belong in the environment
# (--env-file, a secret store), never in the image.
#
# scripts/image-install-check.sh runs the same commands as these stages without Docker, and
# tests/e2e/test_image_install.py runs that script.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: one pure-Python wheel; the migrations and playbooks travel inside it ----------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY schedules ./schedules
COPY storage ./storage
RUN pip wheel --no-deps --wheel-dir /wheels .

# ---- runtime: a fresh virtual environment with the wheel and its dependencies -------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="IT Liaison Bot" \
      org.opencontainers.image.description="A Slack and Microsoft Teams bot that helps IT partner with business units." \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# A fixed numeric id, so that orchestrators can check runAsNonRoot without a name lookup.
RUN groupadd --system --gid 10001 liaison \
    && useradd --system --uid 10001 --gid liaison --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin liaison \
    && mkdir -p /app /config /data \
    && chown liaison:liaison /data

# The wheel is mounted from the build stage, not copied, so it leaves no layer behind.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/venv \
    && /opt/venv/bin/pip install /wheels/*.whl

# Defaults that suit a container. Any of them can be overridden with -e or an env file.
# Without DATABASE_URL the bot keeps its SQLite file on the /data volume: that is enough for
# one replica. For several replicas, set DATABASE_URL to PostgreSQL (see docker-compose.yml).
# The organisation file is ./liaison.toml of the working directory, /config: mount it at
# /config/liaison.toml. Without it the bot runs with built-in defaults. (LIAISON_CONFIG, when
# set, must name a file that exists: a missing file named on purpose is an error.)
ENV DATABASE_URL=sqlite:////data/liaison.db \
    SPOOL_PATH=/data/liaison-spool.jsonl \
    HOST=0.0.0.0 \
    PORT=3000

WORKDIR /config
VOLUME ["/data"]
USER 10001:10001
EXPOSE 3000

# Liveness: /healthz answers 200 while the server runs. Slim images have no curl, so Python's
# urllib asks; any connection error or non-2xx status makes the check fail.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

# Migrations run on start: `serve` applies them (Alembic, up to head) before it listens, so
# no wrapper script (`liaison-bot db upgrade && liaison-bot serve`) is needed, and the exec
# form keeps the bot as PID 1, where it receives SIGTERM from `docker stop` directly.
# With several replicas on one PostgreSQL database, run the migrations once before starting
# or upgrading them, as a release step:
#   docker compose run --rm bot liaison-bot db upgrade
# (or a Kubernetes Job or init container), so that replicas do not all migrate at once.
CMD ["liaison-bot", "serve"]
