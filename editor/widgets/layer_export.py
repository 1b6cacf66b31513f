"""File ▸ Export layers…: the open photo's edit as OpenRaster (.ora) for Krita, GIMP and MyPaint.

The engine writes the file (``ExportLayers``: the edit stack, the painted mask, the labels): the
original, the edit as its own layer with the mask as its alpha, and the mask.
"""

from __future__ import annotations

from pathlib import Path

from engine.protocol import ExportLayers
from editor.widgets.engine_export import EngineExport

ORA_FILTER = "OpenRaster layers (*.ora)"


class LayerExport(EngineExport):
    label = "Export &layers (OpenRaster)…"
    tooltip = "The original, the edit as its own layer (the mask as its alpha) and the mask, for Krita, GIMP and MyPaint"
    dialog_title = "Export layers"
    filters = {ORA_FILTER: ".ora"}
    suffixes = (".ora",)
    wrong_suffix = "{name}: choose an .ora name (OpenRaster)"
    name_tag = "-layers"
    failure = "Exporting the layers failed"

    def request(self, path: Path, overwrite: bool) -> ExportLayers:
        return ExportLayers(path=str(path), edits=self._edit.stack, mask=self._mask.snapshot(), overwrite=overwrite,
                            labels=self._edit.labels)
