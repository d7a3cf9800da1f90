"""audio-style engine: analysis, matching and rendering of reference-based mix/master styles."""

__version__ = "0.1.0"
