"""The desktop window (PySide6). Talks to the application core only through `bridge.CoreBridge`."""
