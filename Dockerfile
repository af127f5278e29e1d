# The groundswell engine image: the HTTP API, the CLI, the relay and the projectors.
FROM python:3.11-slim

WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml README.md ./
COPY domain ./domain
COPY projections ./projections
COPY consumers ./consumers
COPY schemas ./schemas
COPY groundswell ./groundswell
RUN pip install --no-cache-dir .

USER nobody
EXPOSE 8000
ENTRYPOINT ["groundswell"]
CMD ["--help"]
