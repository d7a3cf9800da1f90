"""The ``audio-style`` command line.

Engine subcommands live here; ``gui``, ``server``/``worker``/``scheduler``/``users`` and
``cloud`` are contributed by the other packages through the ``audio_style.commands`` entry
point group, so the engine never imports them.
Bad input: one line ``error E1xx: ...`` on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import __version__
from engine.cli_delivery import add_qc, trust_line
from engine.cli_text import T
from engine.progress import Progress, drive
from engine.runtime import OWN_COMMANDS, command_word
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.i18n import current_language, set_language
from engine.schema.options import AUDIO_FORMATS, CODEC_NAMES, DEFAULT_MAX_LIMITING_DB, MatchOptions
from engine.schema.preset import Preset

if TYPE_CHECKING:
    from engine.render import RenderStats

EXIT_BAD_INPUT = 2


class _ProgressBar:
    """A one-line progress bar on a terminal (stderr); silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and p.fraction < 1.0:
            return
        self.last = now
        width = 30
        filled = int(width * min(1.0, p.fraction))
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {p.fraction:4.0%} {p.stage:8s}"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()


def _add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto", help=T("device"))
    p.add_argument("-v", "--verbose", action="store_true", help=T("verbose"))


def _show_backend_line(verbose: bool) -> None:
    """Let engine.backends' one line (``--device auto`` falling back to the CPU) through to
    stderr with ``-v`` only: most machines have no GPU, so it is not news on every call."""
    lg = logging.getLogger("engine.backends")
    lg.handlers = [h for h in lg.handlers if not isinstance(h, _StderrLine)]
    if verbose:
        lg.addHandler(_StderrLine())
        lg.setLevel(logging.INFO)
        lg.propagate = False


