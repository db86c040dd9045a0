"""Typed settings in one place, each with a description.

Paths come from platformdirs; DOCENT_HOME relocates everything. Nothing is
read or created at import time: call `Settings.load()`.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

APP_NAME = "Docent"
HOME_ENV = "DOCENT_HOME"


def _desc(text: str, default=None, factory=None):  # type: ignore[no-untyped-def]
    if factory is not None:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


def default_home() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


@dataclass
class Settings:
    home: Path = _desc("Data directory: index, manifest, models, logs.", factory=default_home)
    embedder_path: str = _desc(
        "Folder of a sentence-transformers model, loaded by path (never from a hub). "
        "Empty means the bundled all-MiniLM-L6-v2.",
        "",
    )
    embed_batch_size: int = _desc("Chunks per encoder batch; small batches of length-sorted "
                                  "chunks pad less and stay in cache (16 beat 64 by ~14% on CPU).", 16)
    chunk_tokens: int = _desc("Target chunk length in embedder tokens (MiniLM reads 256).", 200)
    chunk_overlap: int = _desc("Tokens repeated between neighbouring chunks.", 40)
    max_file_mb: int = _desc("Files larger than this are reported, not parsed.", 200)
    parse_timeout_s: float = _desc("A file whose parsing takes longer is stopped and reported.", 300.0)
    parse_memory_mb: int = _desc("Memory cap for the parser worker process.", 3072)
    watched_folders: list[str] = _desc("Folders kept in sync with the index by `docent serve` "
                                       "and the window (`docent watch PATH`).", factory=list)
    ignore_patterns: list[str] = _desc("Paths never indexed inside watched folders, gitignore "
                                       "syntax (e.g. 'drafts/', '*.log'); temp, lock and hidden "
                                       "files are always skipped.", factory=list)
    watch_quiet_s: float = _desc("A changed file is indexed once it has been quiet (same size "
                                 "and mtime) this long.", 1.0)
    watch_poll_s: float = _desc("Polling interval for folders without live notifications "
                                "(network and removable drives, OS watch limits).", 5.0)
    model_path: str = _desc("GGUF model to answer with. Empty means the selected downloaded model.", "")
    n_ctx: int = _desc("LLM context window in tokens; 0 picks one from RAM and the model.", 0)
    n_threads: int = _desc("LLM threads; 0 means the number of physical cores.", 0)
    max_answer_tokens: int = _desc("Longest answer, in tokens.", 512)
    temperature: float = _desc("Sampling temperature; low keeps answers close to the sources.", 0.2)
    top_k: int = _desc("Passages retrieved per question before the token budget trims them.", 6)
    retrieval_mode: str = _desc("hybrid (keyword + meaning, fused), dense (meaning only) or "
                                "keyword (exact words only).", "hybrid")
    context_tokens: int = _desc("Most prompt tokens spent on sources; fewer passages go in when "
                                "their scores fall off sharply.", 1200)
    chroma_url: str = _desc("Shared Chroma server (e.g. http://127.0.0.1:8000) instead of the "
                            "embedded store. Empty means embedded.", "")
    reranker_path: str = _desc("Folder of a cross-encoder to rerank passages with. Empty means off.", "")
    llm_backend: str = _desc("Where answers come from: 'local' (llama.cpp in this process) or "
                             "'remote' (an OpenAI-compatible server at remote_url).", "local")
    remote_url: str = _desc("Base URL of an OpenAI-compatible server (llama.cpp server, Ollama, "
                            "vLLM), used when llm_backend is 'remote'.", "")
    remote_model: str = _desc("Model name to request from the remote server.", "")
    remote_n_ctx: int = _desc("Context window of the remote model, in tokens.", 8192)
    remote_api_key_env: str = _desc("Environment variable holding the remote server's API key "
                                    "(keys are never stored in settings.json).", "DOCENT_REMOTE_API_KEY")

    # --- derived paths -------------------------------------------------------
    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def chroma_dir(self) -> Path:
        return self.index_dir / "chroma"

    @property
    def manifest_path(self) -> Path:
        return self.index_dir / "manifest.sqlite3"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def settings_file(self) -> Path:
        return self.home / "settings.json"

    # --- persistence ---------------------------------------------------------
    @classmethod
    def load(cls, home: Path | None = None) -> "Settings":
        """Read settings.json under the data dir (if any) over the defaults."""
        s = cls(home=home or default_home())
        if s.settings_file.is_file():
            data = json.loads(s.settings_file.read_text(encoding="utf-8"))
            known = {f.name for f in fields(cls)} - {"home"}
            for key, value in data.items():
                if key in known:
                    setattr(s, key, value)
        return s

    def ensure_dirs(self) -> None:
        """Create the data dirs with user-only permissions (documents are private)."""
        for d in (self.home, self.index_dir, self.models_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
            try:
                os.chmod(d, 0o700)
            except OSError:  # e.g. a FAT drive; permissions are best effort there
                pass

    def save(self) -> None:
        self.ensure_dirs()
        data = {k: v for k, v in asdict(self).items() if k != "home"}
        tmp = self.settings_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, self.settings_file)

    @staticmethod
    def describe() -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in fields(Settings)}
