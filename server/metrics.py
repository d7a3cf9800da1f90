"""Job metrics shared by the API, the scheduler and the workers (the names, types, labels and
buckets are the contract with deploy/prometheus and the Grafana dashboard; see
deploy/README.md, "metrics"). Each transition is counted once, by the process that commits it,
after the commit."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOBS_TOTAL = Counter(
    "audio_style_jobs_total",
    "Job transitions into each state, counted by the process that commits them",
    ["state"],
)
JOB_DURATION = Histogram(
    "audio_style_job_duration_seconds",
    "Time from running to a terminal state",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400),
)


def job_finished(state: str, started_at: float | None, finished_at: float | None) -> None:
    """Count a job reaching ``state`` and observe its duration."""
    JOBS_TOTAL.labels(state=state).inc()
    if started_at is not None and finished_at is not None:
        JOB_DURATION.observe(max(0.0, finished_at - started_at))
