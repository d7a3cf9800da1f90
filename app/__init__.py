"""audio-style desktop app (PySide6 + pyqtgraph + sounddevice).

Layers: ``views`` (widgets only) <- ``controllers`` (state, every engine call) ->
``task_runner`` (one background worker driving engine generators) and ``audio`` (A/B player).
``main.run_gui`` is the composition root.
"""
