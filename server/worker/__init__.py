"""The job worker: claims tasks, runs them in the sandbox, commits exactly one result.

The engine is reached through :mod:`engine.facade` only (``engine_adapter``)."""
