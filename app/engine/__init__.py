"""The app's side of the engine: a controller that owns the VideoSession and a QThread worker."""
