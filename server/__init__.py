"""audio-style server: API, scheduler and workers (PostgreSQL/SQLite, RabbitMQ/in-process,
S3/MinIO/COS/local storage). See docs/architecture.md, section ``server/``."""
