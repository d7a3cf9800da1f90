"""Input checks before an upload and the names of downloaded results (also planned before a job
is submitted, so that existing outputs are refused before anything is uploaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cloud.http import (
    CloudError,
)
from engine.schema.errors import ErrorCode
from engine.schema.jobs import (
    JobView,
)
from engine.schema.options import output_extension


def _check_input(p: Path) -> None:
    try:
        st = p.stat()
    except FileNotFoundError:
        raise CloudError(ErrorCode.FILE_NOT_FOUND, path=str(p)) from None
    except OSError:
        raise CloudError(ErrorCode.NOT_READABLE, path=str(p)) from None
    if not p.is_file():
        raise CloudError(ErrorCode.NOT_READABLE, path=str(p))
    if st.st_size == 0:
        raise CloudError(ErrorCode.FILE_EMPTY, path=str(p))
    if not os_access_read(p):
        raise CloudError(ErrorCode.NOT_READABLE, path=str(p))


def os_access_read(p: Path) -> bool:
    import os

    return os.access(p, os.R_OK)


def _result_stems(view: JobView) -> list[str]:
    """Output names: the target file names recorded in the job name (``a.wav | b.wav``), else
    ``<job id>-<n>``; made unique."""
    n = len(view.results)
    names = [s.strip() for s in view.name.split(" | ")] if view.name else []
    if len(names) == n and all(names):
        stems = [Path(s).stem or f"{view.id}-{i}" for i, s in enumerate(names)]
    else:
        stems = [f"{view.id}-{i}" if n > 1 else view.id for i in range(n)]
    return _unique_stems(stems, view.id)


def _unique_stems(stems: Sequence[str], fallback: str) -> list[str]:
    """File-name-safe, unique stems (``a``, ``a-1``, ...)."""
    seen: dict[str, int] = {}
    out = []
    for s in stems:
        s = "".join(c if c.isalnum() or c in "-_. " else "_" for c in s).strip(". ") or fallback
        k = seen.get(s, 0)
        seen[s] = k + 1
        out.append(s if k == 0 else f"{s}-{k}")
    return out


def planned_outputs(out: str | Path, targets: Sequence[str | Path], fmt: str | None) -> list[Path]:
    """The audio files ``download_results(view, out)`` will write for a job of ``targets``
    submitted by :meth:`CloudClient.submit_files` (checked before anything is uploaded)."""
    o = Path(out)
    if len(targets) == 1 and not o.is_dir() and (o.suffix or o.exists()):
        return [o]
    exts = [output_extension(fmt, Path(t).name) for t in targets]
    stems = _unique_stems([Path(t).stem for t in targets], "result")
    return [o / f"{s}.matched.{e}" for s, e in zip(stems, exts, strict=True)]
