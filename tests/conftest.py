import os

# Qt without a display: the editor's tests run offscreen (set before anything imports Qt).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
