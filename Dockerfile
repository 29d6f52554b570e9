# syntax=docker/dockerfile:1
# rls-bot: the Telegram bot with its curated content and trained models baked in.
#   docker build -t rls-bot .                      the default image (just under 250 MB, no shell)
#   docker build --target full -t rls-bot:full .   python:3.11-slim with a shell and the training
#                                                  and readability libraries, for a CONTENT_DIR
#                                                  other than the bundled one (about 770 MB)
# Run: docker run -e BOT_TOKEN=... -e DIARY_KEY=... -v rls-data:/data rls-bot  (rls-bot diary-key makes a key)
# Versions come from requirements.lock (scripts/update-lock), as in CI.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: the venv from the lock file, and the models trained for the bundled content -----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 RLS_BOT_CACHE=/opt/rls-bot/models HF_HUB_OFFLINE=1
WORKDIR /src
COPY requirements.lock pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY content ./content
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile --constraint requirements.lock . \
    && /opt/venv/bin/rls-bot check-content \
    && /opt/venv/bin/rls-bot ask "what foods have magnesium" > /dev/null \
    && chmod -R a+rX "$RLS_BOT_CACHE"

# -- slim: the default image's whole file system, assembled and checked (docker/slim-runtime.sh) ---
FROM build AS slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*
COPY docker/slim-runtime.sh /usr/local/bin/
RUN slim-runtime.sh

# -- full: python:3.11-slim with everything, able to retrain for other content ---------------------
FROM ${PYTHON_IMAGE} AS full
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RLS_BOT_CACHE=/opt/rls-bot/models \
    HF_HUB_OFFLINE=1 \
    DATA_DIR=/data \
    PORT=8080 \
    HEALTH_PORT=8080
RUN groupadd --system --gid 10001 rls \
    && useradd --system --uid 10001 --gid rls --home-dir /data --no-create-home rls \
    && mkdir -p /data && chown rls:rls /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/rls-bot /opt/rls-bot
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["rls-bot", "run"]

# -- runtime (the default): only what `rls-bot run` needs, FROM scratch ---------------------------
FROM scratch AS runtime
COPY --from=slim /rootfs /
ENV PATH=/opt/venv/bin:/usr/local/bin \
    LANG=C.UTF-8 \
    HOME=/data \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RLS_BOT_CACHE=/opt/rls-bot/models \
    HF_HUB_OFFLINE=1 \
    DATA_DIR=/data \
    PORT=8080 \
    HEALTH_PORT=8080
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /healthz is served on PORT in webhook mode and on HEALTH_PORT in polling mode (both 8080 here).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["rls-bot", "run"]
