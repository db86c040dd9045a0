"""Make every library we load stay offline. Call before importing them.

Docent never talks to the network at run time except for the explicit,
user-started model download (which talks to the hub on its own terms).
"""
from __future__ import annotations

import os

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "TOKENIZERS_PARALLELISM": "false",  # we parallelise ourselves; avoids fork warnings
    "DO_NOT_TRACK": "1",
}


def enforce_offline() -> None:
    """Set the env switches that keep HF, transformers and Chroma off the network.

    Uses setdefault so a user (or the download code path) can still opt in.
    """
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
