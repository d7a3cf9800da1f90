"""Tencent Cloud STS ``GetFederationToken`` (API 3.0, TC3-HMAC-SHA256 signing) for COS uploads.

The policy allows upload actions only, on ``<bucket>/<prefix>*`` only, and caps simple uploads
by ``cos:content-length`` (a per-request condition: multipart totals are enforced by the API's
HEAD check before a job is accepted). Lifetime: the SDK default 1800 s (max 7200 s).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

API_VERSION = "2018-08-13"
UPLOAD_ACTIONS = [
    "name/cos:InitiateMultipartUpload",
    "name/cos:ListMultipartUploads",
    "name/cos:ListParts",
    "name/cos:UploadPart",
    "name/cos:CompleteMultipartUpload",
    "name/cos:AbortMultipartUpload",
]


def cos_upload_policy(
    region: str, appid: str, bucket: str, prefix: str, max_bytes: int
) -> dict[str, Any]:
    """CAM policy: PutObject/PostObject capped by size, multipart actions, one prefix."""
    uid = appid or bucket.rsplit("-", 1)[-1]
    resource = f"qcs::cos:{region}:uid/{uid}:{bucket}/{prefix}*"
    return {
        "version": "2.0",
        "statement": [
            {
                "effect": "allow",
                "action": ["name/cos:PutObject", "name/cos:PostObject"],
                "resource": [resource],
                "condition": {"numeric_less_than_equal": {"cos:content-length": max_bytes}},
            },
            {"effect": "allow", "action": list(UPLOAD_ACTIONS), "resource": [resource]},
        ],
    }


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_headers(
    secret_id: str,
    secret_key: str,
    endpoint: str,
    service: str,
    action: str,
    region: str,
    payload: str,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Headers of a signed Tencent Cloud API 3.0 POST (TC3-HMAC-SHA256)."""
    ts = int(time.time()) if timestamp is None else timestamp
    host = urlsplit(endpoint).netloc
    date = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
    ctype = "application/json; charset=utf-8"
    signed = "content-type;host;x-tc-action"
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{ctype}\nhost:{host}\nx-tc-action:{action.lower()}\n",
            signed,
            hashlib.sha256(payload.encode()).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(ts), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    k = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Authorization": (
            f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
            f"SignedHeaders={signed}, Signature={sig}"
        ),
        "Content-Type": ctype,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Timestamp": str(ts),
        "X-TC-Version": API_VERSION,
        "X-TC-Region": region,
    }


def get_federation_token(
    secret_id: str,
    secret_key: str,
    region: str,
    policy: dict[str, Any],
    duration_s: int,
    *,
    endpoint: str = "https://sts.tencentcloudapi.com",
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Call STS; returns ``{"tmp_secret_id", "tmp_secret_key", "token", "expired_time"}``."""
    body = json.dumps(
        {
            "Name": "audio-style-upload",
            "Policy": quote(json.dumps(policy, separators=(",", ":")), safe=""),
            "DurationSeconds": max(900, min(7200, duration_s)),
        },
        separators=(",", ":"),
    )
    headers = tc3_headers(
        secret_id, secret_key, endpoint, "sts", "GetFederationToken", region, body
    )
    with httpx.Client(transport=transport, timeout=10.0) as client:
        r = client.post(endpoint, content=body.encode(), headers=headers)
    r.raise_for_status()
    resp = r.json().get("Response", {})
    if "Error" in resp:
        raise RuntimeError(f"STS error {resp['Error'].get('Code')}: {resp['Error'].get('Message')}")
    c = resp["Credentials"]
    return {
        "tmp_secret_id": str(c["TmpSecretId"]),
        "tmp_secret_key": str(c["TmpSecretKey"]),
        "token": str(c["Token"]),
        "expired_time": int(resp["ExpiredTime"]),
    }
