# oncall-bot: the Slack bot in a small image. Build: docker build -t oncall-bot .
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE manifest.yaml oncall.example.toml ./
COPY app ./app
# With the postgres extra (psycopg 3, its own libpq): one image for SQLite and for replicas on PostgreSQL.
RUN pip install ".[postgres]" && rm -rf /src

# An unprivileged user owns only /data (the SQLite cache); the teams file is mounted read-only.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin oncall \
    && mkdir -p /data /config && chown oncall /data
USER 10001
WORKDIR /data
VOLUME ["/data"]

ENV DATABASE_URL=sqlite:////data/oncall.db \
    ONCALL_CONFIG=/config/oncall.toml \
    HEALTH_ADDR=0.0.0.0:8080 \
    LOG_FORMAT=json
EXPOSE 8080

# /healthz answers while the process is alive; python is in the image, curl is not.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('HEALTH_ADDR', ':8080').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

ENTRYPOINT ["oncall-bot"]
CMD ["run"]
