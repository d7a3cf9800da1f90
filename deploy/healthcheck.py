#!/usr/bin/env python3
"""Container healthcheck: exit 0 when every URL given answers 2xx within the timeout.

Installed in the images as ``/usr/local/bin/audio-style-healthcheck`` (stdlib only, so it runs
in the API image without the DSP stack):

    audio-style-healthcheck http://127.0.0.1:8080/health
    audio-style-healthcheck http://127.0.0.1:9464/metrics        # worker
    audio-style-healthcheck --timeout 3 URL [URL ...]

With no URL it checks ``$HEALTHCHECK_URL`` (default: the API's ``/health`` on port 8080).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8080/health"


def check(url: str, timeout: float) -> str | None:
    """None when ``url`` answers 2xx, else a one-line reason."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (loopback URL)
            if 200 <= resp.status < 300:
                return None
            return f"{url}: HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        return f"{url}: HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{url}: {exc}"


def main(argv: list[str]) -> int:
    timeout = 4.0
    urls: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg == "--timeout":
            timeout = float(next(it, "4"))
        else:
            urls.append(arg)
    if not urls:
        urls = [os.environ.get("HEALTHCHECK_URL", DEFAULT_URL)]
    failures = [r for r in (check(u, timeout) for u in urls) if r]
    for reason in failures:
        print(f"unhealthy: {reason}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
