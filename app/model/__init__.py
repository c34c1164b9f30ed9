"""Qt-free annotation state: objects, masks, keyframes, undo history, memory log."""
