"""Coverage-guided fuzzing (atheris / libFuzzer) of the inputs users hand the engine: audio
files (probe, then decode) and preset files. ``python -m tests.fuzz.harness audio|preset
--runs N``: every run is one generated file; the only acceptable failure is a coded
``AudioStyleError`` (one line for the user). Anything else is a crash: libFuzzer writes the
input to ``--crash-dir`` and the run fails (such inputs go to tests/fuzz/regressions/, which
tests/fuzz/test_fuzz.py replays)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from tests.fuzz.targets import check_audio, check_preset


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.harness")
    ap.add_argument("target", choices=("audio", "preset"))
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--corpus", type=Path, default=None, help="working corpus (temp if unset)")
    ap.add_argument("--crash-dir", type=Path, default=Path("artifacts/fuzz"))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    from tests.fuzz.seeds import audio_seeds, preset_seeds

    corpus = args.corpus or Path(tempfile.mkdtemp(prefix=f"corpus-{args.target}-"))
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = audio_seeds() if args.target == "audio" else preset_seeds()
    for i, s in enumerate(seeds):
        (corpus / f"seed{i}").write_bytes(bytes([i]) + s if args.target == "audio" else s)
    args.crash_dir.mkdir(parents=True, exist_ok=True)
    fn = check_audio if args.target == "audio" else check_preset
    lib_args = [
        sys.argv[0],
        f"-runs={args.runs}",
        f"-seed={args.seed}",
        "-max_len=65536" if args.target == "audio" else "-max_len=8192",
        "-rss_limit_mb=4096",
        "-timeout=60",
        f"-artifact_prefix={args.crash_dir}/{args.target}-",
        "-print_final_stats=1",
        str(corpus),
    ]
    atheris.Setup(lib_args, fn)
    os.environ.setdefault("AUDIO_STYLE_LANG", "en")
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
