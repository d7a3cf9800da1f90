"""``audio-style qc`` and the delivery/suitability lines of ``match`` (texts in cli_text)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.cli_text import T
from engine.schema.delivery import DeliveryReport, ReferenceSuitability
from engine.services import SERVICES

EXIT_CHECK_FAILED = 1


def add_qc(sub: Any) -> None:
    """Register ``qc FILE [--json] [--platform NAME]... [--strict]``."""
    names = ", ".join(s.key for s in SERVICES)
    p = sub.add_parser("qc", help=T("cmd_qc"), description=T("cmd_qc"))
    p.add_argument("file", help=T("file"))
    p.add_argument("--json", action="store_true", help=T("json"))
    p.add_argument(
        "--platform", action="append", default=[], metavar="NAME", help=T("platform", names=names)
    )
    p.add_argument("--strict", action="store_true", help=T("strict"))
    p.set_defaults(func=cmd_qc)


def cmd_qc(args: argparse.Namespace) -> int:
    from engine.delivery import delivery_report, select_services
    from engine.io import read_audio

    services = select_services(args.platform)
    x, sr = read_audio(args.file)
    report = delivery_report(x, sr, services)
    if args.json:
        doc = {"file": args.file, **report.model_dump(), "passed": report.passed}
        print(json.dumps(doc, indent=1, ensure_ascii=False))
    else:
        print_report(args.file, report)
    return EXIT_CHECK_FAILED if args.strict and not report.passed else 0


def _verdict(ok: bool) -> str:
    return T("qc_ok") if ok else T("qc_fail")


def print_report(name: str, r: DeliveryReport) -> None:
    """The qc table on stdout."""
    print(T("qc_head", file=name, lufs=r.integrated_lufs, tp=r.true_peak_dbtp))
    print(T("qc_cols"))
    for s in r.services:
        target = T("qc_none") if s.target_lufs is None else f"{s.target_lufs:.1f} LUFS"
        print(
            f"{s.label:15s} {target:13s} {s.gain_db:+5.1f} dB  {s.playback_lufs:6.1f} LUFS"
            f"  {s.codec:11s} {s.codec_true_peak_dbtp:6.2f} dBTP  {_verdict(s.passed)}"
        )
    c = r.checks
    cancel = ", ".join(f"{f:g} Hz" for f in r.mono.cancelling_hz) or T("qc_none")
    rows = [
        (T("qc_tp"), f"{r.true_peak_dbtp:.2f} dBTP", c["true_peak"]),
        (T("qc_isp"), str(r.inter_sample_overs), c["inter_sample_overs"]),
        (T("qc_mono"), f"{r.mono.loss_db:+.2f} dB", c["mono_fold"]),
        (T("qc_cancel"), cancel, not r.mono.cancelling_hz),
        (T("qc_corr"), f"{r.min_correlation:.2f}", c["correlation"]),
        (T("qc_clip"), str(r.clipped_samples), c["clipping"]),
        (T("qc_dc"), f"{r.dc_offset_dbfs:.1f} dBFS", c["dc_offset"]),
    ]
    for label, value, ok in rows:
        print(f"{label:36s} {value:16s} {_verdict(ok)}")
    failed = [k for k, ok in c.items() if not ok]
    if failed:
        print(T("qc_summary_fail", n=len(failed), names=", ".join(failed)))
    else:
        print(T("qc_summary_ok"))
    print(T("qc_source", source=r.source))


def trust_line(s: ReferenceSuitability) -> str:
    """One line: how much of each aspect of the reference was used, and why."""
    parts = []
    for a in s.aspects:
        why = T(f"why_{a.reason}", pct=a.trust, value=a.value if a.value is not None else 0.0)
        parts.append(f"{T('trust_' + a.aspect)} {why}")
    return T("trust_line", parts="; ".join(parts))
