"""Does an object look like audio? Signatures of the containers the engine decodes."""

from __future__ import annotations

HEAD_BYTES = 64


def looks_like_audio(head: bytes) -> bool:
    """True for WAV/RF64/BW64/W64, AIFF/AIFC, FLAC, Ogg, MP3 (ID3 or frame sync), CAF,
    MP4/M4A (``ftyp``), ASF/WMA and ADTS AAC (the engine reads the last three with PyAV)."""
    if len(head) < 12:
        return False
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return True
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return True
    if head[:4] in (b"fLaC", b"OggS", b"caff"):
        return True
    if head[:16] == bytes.fromhex("726966662e91cf11a5d628db04c10000"):  # Sony Wave64
        return True
    if head[:3] == b"ID3" or head[4:8] == b"ftyp":
        return True
    if head[:16] == bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"):  # ASF (WMA)
        return True
    if head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:  # ADTS: 12 sync bits, layer 00
        return True
    # MPEG audio frame sync: 11 set bits, a valid layer and bitrate index
    b0, b1, b2 = head[0], head[1], head[2]
    return b0 == 0xFF and (b1 & 0xE0) == 0xE0 and (b1 & 0x06) != 0 and (b2 & 0xF0) != 0xF0


ALLOWED_EXTENSIONS = (
    *("wav", "flac", "aif", "aiff", "ogg", "mp3", "w64", "caf", "rf64", "bwf"),
    *("m4a", "mp4", "aac", "opus", "wma"),
)
