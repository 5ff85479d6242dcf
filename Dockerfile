# opsbot's image: `docker build -t opsbot .`, then `docker run --env-file .env -p 3000:3000 opsbot`
# (or docker-compose.yml, with PostgreSQL, Prometheus and Alertmanager). Settings: .env.example.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The package alone is installed (migrations and the bundled articles are package data); the
# sources are not kept in the image.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY handlers/ handlers/
COPY knowledge_base/ knowledge_base/
COPY storage/ storage/
COPY slack_standin/ slack_standin/
RUN pip install . && rm -rf /src

# A user of its own, no login, no root: the bot only needs its data folder (SQLite when
# DATABASE_URL is not PostgreSQL) and, with an auto-fix runbook, the commands it names.
RUN groupadd --system --gid 10001 opsbot \
    && useradd --system --uid 10001 --gid opsbot --home-dir /app --shell /usr/sbin/nologin opsbot \
    && mkdir -p /app/data && chown -R opsbot:opsbot /app
WORKDIR /app
VOLUME ["/app/data"]
USER opsbot:opsbot

ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000

# Healthy means a write can commit now (/healthz answers 503 otherwise). No curl in the slim
# image: Python's urllib, without any proxy from the environment.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"

CMD ["python", "-m", "bot"]
