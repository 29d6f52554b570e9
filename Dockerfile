# syntax=docker/dockerfile:1
# rls-bot: the Telegram bot with its curated content baked in. Build: docker build -t rls-bot .
# Run: docker run -e BOT_TOKEN=... -e DIARY_KEY=... -v rls-data:/data rls-bot  (rls-bot diary-key makes a key)

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY content ./content
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile . \
    && /opt/venv/bin/rls-bot check-content

FROM python:3.12-slim
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/data \
    PORT=8080 \
    HEALTH_PORT=8080
RUN groupadd --system --gid 10001 rls \
    && useradd --system --uid 10001 --gid rls --home-dir /data --no-create-home rls \
    && mkdir -p /data && chown rls:rls /data
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /healthz is served on PORT in webhook mode and on HEALTH_PORT in polling mode (both 8080 here).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["rls-bot", "run"]
