"""Qt widgets. They read the Qt-free models, edit them through their methods, and never touch torch."""
