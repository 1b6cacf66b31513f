"""Panels of the main window; each observes controllers and knows nothing of the engine."""
