"""audio-style desktop app (PySide6 + pyqtgraph + sounddevice).

Layers: ``views`` (widgets only) <- ``controllers`` (state, every engine call) ->
``task_runner`` (one background worker driving engine generators) and ``audio`` (A/B player).
``main.run_gui`` is the composition root.
"""

from app._compat import pin_singletons

pin_singletons()  # before any Qt call: see app/_compat.py