class _StderrLine(logging.Handler):
    """``audio-style: <message>`` on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"audio-style: {record.getMessage()}", file=sys.stderr)


def _add_match_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--amount", type=float, default=100.0, help=T("amount"))
    p.add_argument("--eq-amount", type=float, default=100.0, help=T("eq_amount"))
    p.add_argument("--dynamics-amount", type=float, default=100.0, help=T("dyn_amount"))
    p.add_argument("--width-amount", type=float, default=100.0, help=T("width_amount"))
    p.add_argument("--loudness-amount", type=float, default=100.0, help=T("loud_amount"))
    p.add_argument("--target-lufs", type=float, default=None, help=T("target_lufs"))
    p.add_argument("--ceiling-dbtp", type=float, default=-1.0, help=T("ceiling"))
    p.add_argument(
        "--max-limiting-db",
        type=float,
        default=DEFAULT_MAX_LIMITING_DB,
        help=T("max_limiting", default=DEFAULT_MAX_LIMITING_DB),
    )
    p.add_argument("--smoothing", type=float, default=None, help=T("smoothing"))
    p.add_argument(
        "--codec-safe",
        choices=CODEC_NAMES,
        default=None,
        help=T("codec_safe", names=", ".join(CODEC_NAMES)),
    )
    p.add_argument("--no-eq", action="store_true", help=T("no_eq"))
    p.add_argument("--no-dynamics", action="store_true", help=T("no_dyn"))
    p.add_argument("--no-width", action="store_true", help=T("no_width"))
    p.add_argument("--no-loudness", action="store_true", help=T("no_loud"))
    p.add_argument("--no-limiter", action="store_true", help=T("no_limiter"))
    p.add_argument(
        "--estimator",
        choices=("rules", "blend", "learned"),
        default="blend",
        help=T("estimator"),
    )
    p.add_argument(
        "--reference-mode", choices=("range", "average"), default="range", help=T("reference_mode")
    )
    _add_device(p)


def options_from_args(args: argparse.Namespace) -> MatchOptions:
    """Build validated :class:`MatchOptions` from parsed CLI arguments."""
    values: dict[str, Any] = {
        "amount": args.amount,
        "eq_amount": args.eq_amount,
        "dynamics_amount": args.dynamics_amount,
        "width_amount": args.width_amount,
        "loudness_amount": args.loudness_amount,
        "target_lufs": args.target_lufs,
        "ceiling_dbtp": args.ceiling_dbtp,
        "max_limiting_db": args.max_limiting_db,
        "smoothing_octaves": args.smoothing,
        "codec_safe": args.codec_safe,
        "eq_enabled": not args.no_eq,
        "dynamics_enabled": not args.no_dynamics,
        "width_enabled": not args.no_width,
        "loudness_enabled": not args.no_loudness,
        "limiter_enabled": not args.no_limiter,
        "estimator": args.estimator,
        "device": args.device,
    }
    refs = getattr(args, "reference", None) or []
    weights = [w for _, w in (parse_reference(r) for r in refs)]
    if len(refs) > 1:
        values["reference_mode"] = args.reference_mode
        if any(w != 1.0 for w in weights):
            values["reference_weights"] = weights
    try:
        return MatchOptions(**values)
    except ValueError as exc:
        errors: list[Any] = list(getattr(exc, "errors", lambda: [])())
        name = "--" + str(errors[0]["loc"][0]).replace("_", "-") if errors else "option"
        reason = errors[0]["msg"] if errors else str(exc)
        raise AudioStyleError(ErrorCode.BAD_OPTION, name=name, reason=reason) from None


def parse_reference(text: str) -> tuple[str, float]:
    """``R`` or ``R:0.7`` -> (path, weight); a path that exists as given keeps its colons."""
    path, sep, weight = text.rpartition(":")
    if not sep or Path(text).exists():
        return text, 1.0
    try:
        w = float(weight)
    except ValueError:
        return text, 1.0
    if not 0.0 < w <= 1.0:
        raise AudioStyleError(ErrorCode.BAD_OPTION, name="--reference", reason="weight in (0, 1]")
    return path, w


def _outputs_for(targets: list[str], out: str, fmt: str | None) -> list[Path]:
    o = Path(out)
    if len(targets) == 1 and not o.is_dir():
        return [o]
    if o.exists() and not o.is_dir():
        raise AudioStyleError(ErrorCode.BAD_OPTION, name="-o", reason="must be a directory")
    o.mkdir(parents=True, exist_ok=True)
    ext = ".flac" if fmt == "flac" else ".wav"
    return [o / (Path(t).stem + ext) for t in targets]


def cmd_analyze(args: argparse.Namespace) -> int:
    from engine.pipeline import analyze_file

    _show_backend_line(args.verbose)
    bar = _ProgressBar(not args.quiet)
    try:
        an = drive(analyze_file(args.file, device=args.device), bar)
    finally:
        bar.close()
    s = an.summary
    if args.json:
        doc = {
            "file": args.file,
            "summary": s.model_dump(),
            "spectrum": {
                "freqs_hz": an.freqs_hz[::4].round(2).tolist(),
                "mid_db": an.mid_db[::4].round(2).tolist(),
                "side_db": None if an.side_db is None else an.side_db[::4].round(2).tolist(),
            },
            "bands": {
                "edges_hz": an.band_edges_hz.tolist(),
                "width_db": an.band_width_db.round(2).tolist(),
                "correlation": an.band_correlation.round(3).tolist(),
            },
        }
        print(json.dumps(doc, indent=1, ensure_ascii=False))
        return 0
    rows = [
        (T("m_integrated"), f"{s.integrated_lufs:.1f} LUFS"),
        (T("m_lra"), f"{s.loudness_range_lu:.1f} LU"),
        (T("m_tp"), f"{s.true_peak_dbtp:.1f} dBTP"),
        (T("m_sp"), f"{s.sample_peak_dbfs:.1f} dBFS"),
        (T("m_plr"), f"{s.plr_db:.1f} dB"),
        (T("m_crest"), f"{s.crest_db:.1f} dB"),
        (T("m_width"), f"{s.width_db:.1f} dB"),
        (T("m_corr"), f"{s.correlation:.2f}"),
        (T("m_length"), f"{s.length_s:.2f} s"),
        (T("m_rate"), f"{s.sample_rate} Hz"),
        (T("m_channels"), str(s.channels)),
    ]
    for name, value in rows:
        print(f"{name:24s} {value}")
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from engine.io import format_for
    from engine.pipeline import match_files

    options = options_from_args(args)
    outputs = _outputs_for(args.targets, args.output, args.format)
    for o in outputs:
        format_for(o, args.format)
    album = None
    if args.album:
        from engine.album import AlbumOptions

        for name, pct in (
            ("--album-spread", args.album_spread),
            ("--album-consistency", args.album_consistency),
        ):
            if not 0.0 <= pct <= 100.0:
                raise AudioStyleError(ErrorCode.BAD_OPTION, name=name, reason="0-100")
        album = AlbumOptions(args.album_spread / 100.0, args.album_consistency / 100.0)
    _show_backend_line(args.verbose)
    bar = _ProgressBar(not args.quiet)
    try:
        results = drive(
            match_files(
                args.targets,
                [parse_reference(r)[0] for r in args.reference],
                outputs,
                options,
                fmt=args.format,
                force=args.force,
                preset_out=args.preset_out,
                report_out=args.report,
                album=album,
            ),
            bar,
        )
    finally:
        bar.close()
    for r in results:
        st = r.render.stats
        print(
            T(
                "result_line",
                output=str(r.output),
                lufs=st.output_lufs,
                tp=st.output_true_peak_dbtp,
                gain=st.gain_db,
                trust=r.preset.eq.reference_trust,
            )
        )
        _loudness_note(r.preset, st)
        if r.preset.suitability is not None:
            print(trust_line(r.preset.suitability))
        safe = r.extra.get("codec_safe")
        if safe:
            print(T("codec_ceiling", **safe))
    if album is not None and results:
        _print_album(results[0].extra["album"])
    return 0


def _print_album(table: dict[str, Any]) -> None:
    before, after = table["before"], table["after"]
    print(
        T(
            "album_header",
            lufs=after["album_lufs"],
            spread=after["spread_lu"],
            spread_in=before["spread_lu"],
            dist=after["mean_tonal_distance_db"],
            dist_in=before["mean_tonal_distance_db"],
        )
    )
    for row in after["tracks"]:
        print(
            "  "
            + T(
                "album_row",
                track=row["track"],
                lufs=row["lufs"],
                lra=row["lra_lu"],
                tp=row["true_peak_dbtp"],
                dist=row["tonal_distance_db"],
            )
        )


def _loudness_note(preset: Preset, stats: RenderStats) -> None:
    """Say so when the loudness target was given up (the preset's ``max_limiting_db``), or
    reached only with the limiter's rescue clip stage."""
    from engine.render import clip_stage_db, loudness_shortfall_lu

    target = preset.loudness.target_lufs
    clip = clip_stage_db(preset, stats.fast_stage_db)
    if loudness_shortfall_lu(preset, stats.output_lufs) > 0:
        budget = preset.limiter.max_limiting_db
        print(T("loudness_short", target=target, budget=budget, lufs=stats.output_lufs))
    elif clip > 0:
        print(T("loudness_clip_stage", target=target, clip=clip))


def cmd_apply(args: argparse.Namespace) -> int:
    from engine.pipeline import render_file
    from engine.presets import load_preset

    preset = load_preset(args.preset)
    _show_backend_line(args.verbose)
    bar = _ProgressBar(not args.quiet)
    try:
        res = drive(
            render_file(
                preset,
                args.target,
                args.output,
                fmt=args.format,
                force=args.force,
                device=args.device,
            ),
            bar,
        )
    finally:
        bar.close()
    st = res.stats
    print(
        T(
            "result_line",
            output=str(res.path),
            lufs=st.output_lufs,
            tp=st.output_true_peak_dbtp,
            gain=st.gain_db,
            trust=preset.eq.reference_trust,
        )
    )
    _loudness_note(preset, st)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from engine.io import atomic_write_text, check_output_path
    from engine.presets import export_preset, load_preset

    preset = load_preset(args.preset)
    if args.format == "ir-wav":
        from engine.exports.ir import write_impulse_responses

        irs, paths = write_impulse_responses(
            preset, args.output, sample_rate=args.sample_rate, phase=args.phase, force=args.force
        )
        for p in paths:
            print(f"{T('wrote')} {p}")
        ms = 1000.0 * irs.latency / irs.sample_rate
        print(
            T(
                "ir_latency",
                phase=irs.phase,
                rate=irs.sample_rate,
                taps=len(irs.mid),
                latency=irs.latency,
                ms=ms,
            )
        )
        return 0
    if args.format == "ffmpeg":
        from engine.exports.ffmpeg import export_ffmpeg

        text = export_ffmpeg(preset, args.input_lufs)
    else:
        text = export_preset(preset, args.format)
    check_output_path(args.output, args.force)
    atomic_write_text(args.output, text, force=args.force)
    print(f"{T('wrote')} {args.output}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from engine.exports.verify import verify_files
    from engine.presets import load_preset

    preset = load_preset(args.preset)
    v = verify_files(preset, args.target, args.exported, args.seconds)
    if args.json:
        print(json.dumps(v.__dict__, indent=1, ensure_ascii=False))
        return 0
    rows = [(T("v_residual"), f"{v.residual_db:.1f} dB")]
    if v.magnitude_error_db is not None:
        rows.append((T("v_magnitude"), f"{v.magnitude_error_db:.4f} dB"))
    rows.append((T("v_band"), f"{v.band_error_db:.3f} dB"))
    if v.kind == "ir":
        rows.append((T("v_latency"), str(v.lag)))
    for name, value in rows:
        print(f"{name:28s} {value}")
    words = {"plain_stereo": T("v_note_plain_stereo"), "eq_part": T("v_note_eq_part")}
    for note in v.notes:
        print("  " + words.get(note, note))
    return 0


def build_parser(plugins: bool = True) -> argparse.ArgumentParser:
    """The full parser, including subcommands contributed by other packages (``plugins``;
    without them only :data:`OWN_COMMANDS`)."""
    parser = argparse.ArgumentParser(prog="audio-style", description=T("prog"))
    parser.add_argument("--version", action="version", version=f"audio-style {__version__}")
    parser.add_argument("--lang", choices=("zh", "en"), help=T("lang"))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help=T("cmd_analyze"), description=T("cmd_analyze"))
    p.add_argument("file", help=T("file"))
    p.add_argument("--json", action="store_true", help=T("json"))
    p.add_argument("-q", "--quiet", action="store_true", help=T("quiet"))
    _add_device(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("match", help=T("cmd_match"), description=T("cmd_match"))
    p.add_argument("targets", nargs="+", help=T("targets"))
    p.add_argument("--reference", "-r", action="append", required=True, help=T("reference"))
    p.add_argument("-o", "--output", required=True, help=T("out"))
    p.add_argument("--preset-out", help=T("preset_out"))
    p.add_argument("--report", help=T("report"))
    p.add_argument("--album", action="store_true", help=T("album"))
    p.add_argument("--album-spread", type=float, default=100.0, help=T("album_spread"))
    p.add_argument("--album-consistency", type=float, default=100.0, help=T("album_consistency"))
    p.add_argument("--format", choices=AUDIO_FORMATS, default=None, help=T("format"))
    p.add_argument("--force", action="store_true", help=T("force"))
    p.add_argument("-q", "--quiet", action="store_true", help=T("quiet"))
    _add_match_options(p)
    p.set_defaults(func=cmd_match)

    p = sub.add_parser("apply", help=T("cmd_apply"), description=T("cmd_apply"))
    p.add_argument("preset", help=T("preset"))
    p.add_argument("target", help=T("target"))
    p.add_argument("-o", "--output", required=True, help=T("export_out"))
    p.add_argument("--format", choices=AUDIO_FORMATS, default=None, help=T("format"))
    p.add_argument("--force", action="store_true", help=T("force"))
    p.add_argument("-q", "--quiet", action="store_true", help=T("quiet"))
    _add_device(p)
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("export-preset", help=T("cmd_export"), description=T("cmd_export"))
    p.add_argument("preset", help=T("preset"))
    p.add_argument(
        "--format",
        choices=("eqapo", "graphiceq", "csv", "ir-wav", "ffmpeg"),
        required=True,
        help=T("export_format"),
    )
    p.add_argument("-o", "--output", required=True, help=T("export_out"))
    p.add_argument("--force", action="store_true", help=T("force"))
    p.add_argument("--phase", choices=("linear", "minimum"), default="linear", help=T("phase"))
    p.add_argument(
        "--sample-rate", type=int, choices=(44100, 48000, 96000), default=48000, help=T("ir_rate")
    )
    p.add_argument("--input-lufs", type=float, default=None, help=T("input_lufs"))
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("verify", help=T("cmd_verify"), description=T("cmd_verify"))
    p.add_argument("preset", help=T("preset"))
    p.add_argument("target", help=T("target"))
    p.add_argument("exported", help=T("exported"))
    p.add_argument("--seconds", type=float, default=60.0, help=T("verify_seconds"))
    p.add_argument("--json", action="store_true", help=T("json"))
    p.set_defaults(func=cmd_verify)

    add_qc(sub)
    if plugins:
        _add_plugins(sub)
    return parser


_EXTRAS = {"gui": "app", "server": "server", "cloud": "app"}


def _add_plugins(sub: Any) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="audio_style.commands"):
        try:
            register = ep.load()
        except (ImportError, OSError) as exc:  # optional extra missing: say what to install
            _missing_plugin(sub, ep.name, _EXTRAS.get(ep.name, ep.name), exc)
            continue
        register(sub)


def _missing_plugin(sub: Any, name: str, extra: str, exc: BaseException) -> None:
    msg = T("missing_extra", name=name, extra=extra, error=str(exc).splitlines()[0][:120])

    def run(_: argparse.Namespace) -> int:
        print(msg, file=sys.stderr)
        return EXIT_BAD_INPUT

    p = sub.add_parser(name, help=msg, add_help=True)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def _preselect_language(argv: Sequence[str]) -> None:
    for i, a in enumerate(argv):
        if a == "--lang" and i + 1 < len(argv):
            set_language(argv[i + 1])
        elif a.startswith("--lang="):
            set_language(a.split("=", 1)[1])


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a process the pipe killed


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit does not fail on the pipe again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``audio-style`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _preselect_language(argv)
    # the plugins' entry points cost ~70 ms of metadata scans and imports; the engine's own
    # commands (a 180 s match takes under 3 s) do not need them
    parser = build_parser(plugins=command_word(argv) not in OWN_COMMANDS)
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()  # a closed pipe fails here, inside the handlers below
        return code
    except AudioStyleError as exc:
        print(exc.one_line(current_language()), file=sys.stderr)
        return EXIT_BAD_INPUT if exc.code != ErrorCode.INTERNAL else 1
    except KeyboardInterrupt:
        print(T("interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head` stopped reading: exit quietly, as SIGPIPE would
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except MemoryError:
        err = AudioStyleError(ErrorCode.INTERNAL, reason="out of memory")
        print(err.one_line(), file=sys.stderr)
        return 1
    except Exception as exc:  # last resort: one line, traceback only on request
        if os.environ.get("AUDIO_STYLE_DEBUG"):
            raise
        err = AudioStyleError(ErrorCode.INTERNAL, reason=f"{type(exc).__name__}: {exc}"[:300])
        print(err.one_line(), file=sys.stderr)
        return 1


if __name__ == "__main__":  # python -m engine.cli: the settings come after numpy loaded here
    from engine.runtime import prepare_process

    prepare_process(sys.argv[1:])
    sys.exit(main())
