"""The application core: one object per data folder that owns the library for the life of a process."""
