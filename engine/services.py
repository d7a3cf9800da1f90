"""Streaming services' loudness normalisation and delivery codecs: the one data table.

Source: each service's own published guidance, as summarised by the services' artist/help
pages and the AES TD1008 "Recommendations for loudness of internet audio streaming and
on-demand distribution" (2021): Spotify for Artists "Loudness normalization" (-14 LUFS,
positive gain only as far as the peak allows -1 dBTP; Ogg Vorbis ~320 kb/s "Very high" in
its apps, AAC 256 kb/s in the web player: the check uses AAC 256, because the only Vorbis
encoder in PyAV's wheel is FFmpeg's own experimental one, whose overshoot is far from
libvorbis's and would misstate the result),
Apple Music Sound Check (-16 LUFS, AAC 256 kb/s), YouTube (-14 LUFS, turned down only;
Opus ~160 kb/s, itag 251), TIDAL (-14 LUFS, turned down only; AAC 320 kb/s "High"),
Amazon Music (-14 LUFS, turned down only; AAC ~256 kb/s on the standard tier), SoundCloud
(no loudness normalisation; AAC 160 kb/s HLS), Deezer (-15 LUFS, turned down only; MP3
320 kb/s). Reviewed 2026-12; services change these without notice, so the table is data,
not logic: edit it here and every report follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["SERVICES", "Service", "service_gain_db"]

TABLE_SOURCE: Final = (
    "services' published normalisation guidance (Spotify for Artists, Apple Sound Check, "
    "YouTube Help, TIDAL, Amazon Music, SoundCloud, Deezer) and AES TD1008; reviewed 2026-12"
)


@dataclass(frozen=True)
class Service:
    """One service's playback normalisation and delivery codec."""

    key: str  # CLI name: --platform spotify
    label: str
    target_lufs: float | None  # None: no loudness normalisation
    turns_up: bool  # whether quiet masters are turned up, not only loud ones down
    up_peak_limit_dbtp: float | None  # positive gain stops where the true peak reaches this
    codec: str  # engine.codecs.CODECS key of what the listener receives


SERVICES: Final[tuple[Service, ...]] = (
    Service("spotify", "Spotify", -14.0, True, -1.0, "aac-256"),
    Service("apple", "Apple Music", -16.0, True, -1.0, "aac-256"),
    Service("youtube", "YouTube", -14.0, False, None, "opus-160"),
    Service("tidal", "TIDAL", -14.0, False, None, "aac-320"),
    Service("amazon", "Amazon Music", -14.0, False, None, "aac-256"),
    Service("soundcloud", "SoundCloud", None, False, None, "aac-160"),
    Service("deezer", "Deezer", -15.0, False, None, "mp3-320"),
)


def service_gain_db(service: Service, lufs: float, true_peak_dbtp: float) -> float:
    """The gain (dB) ``service`` applies at playback to a master of ``lufs`` / ``true_peak``.

    Parameters
    ----------
    service : Service
        The service.
    lufs : float
        Integrated loudness of the master (ITU-R BS.1770-4).
    true_peak_dbtp : float
        Its true peak (BS.1770-4 Annex 2).

    Returns
    -------
    float
        ``target - lufs``, 0 for a service without normalisation, never positive for one
        that only turns down, and capped so the true peak stays at ``up_peak_limit_dbtp``.
    """
    if service.target_lufs is None:
        return 0.0
    gain = service.target_lufs - lufs
    if gain <= 0.0:
        return gain
    if not service.turns_up:
        return 0.0
    if service.up_peak_limit_dbtp is not None:
        gain = min(gain, max(0.0, service.up_peak_limit_dbtp - true_peak_dbtp))
    return gain
