"""Wire types of the server API: auth tokens, uploads, job specs, job states and job views.

Shared by the server (``server/``) and the cloud client (``cloud/``). Pure pydantic, no numpy.
Every error body of the API is :class:`ErrorBody` (``{"code": "E503", "message": "..."}``),
the message in the language of the request's ``Accept-Language``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.schema.options import AudioFormat, MatchOptions

MAX_TARGETS = 50
MAX_REFERENCES = 10


class JobState(StrEnum):
    """Job state machine: queued -> running -> succeeded | failed | canceled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        """True for succeeded, failed and canceled."""
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED})


class ErrorBody(BaseModel):
    """Every API error: a stable code (``engine.schema.errors.ErrorCode``) and its wording."""

    code: str
    message: str


# --- auth -------------------------------------------------------------------------------


class TokenResponse(BaseModel):
    """OAuth2 token endpoint answer (password and refresh_token grants)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="access token lifetime in seconds")
    refresh_token: str


# --- uploads ------------------------------------------------------------------------------


class UploadFileRequest(BaseModel):
    """One file the client wants to upload; the server chooses the object key."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=255, description="original file name (only its extension is used)")
    size: int = Field(ge=1, description="size in bytes")


class UploadRequest(BaseModel):
    """``POST /uploads`` body."""

    model_config = ConfigDict(extra="forbid")
    files: list[UploadFileRequest] = Field(min_length=1, max_length=MAX_TARGETS + MAX_REFERENCES)


class UploadTarget(BaseModel):
    """Where to send one file: ``method`` to ``url``; for POST, ``fields`` form fields first."""

    key: str = Field(description="object key to name in POST /jobs")
    method: Literal["PUT", "POST"]
    url: str
    fields: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)


class TemporaryCredentials(BaseModel):
    """Short-lived storage credentials limited to upload actions under ``prefix``."""

    provider: Literal["s3", "cos"]
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    endpoint: str
    region: str
    bucket: str
    prefix: str


class UploadGrant(BaseModel):
    """``POST /uploads`` answer: one upload target per requested file, all under ``prefix``."""

    upload_id: str
    bucket: str
    prefix: str
    expires_at: datetime
    max_bytes: int
    files: list[UploadTarget]
    credentials: TemporaryCredentials | None = None


# --- jobs ---------------------------------------------------------------------------------


class JobSpec(BaseModel):
    """``POST /jobs`` body. Sources are object keys from ``POST /uploads`` (or signed URLs of
    this server's storage, which name such keys); anything else is refused."""

    model_config = ConfigDict(extra="forbid")
    targets: list[str] = Field(min_length=1, max_length=MAX_TARGETS)
    references: list[str] = Field(min_length=1, max_length=MAX_REFERENCES)
    options: MatchOptions = Field(default_factory=lambda: MatchOptions.model_validate({}))
    format: AudioFormat | None = Field(None, description="output format; None = like the target")
    name: str = Field("", max_length=200)


class JobError(BaseModel):
    """Why a job failed."""

    code: str
    message: str


class JobResult(BaseModel):
    """The committed outputs for one target (URLs are presigned and short-lived)."""

    target: str
    audio_key: str
    audio_url: str
    preset_url: str
    viz_url: str
    metrics: dict[str, float] = Field(default_factory=dict)
    audio_sha256: str | None = Field(None, description="SHA-256 of the audio file (hex)")


class JobView(BaseModel):
    """``GET /jobs/{id}``."""

    id: str
    state: JobState
    stage: str = ""
    progress: float = Field(0.0, ge=0, le=1)
    attempt: int = 0
    name: str = ""
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    spec: JobSpec
    error: JobError | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    results: list[JobResult] = Field(default_factory=list)


class JobAccepted(BaseModel):
    """``POST /jobs`` answer (202)."""

    id: str
    state: JobState


class JobList(BaseModel):
    """``GET /jobs``: newest first; pass ``next_cursor`` as ``cursor`` for the next page."""

    items: list[JobView]
    next_cursor: str | None = None


__all__ = [
    "MAX_REFERENCES",
    "MAX_TARGETS",
    "TERMINAL_STATES",
    "ErrorBody",
    "JobAccepted",
    "JobError",
    "JobList",
    "JobResult",
    "JobSpec",
    "JobState",
    "JobView",
    "TemporaryCredentials",
    "TokenResponse",
    "UploadFileRequest",
    "UploadGrant",
    "UploadRequest",
    "UploadTarget",
]
