# One image for api, worker and scheduler (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY marketsync ./marketsync
COPY migrations ./migrations
COPY schema.graphql ./
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH"
EXPOSE 8000
CMD ["marketsync", "serve", "--host", "0.0.0.0", "--port", "8000"]
