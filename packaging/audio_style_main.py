"""Entry point of the frozen ``audio-style`` executable (packaging/audio-style.spec).

The same CLI as the ``audio-style`` console script (``engine.runtime:command``); the ``gui`` and
``cloud`` subcommands are found through the bundled ``audio_style.commands`` entry-point
metadata, exactly as in an installed package.
"""

from __future__ import annotations

import multiprocessing
import sys

if __name__ == "__main__":
    # a frozen executable re-runs itself for multiprocessing's spawn/forkserver children
    multiprocessing.freeze_support()
    from engine.runtime import command

    sys.exit(command())
