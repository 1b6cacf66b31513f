"""File ▸ Export photo, 16 bits per channel…: the flat export as a 16-bit PNG or TIFF.

The photo is held at 8 bits; 16 bits keep the fractional part of the model's change (smooth
gradients where 8 bits band). The engine writes it (``ExportPhoto(bit_depth=16)``).
"""

from __future__ import annotations

from pathlib import Path

from engine.protocol import ExportPhoto
from editor.widgets.engine_export import EngineExport

FILTERS = {"PNG, 16 bits per channel (*.png)": ".png", "TIFF, 16 bits per channel (*.tif *.tiff)": ".tif"}


class DeepExport(EngineExport):
    label = "Export photo, &16 bits per channel…"
    tooltip = "PNG or TIFF at 16 bits per channel: the edit's smooth gradients without 8-bit banding (no EXIF)"
    dialog_title = "Export photo, 16 bits per channel"
    filters = FILTERS
    suffixes = (".png", ".tif", ".tiff")
    wrong_suffix = "{name}: 16 bits per channel are written as .png, .tif or .tiff"
    name_tag = "-edited-16bit"
    failure = "Export failed"

    def request(self, path: Path, overwrite: bool) -> ExportPhoto:
        return ExportPhoto(path=str(path), edits=self._edit.stack, mask=self._mask.snapshot(), overwrite=overwrite,
                           labels=self._edit.labels, bit_depth=16)
