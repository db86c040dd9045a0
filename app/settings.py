"""Typed settings in one place, each with a description, its allowed values and its effects.

Paths come from platformdirs; DOCENT_HOME relocates everything. Nothing is
read or created at import time: call `Settings.load()`.

Every field declares beside itself what a settings dialog needs (`field_specs()`):
choices or a range, and whether a change forces a re-embed of the library
(`reembed`) or only takes effect after a restart (`restart`). `load()` validates
settings.json: a bad value falls back to its default, a malformed file is kept
aside as `settings.json.bad-<timestamp>`, never lost, and `load_report` says what
happened, once, for the CLI or the window. Unknown keys (a newer version's, or a
typo) are reported, ignored, and left in the file when it is saved.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from app import errors
from app.settings_checks import check_value, overlap_problem

APP_NAME = "Docent"
HOME_ENV = "DOCENT_HOME"

log = logging.getLogger(__name__)


def _desc(text: str, default: Any = None, factory: Callable[[], Any] | None = None, *,
          choices: tuple[str, ...] = (), minimum: float | None = None,
          maximum: float | None = None, reembed: bool = False, restart: bool = False) -> Any:
    meta = {"help": text, "choices": choices, "minimum": minimum, "maximum": maximum,
            "reembed": reembed, "restart": restart}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def default_home() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class FieldSpec:
    """What a settings dialog shows and checks for one setting."""

    name: str
    type: type  # int, float, str or list (of str)
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    reembed: bool = False  # every document is re-chunked and re-embedded (via the writer queue)
    restart: bool = False  # read when the library is built: takes effect after a restart


@dataclass(frozen=True)
class SettingsLoadReport:
    problems: tuple[str, ...] = ()  # one line per problem, each written in app/errors.py
    kept_aside: Path | None = None  # where the original file went, when it was malformed
    unknown: tuple[str, ...] = ()  # keys this version does not know (ignored, kept in the file)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def message(self) -> str:
        """The whole report as one paragraph for a dialog or stderr; empty when all was well."""
        return " ".join(self.problems)


@dataclass(frozen=True)
class SettingsChange:
    changed: tuple[str, ...]
    reembed: bool = False  # a changed setting needs the library re-embedded
    restart: bool = False  # a changed setting takes effect only after a restart


ChangeFn = Callable[[SettingsChange], None]


@dataclass
class Settings:
    home: Path = _desc("Data directory: index, manifest, models, logs.", factory=default_home)
    embedder_path: str = _desc(
        "Folder of a sentence-transformers model, loaded by path (never from a hub). "
        "Empty means the bundled all-MiniLM-L6-v2.", "", reembed=True)
    embed_batch_size: int = _desc("Chunks per encoder batch; small batches of length-sorted "
                                  "chunks pad less and stay in cache (16 beat 64 by ~14% on CPU).",
                                  16, minimum=1, maximum=1024, restart=True)
    chunk_tokens: int = _desc("Target chunk length in embedder tokens (MiniLM reads 256).", 200,
                              minimum=32, maximum=2048, reembed=True)
    chunk_overlap: int = _desc("Tokens repeated between neighbouring chunks (at most half of "
                               "chunk_tokens).", 40, minimum=0, maximum=1024, reembed=True)
    max_file_mb: int = _desc("Files larger than this are reported, not parsed.", 200,
                             minimum=1, maximum=100_000, restart=True)
    parse_timeout_s: float = _desc("A file whose parsing takes longer is stopped and reported.",
                                   300.0, minimum=1, maximum=86_400, restart=True)
    parse_memory_mb: int = _desc("Memory cap for the parser worker process.", 3072,
                                 minimum=256, maximum=1_048_576, restart=True)
    ocr: str = _desc("Read scanned PDF pages and image files (PNG, JPEG, TIFF, WebP) by OCR, on this "
                     "machine. 'off' indexes only text layers; images are then reported as having "
                     "no text.", "on", choices=("on", "off"), restart=True)
    ocr_languages: str = _desc("Scripts OCR may read: 'latin' (English, French, German, Spanish, …), "
                               "or Latin with Chinese or with Japanese.", "latin",
                               choices=("latin", "latin+chinese", "latin+japanese"), restart=True)
    watched_folders: list[str] = _desc("Folders kept in sync with the index by `docent serve` "
                                       "and the window (`docent watch PATH`).", factory=list)
    ignore_patterns: list[str] = _desc("Paths never indexed inside watched folders, gitignore "
                                       "syntax (e.g. 'drafts/', '*.log'); temp, lock and hidden "
                                       "files are always skipped.", factory=list, restart=True)
    watch_quiet_s: float = _desc("A changed file is indexed once it has been quiet (same size "
                                 "and mtime) this long.", 1.0, minimum=0, maximum=3600, restart=True)
    watch_poll_s: float = _desc("Polling interval for folders without live notifications "
                                "(network and removable drives, OS watch limits).", 5.0,
                                minimum=0.5, maximum=3600, restart=True)
    model_path: str = _desc("GGUF model to answer with. Empty means the selected downloaded model.", "")
    n_ctx: int = _desc("LLM context window in tokens; 0 picks one from RAM and the model.", 0,
                       minimum=0, maximum=1_048_576)
    n_threads: int = _desc("LLM threads; 0 means the number of physical cores.", 0,
                           minimum=0, maximum=1024)
    max_answer_tokens: int = _desc("Longest answer, in tokens.", 512, minimum=16, maximum=32_768)
    temperature: float = _desc("Sampling temperature; low keeps answers close to the sources.", 0.2,
                               minimum=0, maximum=2)
    top_k: int = _desc("Passages retrieved per question before the token budget trims them.", 6,
                       minimum=1, maximum=100)
    retrieval_mode: str = _desc("hybrid (keyword + meaning, fused), dense (meaning only) or "
                                "keyword (exact words only).", "hybrid",
                                choices=("hybrid", "dense", "keyword"))
    context_tokens: int = _desc("Most prompt tokens spent on sources; fewer passages go in when "
                                "their scores fall off sharply.", 1200, minimum=64, maximum=1_000_000)
    chroma_url: str = _desc("Shared Chroma server (e.g. http://127.0.0.1:8000) instead of the "
                            "embedded store. Empty means embedded.", "", restart=True)
    reranker_path: str = _desc("Folder of a sentence-transformers cross-encoder (one you downloaded, "
                               "e.g. an MS MARCO MiniLM) that re-orders the 50 best-matching chunks; about "
                               "2 s per question on a CPU. Empty means off.", "")
    llm_backend: str = _desc("Where answers come from: 'local' (llama.cpp in this process) or "
                             "'remote' (an OpenAI-compatible server at remote_url).", "local",
                             choices=("local", "remote"))
    remote_url: str = _desc("Base URL of an OpenAI-compatible server (llama.cpp server, Ollama, "
                            "vLLM), used when llm_backend is 'remote'.", "")
    remote_model: str = _desc("Model name to request from the remote server.", "")
    remote_n_ctx: int = _desc("Context window of the remote model, in tokens.", 8192,
                              minimum=256, maximum=10_000_000)
    remote_api_key_env: str = _desc("Environment variable holding the remote server's API key "
                                    "(keys are never stored in settings.json).", "DOCENT_REMOTE_API_KEY")

    def __post_init__(self) -> None:
        # Plain attributes, not fields: asdict(), ==, and Settings(**asdict(s)) ignore them.
        self._lock = threading.RLock()
        self._observers: list[ChangeFn] = []
        self._unknown: dict[str, Any] = {}
        self.load_report = SettingsLoadReport()

    @property
    def load_problems(self) -> list[str]:
        return list(self.load_report.problems)

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
    def chats_path(self) -> Path:
        return self.home / "chats.sqlite3"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def settings_file(self) -> Path:
        return self.home / "settings.json"

    def is_own_file(self, path: str) -> bool:
        """One of Docent's own files in the data folder: anything in its index, models or logs
        folder, or a file it keeps directly there (chats, settings, the model choice, and their
        journals and temporary copies). Any other folder there is the user's to watch."""
        from app.models.selection import SELECTION_FILE
        from ingest.paths import inside

        if any(inside(path, d) for d in (self.index_dir, self.models_dir, self.log_dir)):
            return True
        head, name = os.path.split(path)
        return head == str(self.home) and name.startswith(
            (self.chats_path.name, self.settings_file.name, SELECTION_FILE))

    # --- what a dialog needs ---------------------------------------------------
    @classmethod
    def field_specs(cls) -> list[FieldSpec]:
        """Every editable setting (all but `home`), in declaration order."""
        specs = []
        for f in fields(cls):
            if f.name == "home":
                continue
            m = f.metadata
            default = f.default_factory() if f.default is MISSING else f.default  # type: ignore[operator]  # no default: then a factory
            specs.append(FieldSpec(f.name, _TYPES[str(f.type)], default, m.get("help", ""),
                                   tuple(m.get("choices", ())), m.get("minimum"), m.get("maximum"),
                                   bool(m.get("reembed")), bool(m.get("restart"))))
        return specs

    @staticmethod
    def describe() -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in fields(Settings)}

    # --- persistence ---------------------------------------------------------
    @classmethod
    def load(cls, home: Path | None = None) -> "Settings":
        """settings.json under the data dir (if any) over the defaults, validated.

        Never raises for a bad file: bad values fall back to their defaults and the
        report (`load_report`) says so. When anything was wrong the original is kept
        aside and a cleaned file with the good values is written in its place, so the
        message appears once and nothing the user wrote is lost.
        """
        s = cls(home=home or default_home())
        path = s.settings_file
        if not path.is_file():
            return s
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:  # unreadable: leave it where it is, there is nothing to clean
            s.load_report = SettingsLoadReport((errors.settings_unreadable(str(path), str(e)),))
            return s
        except (UnicodeDecodeError, ValueError) as e:
            s._keep_aside([errors.settings_not_json(str(path), _short(e))], rewrite=False)
            return s
        if not isinstance(data, dict):
            s._keep_aside([errors.settings_not_object(str(path))], rewrite=False)
            return s
        specs = {sp.name: sp for sp in cls.field_specs()}
        problems: list[str] = []
        for key, value in data.items():
            spec = specs.get(key)
            if spec is None:
                s._unknown[key] = value
                continue
            coerced, problem = check_value(spec, value)
            if problem:
                problems.append(problem)
            else:
                setattr(s, key, coerced)
        overlap = overlap_problem(s.chunk_overlap, s.chunk_tokens)
        if overlap:
            problems.append(overlap)
            s.chunk_overlap = min(specs["chunk_overlap"].default, s.chunk_tokens // 2)
        unknown = tuple(s._unknown)
        notes = [errors.settings_unknown_kept(unknown)] if unknown else []
        if problems:
            s._keep_aside(problems + [errors.settings_bad_values_used_defaults()] + notes,
                          rewrite=True, unknown=unknown)
        elif notes:
            s.load_report = SettingsLoadReport(tuple(notes), unknown=unknown)
        return s

    def _keep_aside(self, problems: list[str], rewrite: bool, unknown: tuple[str, ...] = ()) -> None:
        """Move the malformed file aside (never delete it); write the good values back."""
        path = self.settings_file
        aside = aside_name(path)
        try:
            os.replace(path, aside)
            problems = problems + [errors.settings_kept_aside(str(aside))]
            if rewrite:
                self._write()
        except OSError as e:
            problems = problems + [errors.settings_not_saved(str(path), str(e))]
            aside = None  # type: ignore[assignment]  # the move failed: nothing was kept aside
        self.load_report = SettingsLoadReport(tuple(problems), aside, unknown)
        log.warning("settings: %s", " ".join(problems))

    def ensure_dirs(self) -> None:
        """Create the data dirs with user-only permissions (documents are private)."""
        for d in (self.home, self.index_dir, self.models_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
            try:
                os.chmod(d, 0o700)
            except OSError:  # e.g. a FAT drive; permissions are best effort there
                pass

    def save(self) -> None:
        """Write the values that differ from the defaults (and unknown keys, untouched)."""
        self.ensure_dirs()
        self._write()

    def _write(self) -> None:
        with self._lock:
            defaults = {sp.name: sp.default for sp in self.field_specs()}
            data = dict(self._unknown)
            for k, v in asdict(self).items():
                if k != "home" and v != defaults[k]:
                    data[k] = v
            tmp = self.settings_file.with_name(self.settings_file.name + ".tmp")
            tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
            os.replace(tmp, self.settings_file)

    # --- changes at run time ---------------------------------------------------
    def validate(self, **changes: Any) -> dict[str, Any]:
        """The changes, coerced (an int for a float...), or SettingsInvalidError listing
        every bad value. Nothing is changed."""
        specs = {sp.name: sp for sp in self.field_specs()}
        problems: list[str] = []
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            spec = specs.get(key)
            if spec is None:
                problems.append(errors.setting_unknown(key))
                continue
            coerced, problem = check_value(spec, value)
            if problem:
                problems.append(problem)
            else:
                clean[key] = coerced
        if "chunk_overlap" in clean or "chunk_tokens" in clean:
            overlap = overlap_problem(clean.get("chunk_overlap", self.chunk_overlap),
                                       clean.get("chunk_tokens", self.chunk_tokens))
            if overlap:
                problems.append(overlap)
        if problems:
            raise errors.SettingsInvalidError(problems)
        return clean

    def update(self, **changes: Any) -> SettingsChange:
        """Validate, apply and save `changes`; observers hear what actually changed.

        Raises SettingsInvalidError (nothing changed) or SettingsSaveError (applied in
        memory, not written)."""
        specs = {sp.name: sp for sp in self.field_specs()}
        with self._lock:
            clean = self.validate(**changes)
            changed = tuple(k for k, v in clean.items() if getattr(self, k) != v)
            if not changed:
                return SettingsChange(())
            for key in changed:
                setattr(self, key, clean[key])
            change = SettingsChange(changed, any(specs[k].reembed for k in changed),
                                    any(specs[k].restart for k in changed))
            try:
                self.save()
            except OSError as e:
                raise errors.SettingsSaveError(str(self.settings_file), str(e)) from e
            observers = list(self._observers)
        for fn in observers:  # outside the lock: an observer may read or update settings
            try:
                fn(change)
            except Exception:  # one broken listener must not stop the others or the change
                log.exception("settings observer failed")
        return change

    def on_change(self, fn: ChangeFn) -> Callable[[], None]:
        """Call fn(SettingsChange) after each update() that changed something; returns an
        unsubscribe function."""
        with self._lock:
            self._observers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._observers:
                    self._observers.remove(fn)

        return unsubscribe


_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "list[str]": list}
def aside_name(path: Path) -> Path:
    """Where a damaged file is kept: `<name>.bad-<UTC stamp>`, `-1`, `-2`... if taken."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.bad-{stamp}")
    n = 1
    while aside.exists():  # two bad loads within a second keep both files
        aside = path.with_name(f"{path.name}.bad-{stamp}-{n}")
        n += 1
    return aside


def _short(e: Exception) -> str:
    return str(e).splitlines()[0][:200]
