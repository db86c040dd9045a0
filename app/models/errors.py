"""Errors raised by the model layer, with every user-facing message in one place.

The UI shows `str(error)`; `kind` is for code that needs to branch (retry
button, "choose another file" button, ...). `detail` is technical context
for logs and bug reports, appended in parentheses.
"""
from __future__ import annotations

from enum import Enum

from app.errors import DocentError


class ModelFileErrorKind(str, Enum):
    EMPTY = "EMPTY"
    NOT_GGUF = "NOT_GGUF"
    TRUNCATED = "TRUNCATED"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    UNSUPPORTED_ARCH = "UNSUPPORTED_ARCH"
    CORRUPT = "CORRUPT"
    UNREADABLE = "UNREADABLE"


MODEL_FILE_MESSAGES: dict[ModelFileErrorKind, str] = {
    ModelFileErrorKind.EMPTY: "The model file is empty (0 bytes). Download it again.",
    ModelFileErrorKind.NOT_GGUF: (
        "This is not a GGUF model file. Docent needs a .gguf model made for llama.cpp."
    ),
    ModelFileErrorKind.TRUNCATED: (
        "The model file is incomplete: it ends before all of its data. "
        "The download was probably interrupted; download it again."
    ),
    ModelFileErrorKind.UNSUPPORTED_VERSION: (
        "This GGUF file uses a format version Docent cannot read (only versions 2 and 3 are supported)."
    ),
    ModelFileErrorKind.UNSUPPORTED_ARCH: (
        "This model's architecture is not supported by Docent's chat engine. "
        "Choose a chat model such as Qwen2.5 or Llama 3.2."
    ),
    ModelFileErrorKind.CORRUPT: "The model file is damaged: its header contains impossible values.",
    ModelFileErrorKind.UNREADABLE: "The model file could not be read (missing, or no permission).",
}


class ModelFileError(DocentError):
    """A file that must not be handed to llama.cpp (which may crash on it)."""

    def __init__(self, kind: ModelFileErrorKind | str, detail: str = "") -> None:
        self.kind = ModelFileErrorKind(kind)
        self.detail = detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        base = MODEL_FILE_MESSAGES[self.kind]
        return f"{base} ({self.detail})" if self.detail else base


class DownloadErrorKind(str, Enum):
    NO_SPACE = "NO_SPACE"
    HASH_MISMATCH = "HASH_MISMATCH"
    NO_CHECKSUM = "NO_CHECKSUM"
    CANCELLED = "CANCELLED"
    NETWORK = "NETWORK"
    HTTP = "HTTP"
    INVALID_FILE = "INVALID_FILE"
    DISK_ERROR = "DISK_ERROR"
    NO_HTTP_CLIENT = "NO_HTTP_CLIENT"


# Templates: filled with str.format(**fields) by DownloadError.of().
DOWNLOAD_MESSAGES: dict[DownloadErrorKind, str] = {
    DownloadErrorKind.NO_SPACE: (
        "Not enough disk space: need {need_gb:.1f} GB, {free_gb:.1f} GB free in {folder}."
    ),
    DownloadErrorKind.HASH_MISMATCH: (
        "The downloaded file does not match its published checksum, so it was discarded. "
        "Please try again. (expected {expected}, got {actual})"
    ),
    DownloadErrorKind.NO_CHECKSUM: (
        "The model host did not publish a checksum for {filename}, so the download "
        "cannot be verified and was not started."
    ),
    DownloadErrorKind.CANCELLED: "Download cancelled. It can be resumed later.",
    DownloadErrorKind.NETWORK: (
        "The download was interrupted by a network problem ({reason}). "
        "What was downloaded is kept; try again to resume."
    ),
    DownloadErrorKind.HTTP: "The model host answered with an error (HTTP {status}) for {url}.",
    DownloadErrorKind.INVALID_FILE: "The downloaded file is not a usable model: {reason}",
    DownloadErrorKind.DISK_ERROR: "The model file could not be written: {reason}",
    DownloadErrorKind.NO_HTTP_CLIENT: (
        "No HTTP client library is available (httpx2 or httpx, installed with huggingface_hub)."
    ),
}


class DownloadError(DocentError):
    """A model download that did not produce a verified file."""

    def __init__(self, kind: DownloadErrorKind | str, message: str, status: int | None = None) -> None:
        self.kind = DownloadErrorKind(kind)
        self.message = message
        self.status = status
        super().__init__(message)

    @classmethod
    def of(cls, kind: DownloadErrorKind | str, status: int | None = None, **fields: object) -> "DownloadError":
        kind = DownloadErrorKind(kind)
        return cls(kind, DOWNLOAD_MESSAGES[kind].format(status=status, **fields), status=status)
