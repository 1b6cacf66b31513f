"""Qt-observable state of the editor (napari-style models): no widgets in here.

Each controller owns one job and talks to the engine only through the EngineClient;
widgets observe controllers' signals and call their methods.
"""
