"""Qt widgets of the app. Importing this package first neutralises the Qt binding's reference-count defect
(see app/qt_runtime.py), so that every process that shows one of these widgets can quit cleanly."""

from app.qt_runtime import protect_singletons

protect_singletons()
