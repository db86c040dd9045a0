"""Connect to a shared Chroma server (`chroma run`) instead of the embedded store."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlparse


def http_client(url: str) -> Any:
    """chromadb.HttpClient for http(s)://host:port, telemetry off like the embedded client."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from ingest.store import CLIENT_LOCK

    u = urlparse(url if "://" in url else f"http://{url}")
    if not u.hostname:
        raise ValueError(f"not a Chroma server address: {url!r}")
    ssl = u.scheme == "https"
    with CLIENT_LOCK:  # chromadb's client registry is not thread-safe (see ingest/store.py)
        return chromadb.HttpClient(host=u.hostname, port=u.port or (443 if ssl else 8000), ssl=ssl,
                                   settings=ChromaSettings(anonymized_telemetry=False))
