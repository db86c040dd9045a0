"""Errors the engine reports to people (CLI, GUI, log). Wording lives here, once."""
from __future__ import annotations


class DocentError(Exception):
    """Base for errors with a message meant for the user."""

    exit_code = 1


class NoModelError(DocentError):
    def __init__(self) -> None:
        super().__init__(
            "No language model is selected. Either download the default one with "
            "`docent model download` (about 1.9 GB, asks before it starts), or answer with a "
            "GGUF file you already have: `docent ask \"...\" --model /path/to/model.gguf`.")


class ModelLoadError(DocentError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"Could not load the model {path}: {reason}")


class EmptyIndexError(DocentError):
    def __init__(self) -> None:
        super().__init__("Nothing is indexed yet. Add documents first: `docent index PATH`.")


class IndexBusyError(DocentError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"The index at {path} is in use by another Docent process. Close it, or set "
            "DOCENT_HOME to use another data folder.")


class EmbedderMissingError(DocentError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"The embedding model was not found at {path!r}. Reinstall Docent, or set "
            "`embedder_path` in settings.json to a sentence-transformers folder.")
