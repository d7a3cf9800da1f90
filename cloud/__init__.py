"""audio-style cloud client: the desktop's and the CLI's way to offload matching to a server.

No Qt, nothing from ``app`` or ``server`` (import-linter). The public API is
:class:`cloud.client.CloudClient` (session, uploads, jobs, downloads, with progress callbacks)
and :func:`cloud.client.match_in_cloud` (an engine-style progress generator); errors are
``engine.schema.errors.AudioStyleError`` (:class:`cloud.http.CloudError`).
"""

from __future__ import annotations

__all__ = ["CloudClient", "CloudError", "PollPolicy", "TransferProgress", "match_in_cloud"]


def __getattr__(name: str) -> object:  # lazy: `audio-style --help` need not import httpx
    if name in ("CloudClient", "PollPolicy", "TransferProgress", "match_in_cloud"):
        from cloud import client

        return getattr(client, name)
    if name == "CloudError":
        from cloud.http import CloudError

        return CloudError
    raise AttributeError(name)
