"""Your own attributes: tag examples *with* and *without* (the current image, samples of the grid,
photo files), name it, create it — its slider appears in the attribute panel at once. Below, the
attributes you made: delete, export to a small file, import one."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.protocol import Sampled
from editor.imaging import array_to_qimage
from editor.widgets.file_actions import IMAGE_FILTER

THUMB = 56
ATTRIBUTE_FILTER = "Latent Studio attribute (*.safetensors);;All files (*)"


def thumbnails(widget: QListWidget, images, labels) -> None:
    widget.clear()
    for i, (image, label) in enumerate(zip(images, labels)):
        item = QListWidgetItem(QIcon(QPixmap.fromImage(array_to_qimage(np.ascontiguousarray(image)))), "")
        item.setToolTip(label)
        item.setData(Qt.ItemDataRole.UserRole, i)
        widget.addItem(item)


def thumb_list(multi: bool = True) -> QListWidget:
    w = QListWidget()
    w.setViewMode(QListView.ViewMode.IconMode)
    w.setIconSize(QSize(THUMB, THUMB))
    w.setResizeMode(QListView.ResizeMode.Adjust)
    w.setMovement(QListView.Movement.Static)
    w.setSpacing(2)
    if multi:
        w.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    return w


def selected(widget: QListWidget) -> list[int]:
    return sorted(int(item.data(Qt.ItemDataRole.UserRole)) for item in widget.selectedItems())


class UserAttributePanel(QWidget):
    addCurrentRequested = Signal(str)  # side
    addSamplesRequested = Signal(str, object)  # side, [indices]
    addFilesRequested = Signal(str, object)  # side, [paths]
    removeRequested = Signal(str, object)  # side, [indices]
    clearRequested = Signal()
    createRequested = Signal(str, bool)  # name, overwrite
    deleteRequested = Signal(str)
    exportRequested = Signal(str, str)  # name, path
    importRequested = Signal(str)  # path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # samples to pick from
        self.samples = thumb_list()
        self.samples.setToolTip("Samples of the Sample tab: select several (Ctrl/Shift) and tag them")
        pick = QGroupBox("Samples (select, then tag)")
        pick_box = QVBoxLayout(pick)
        pick_box.addWidget(self.samples, 1)
        pick_buttons = QHBoxLayout()
        for side in ("with", "without"):
            b = QPushButton(f"→ {side}")
            b.clicked.connect(lambda _=False, s=side: self.addSamplesRequested.emit(s, selected(self.samples)))
            pick_buttons.addWidget(b)
        pick_box.addLayout(pick_buttons)
        # the two sides
        self.lists: dict[str, QListWidget] = {}
        self.titles: dict[str, QGroupBox] = {}
        sides = QHBoxLayout()
        for side in ("with", "without"):
            group = QGroupBox()
            box = QVBoxLayout(group)
            self.lists[side] = thumb_list()
            box.addWidget(self.lists[side], 1)
            row = QHBoxLayout()
            current = QPushButton("+ current image", toolTip="The image in the Edit tab, as it is now")
            current.clicked.connect(lambda _=False, s=side: self.addCurrentRequested.emit(s))
            files = QPushButton("+ photos…")
            files.clicked.connect(lambda _=False, s=side: self._add_files(s))
            remove = QPushButton("Remove", toolTip="Remove the selected examples")
            remove.clicked.connect(lambda _=False, s=side: self.removeRequested.emit(s, selected(self.lists[s])))
            for b in (current, files, remove):
                row.addWidget(b)
            box.addLayout(row)
            self.titles[side] = group
            sides.addWidget(group, 1)
        # name and create
        self.name = QLineEdit(placeholderText="Name, e.g. freckles")
        self.name.textChanged.connect(lambda _: self._update_create())
        self.overwrite = QCheckBox("replace an attribute of that name")
        self.create_button = QPushButton("Create attribute")
        self.create_button.clicked.connect(lambda: self.createRequested.emit(self.name.text().strip(), self.overwrite.isChecked()))
        clear = QPushButton("Clear tags")
        clear.clicked.connect(self.clearRequested)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        create_row = QHBoxLayout()
        create_row.addWidget(QLabel("Name"))
        create_row.addWidget(self.name, 1)
        create_row.addWidget(self.overwrite)
        create_row.addWidget(self.create_button)
        create_row.addWidget(clear)
        # saved attributes
        self.saved = QListWidget()
        self.saved.setMaximumHeight(120)
        self.folder = QLabel("")
        self.folder.setWordWrap(True)
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._delete)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._export)
        import_button = QPushButton("Import…")
        import_button.clicked.connect(self._import)
        saved_box = QGroupBox("Your attributes")
        saved_layout = QVBoxLayout(saved_box)
        saved_layout.addWidget(self.saved)
        saved_buttons = QHBoxLayout()
        saved_buttons.addWidget(self.folder, 1)
        for b in (self.delete_button, self.export_button, import_button):
            saved_buttons.addWidget(b)
        saved_layout.addLayout(saved_buttons)

        top = QHBoxLayout()
        top.addWidget(pick, 1)
        top.addLayout(sides, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addLayout(create_row)
        layout.addWidget(self.hint)
        layout.addWidget(saved_box)
        self._counts = (0, 0)
        self.show_examples({"with": [], "without": []})
        self.show_saved((), "")

    # ------------------------------------------------------------------ showing
    def show_samples(self, sampled: Sampled | None) -> None:
        if sampled is None:
            self.samples.clear()
            return
        thumbnails(self.samples, sampled.images, [f"sample {i}" for i in range(len(sampled.images))])

    def show_examples(self, examples: dict) -> None:
        for side in ("with", "without"):
            items = examples.get(side, [])
            thumbnails(self.lists[side], [e.image for e in items], [e.label for e in items])
            self.titles[side].setTitle(f"{side.capitalize()} the attribute ({len(items)})")
        self._counts = (len(examples.get("with", [])), len(examples.get("without", [])))
        self._update_create()

    def show_saved(self, attributes, folder: str) -> None:
        self.saved.clear()
        for a in attributes:
            loo = "" if a.loo_accuracy is None else f", leave-one-out {100 * a.loo_accuracy:.0f}%"
            other = "  ⚠ another model" if a.same_model is False else ""
            when = datetime.fromtimestamp(a.created).strftime("%Y-%m-%d") if a.created else ""
            item = QListWidgetItem(f"{a.name} — {a.n_with} with, {a.n_without} without{loo}{other}")
            item.setData(Qt.ItemDataRole.UserRole, a.name)
            item.setToolTip(f"{a.name}: {a.latent_dim}-d direction, made {when}")
            self.saved.addItem(item)
        self.folder.setText(f"Kept in {folder}" if folder else "")
        has = bool(attributes)
        self.delete_button.setEnabled(has)
        self.export_button.setEnabled(has)

    def show_message(self, text: str) -> None:
        self.hint.setText(text)

    def _update_create(self) -> None:
        n_with, n_without = self._counts
        total = n_with + n_without
        ok = min(n_with, n_without) >= 2 and bool(self.name.text().strip())
        self.create_button.setEnabled(ok)
        if total < 5:
            advice = f"Tag 5–20 examples ({n_with} with, {n_without} without so far; at least 2 a side)."
        elif total > 20:
            advice = f"{total} examples tagged: more than 20 is fine, but each must be right."
        else:
            advice = f"{n_with} with, {n_without} without: good — name it and create."
        self.hint.setText(advice)

    # ------------------------------------------------------------------ dialogs
    def selected_saved(self) -> str | None:
        item = self.saved.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def _add_files(self, side: str) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, f"Photos {side} the attribute", "", IMAGE_FILTER)
        if paths:
            self.addFilesRequested.emit(side, paths)

    def _delete(self) -> None:
        name = self.selected_saved()
        if name:
            self.deleteRequested.emit(name)

    def _export(self) -> None:
        name = self.selected_saved()
        if not name:
            return
        path, _ = QFileDialog.getSaveFileName(self, f"Export “{name}”", f"{name}.safetensors", ATTRIBUTE_FILTER)
        if path:
            self.exportRequested.emit(name, path)

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import an attribute", "", ATTRIBUTE_FILTER)
        if path:
            self.importRequested.emit(path)
