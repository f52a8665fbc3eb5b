# mmsc in a container: `docker compose up` (see docker-compose.yml) runs a cluster of two nodes
# on PostgreSQL and MinIO.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mmsc ./mmsc
COPY adaptation ./adaptation
COPY wap_push ./wap_push
COPY web_viewer ./web_viewer
COPY fixtures/uaprof ./fixtures/uaprof
RUN pip install --no-cache-dir .
ENV MMSC_HTTP_HOST=0.0.0.0 MMSC_ADAPTATION_PROFILES=/app/fixtures/uaprof
EXPOSE 8080 2775 2525
CMD ["mmsc", "serve"]
