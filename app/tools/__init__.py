"""Qt-free mask editing operations used by the canvas tools."""
