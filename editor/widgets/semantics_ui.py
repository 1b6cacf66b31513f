"""Latent semantics in the main window (issue 5): the attribute sliders (a dock under the latent
dimensions), the latent panel's "PCA axes" set, and the "Arithmetic", "Interpolate" and "Your
attributes" tabs.

Composition only, like main_window.py: it builds the controllers and panels and wires them to the
window's client, model, edit and sampling controllers, banner and tabs. Kept out of the window so
that it stays a short list of features.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from editor.controllers.arithmetic import ArithmeticController
from editor.controllers.attributes import AttributeController
from editor.controllers.interpolation import InterpolationController
from editor.controllers.pca import PCAController
from editor.controllers.user_attributes import UserAttributeController
from editor.widgets.arithmetic_panel import ArithmeticPanel
from editor.widgets.attribute_panel import AttributePanel
from editor.widgets.interpolation_panel import InterpolationPanel
from editor.widgets.user_attribute_panel import UserAttributePanel
from editor.widgets.window_fit import DOCK_HEIGHTS, DOCK_MIN_WIDTH, scrolling, share_heights

class SemanticsUI(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        client, model, edit, sampling = window.client, window.model, window.edit, window.sampling
        self._window = window
        # state
        self.attributes = AttributeController(client, model, edit, self)
        self.user = UserAttributeController(client, model, edit, sampling, self.attributes, self)
        self.arithmetic = ArithmeticController(client, model, edit, sampling, self)
        self.interpolation = InterpolationController(client, model, edit, sampling, self)
        self.pca = PCAController(client, model, edit, self)
        # panels
        self.attribute_panel = AttributePanel()
        self.user_panel = UserAttributePanel()
        self.arithmetic_panel = ArithmeticPanel()
        self.interpolation_panel = InterpolationPanel()
        self._lay_out(window)
        self._wire(window)

    def _lay_out(self, window: QMainWindow) -> None:
        self.dock = QDockWidget("Attributes", window, objectName="attributes")
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.dock.setWidget(scrolling(self.attribute_panel, min_width=DOCK_MIN_WIDTH))
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        latents = window.findChild(QDockWidget, "latents")
        if latents is not None:
            window.splitDockWidget(latents, self.dock, Qt.Orientation.Vertical)
        share_heights(window, DOCK_HEIGHTS)  # the sliders get the room, the history a strip
        self.attribute_panel.setEnabled(False)
        tabs = window.tabs
        tabs.addTab(self.arithmetic_panel, "Arithmetic")
        tabs.addTab(self.interpolation_panel, "Interpolate")
        tabs.addTab(self.user_panel, "Your attributes")

    def _wire(self, window: QMainWindow) -> None:
        edit, sampling, banner = window.edit, window.sampling, window.banner
        to_canvas = lambda *_: window.tabs.setCurrentWidget(window.canvas)  # noqa: E731

        # attribute sliders
        attrs, panel = self.attributes, self.attribute_panel
        attrs.directionsChanged.connect(panel.build)
        attrs.strengthsChanged.connect(panel.set_strengths)
        attrs.lockedChanged.connect(panel.set_locked)
        attrs.failed.connect(banner.show_error)
        panel.strengthChanged.connect(attrs.set_strength)
        panel.lockChanged.connect(attrs.set_locked)
        panel.resetRequested.connect(lambda name: attrs.reset(name or None))
        panel.dragStarted.connect(edit.begin_drag)
        panel.dragFinished.connect(edit.end_drag)
        panel.traversalRequested.connect(attrs.show_traversal)
        attrs.traversalReady.connect(panel.set_traversal)
        edit.encodedChanged.connect(lambda encoded: panel.setEnabled(encoded is not None))

        # the latent panel's second axis set: PCA axes (the same edit as the dimension sliders)
        pca, latents = self.pca, window.latents
        pca.axesChanged.connect(latents.set_pca)
        pca.amountsChanged.connect(latents.set_axis_amounts)
        pca.failed.connect(banner.show_error)
        latents.axisChanged.connect(pca.set_amount)
        latents.axisResetRequested.connect(lambda k: pca.reset(None if k < 0 else k))
        latents.axisRandomiseRequested.connect(pca.randomise)
        if window.model.info is not None:  # a model loaded before this was wired
            pca.refresh()

        # your own attributes
        user, upanel = self.user, self.user_panel
        sampling.ready.connect(upanel.show_samples)
        sampling.cleared.connect(lambda: upanel.show_samples(None))
        upanel.addCurrentRequested.connect(user.add_current)
        upanel.addSamplesRequested.connect(user.add_samples)
        upanel.addFilesRequested.connect(user.add_files)
        upanel.removeRequested.connect(user.remove)
        upanel.clearRequested.connect(user.clear)
        upanel.createRequested.connect(lambda name, overwrite: user.create(name, overwrite))
        upanel.deleteRequested.connect(user.delete)
        upanel.exportRequested.connect(lambda name, path: user.export(name, path, overwrite=True))  # the dialog asked
        upanel.importRequested.connect(user.import_file)
        user.examplesChanged.connect(lambda: upanel.show_examples(user.examples))
        user.listed.connect(lambda attributes: upanel.show_saved(attributes, user.folder))
        user.info.connect(upanel.show_message)
        user.info.connect(banner.show_info)
        user.failed.connect(banner.show_error)
        user.exported.connect(lambda path: banner.show_info(f"Exported {path}"))

        # operand slots of arithmetic and interpolation
        for controller, slots_panel in ((self.arithmetic, self.arithmetic_panel), (self.interpolation, self.interpolation_panel)):
            slots = controller.slots
            for slot in slots_panel.slots.values():
                slot.currentRequested.connect(slots.set_current)
                slot.samplesRequested.connect(slots.set_samples)
                slot.filesRequested.connect(slots.set_files)
                slot.clearRequested.connect(slots.clear)
                sampling.ready.connect(lambda sampled, s=slot: s.set_sample_images(sampled.images))
                sampling.cleared.connect(lambda s=slot: s.set_sample_images(None))
                user.listed.connect(lambda attributes, s=slot: s.set_user_attributes(a.name for a in attributes))
            slots.changed.connect(lambda key, value, p=slots_panel: p.slots[key].show_slot(value))
            controller.failed.connect(banner.show_error)
        for slot in self.arithmetic_panel.slots.values():
            slot.groupRequested.connect(lambda key, group: self.arithmetic.slots.set_group(key, group, self.arithmetic_panel.data.text()))
        for slot in self.interpolation_panel.slots.values():
            slot.groupRequested.connect(self.interpolation.slots.set_group)

        # arithmetic
        arith, apanel = self.arithmetic, self.arithmetic_panel
        arith.resultReady.connect(apanel.show_result)
        apanel.saveRequested.connect(arith.save_result)
        apanel.editRequested.connect(lambda: arith.edit_result(window.discard_prompt.allows) and to_canvas())
        arith.photoOpen.connect(apanel.set_photo_open)
        arith.saved.connect(lambda path: banner.show_info(f"Saved {path}"))

        # interpolation
        interp, ipanel = self.interpolation, self.interpolation_panel
        interp.framesReady.connect(ipanel.show_frames)
        ipanel.optionsChanged.connect(lambda steps, mode, even: interp.set_options(steps, mode, even))
        ipanel.exportRequested.connect(lambda path, fps, scale, boom: interp.export(path, fps, scale, boom, overwrite=True))
        ipanel.editFrameRequested.connect(lambda k: interp.edit_frame(k, window.discard_prompt.allows) and to_canvas())
        interp.photoOpen.connect(ipanel.set_photo_open)
        interp.exported.connect(lambda path: banner.show_info(f"Exported {path}"))
