"""Signal processing building blocks used by the renderer."""
