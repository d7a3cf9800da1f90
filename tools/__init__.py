"""Developer tools, outside the runtime packages (not in the wheel, not in the desktop bundle).

``bench`` (``make bench``: quality, speed, API latency and GUI responsiveness figures with their
targets), ``demo`` (``make demo`` and the generated test songs), ``gpu_check``
(``make gpu-check``) and ``training`` (``make train``: the learned style estimator). They import
the engine; nothing in ``engine``, ``app``, ``cloud`` or ``server`` imports them.
"""
