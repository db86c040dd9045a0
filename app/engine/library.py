"""Wires the components for one data folder, each built on first use.

Backends are chosen here and only here; heavy imports (torch via
sentence-transformers, chromadb, llama_cpp) happen when a component is first
needed, so `docent status` and the window start fast.

Every part is built exactly once, under one re-entrant lock (parts build the
parts they need): two threads asking for `store` at once used to construct two
Chroma clients for one path, which chromadb's client registry does not survive.
A long-running owner calls build() before any service takes a request.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from app.errors import EmbedderMissingError, NoModelError
from app.offline import enforce_offline
from app.resources import bundled_embedder
from app.settings import Settings

if TYPE_CHECKING:
    from app.engine.backend import LLMBackend

# Makes the answering backend: (settings, the caller's model or None) -> an unloaded LLMBackend.
LLMFactory = Callable[[Settings, "str | None"], "LLMBackend"]


class Library:
    def __init__(self, settings: Settings, embedder: Any = None,
                 store_process: bool = False, command: str = "docent", llm: LLMFactory | None = None) -> None:
        """`store_process`: the embedded Chroma store runs in a child process
        (ingest/store_process.py), so its writes never hold this process's GIL; what a
        long-running owner with a window wants. One-shot commands keep it in-process.
        `command`: what the owner lock's record calls this process ("docent search").
        `llm`: what makes the answering backend; by default the settings' choice (llm())."""
        enforce_offline()
        self.settings = settings
        self.command = command
        settings.ensure_dirs()
        self._building = threading.RLock()
        # built on first use (the properties below); Any: each comes from a deferred import
        self._lock: Any = None
        self._manifest: Any = None
        self._store: Any = None
        self._store_process: Any = None
        self._wants_store_process = store_process and not settings.chroma_url
        self._embedder = embedder  # injectable: tests share one loaded model
        self._make_llm = llm
        self._pool: Any = None
        self._indexer: Any = None
        self._keyword: Any = None
        self._embedder_for = settings.embedder_path  # the embedder_path self._embedder is of
        self._next: Any = None  # a recipe being filled by a live re-embed: (store, embedder)
        self.recipe_generation = 0  # +1 when searches switch to a new recipe's collection

    # --- ownership: one process owns a Chroma path -----------------------------
    def own(self, wait: Any = None) -> bool:
        """Take the owner lock, waiting as `wait` (app.engine.owner_lock.LockWait) says; by
        default briefly, as a short command does. False: the wait was cancelled. Raises
        IndexBusyError (naming the live holder) or IndexLockError (the lock cannot be made)."""
        from app.engine.owner_lock import LockHolder, LockWait, OwnerLock

        wait = wait or LockWait()
        if self._lock is not None:
            return True
        lock = OwnerLock(self.settings.index_dir, LockHolder.this_process(self.command, wait.owner))
        if not lock.acquire(wait):
            return False
        with self._building:
            self._lock = lock
        return True

    def prepare(self) -> None:
        """What needs no owner lock, done while another process holds the index: the
        store's process started (it opens Chroma at its first call, after the lock) and
        the embedder loaded. Then taking over the index takes seconds less."""
        with self._building:
            if self._wants_store_process and self._store_process is None:
                from ingest.store_process import StoreProcess

                self._store_process = StoreProcess(self.settings.chroma_dir).start()
        self.embedder  # noqa: B018 - loaded here

    def _acquire(self) -> None:
        with self._building:
            if self._lock is None:
                self.own()

    def build(self) -> "Library":
        """Build every part now, in dependency order (owner lock, manifest, embedder,
        store, keyword index, indexer), so no request waits on or races a first use."""
        with self._building:
            self._acquire()
            self.start_store_process()  # its import of chromadb overlaps the embedder's load
            for part in ("manifest", "embedder", "store", "keyword", "indexer"):
                getattr(self, part)  # builds it
        return self

    # --- components ----------------------------------------------------------
    @property
    def manifest(self) -> Any:
        if self._manifest is None:
            with self._building:
                if self._manifest is None:
                    from ingest.manifest import Manifest

                    self._acquire()
                    self._manifest = Manifest(self.settings.manifest_path)
        return self._manifest

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            with self._building:
                if self._embedder is None:
                    from ingest.embedder import Embedder

                    s = self.settings
                    path = Path(s.embedder_path) if s.embedder_path else bundled_embedder()
                    if path is None or not path.is_dir():
                        raise EmbedderMissingError(str(path or "the bundled all-MiniLM-L6-v2"))
                    self._embedder = Embedder(path, batch_size=s.embed_batch_size)
        return self._embedder

    @property
    def index_version(self) -> str:
        from ingest.store import collection_name

        return collection_name(self.embedder.info().fingerprint, self.settings.chunk_tokens,
                               self.settings.chunk_overlap)

    @property
    def store(self) -> Any:
        if self._store is None:
            with self._building:
                if self._store is None:
                    self._store = self._make_store()
        return self._store

    def start_store_process(self) -> None:
        """Spawn the store's process now (no-op without one), so its start overlaps
        the embedder's load; the first store call waits for it."""
        if self._wants_store_process and self._store_process is None:
            from ingest.store_process import StoreProcess

            self._acquire()  # the child writes where this process holds the owner lock
            self._store_process = StoreProcess(self.settings.chroma_dir).start()

    @property
    def store_pid(self) -> int | None:
        """The store process's pid; None when the store runs in this process."""
        return self._store_process.pid if self._store_process is not None else None

    def _make_store(self) -> Any:
        self._acquire()
        return self._open_store(self.index_version)

    def _open_store(self, name: str) -> Any:
        """The collection `name`: in the store process, on the chosen server, or here."""
        from ingest.store import ChromaStore

        self.start_store_process()
        if self._store_process is not None:
            return self._store_process.store(name)
        client = self._store.client if self._store is not None else None
        if client is None and self.settings.chroma_url:  # a team's shared server
            from ingest.remote import http_client

            client = http_client(self.settings.chroma_url)
        return ChromaStore(self.settings.chroma_dir, name, client=client)

    @property
    def keyword(self) -> Any:
        """FTS5 keyword index in the manifest DB; backfilled once for pre-FTS libraries."""
        if self._keyword is None:
            with self._building:
                if self._keyword is None:
                    self._keyword = self._make_keyword()
        return self._keyword

    def _make_keyword(self) -> Any:
        from ingest.keyword import KeywordIndex

        kw = KeywordIndex.of(self.manifest)
        if kw.count() == 0 and self.manifest.has_indexed_chunks():
            kw.rebuild_from(self.store)
        return kw

    @property
    def indexer(self) -> Any:
        if self._indexer is None:
            with self._building:
                if self._indexer is None:
                    self._indexer = self._make_indexer()
        return self._indexer

    def _make_indexer(self) -> Any:
        from ingest.chunker import Chunker
        from ingest.isolation import ParserPool
        from ingest.loaders import LoadLimits
        from ingest.pipeline import Indexer

        s = self.settings
        # Parts first: a failure here must not leave a parser pool behind.
        manifest, store, embedder, keyword = self.manifest, self.store, self.embedder, self.keyword
        chunker = Chunker(embedder.tokenizer, s.chunk_tokens, s.chunk_overlap, embedder.info().max_tokens)
        self._pool = ParserPool(workers=1, timeout_s=s.parse_timeout_s,
                                memory_limit_mb=s.parse_memory_mb,
                                limits=LoadLimits(max_bytes=s.max_file_mb * 1024 * 1024, ocr=s.ocr == "on",
                                                  ocr_languages=s.ocr_languages))
        return Indexer(manifest, store, embedder, chunker, self._pool, self.index_version,
                       secondary=[keyword])

    # --- a live re-embed (the core's writer thread) -------------------------------
    def begin_recipe(self) -> str:
        """Point the indexer at the settings' chunking/embedder recipe: its own collection
        (same client), chunker and, if embedder_path changed, embedder. Searches keep the
        old collection (and embedder) until finish_recipe(). Idempotent; returns the version."""
        from ingest.chunker import Chunker
        from ingest.store import collection_name

        with self._building:
            s, indexer = self.settings, self.indexer
            embedder = self._next[1] if self._next is not None else self._embedder
            if s.embedder_path != self._embedder_for and (self._next is None or embedder is self._embedder):
                from ingest.embedder import Embedder

                path = Path(s.embedder_path) if s.embedder_path else bundled_embedder()
                if path is None or not path.is_dir():
                    raise EmbedderMissingError(str(path or "the bundled all-MiniLM-L6-v2"))
                embedder = Embedder(path, batch_size=s.embed_batch_size)
            info = embedder.info()
            version = collection_name(info.fingerprint, s.chunk_tokens, s.chunk_overlap)
            store = self._store if version == self._store.name else \
                self._next[0] if self._next is not None and self._next[0].name == version else \
                self._open_store(version)
            self._next = (store, embedder)
            indexer.store, indexer.version = store, version
            indexer.chunker = Chunker(embedder.tokenizer, s.chunk_tokens, s.chunk_overlap, info.max_tokens)
            if embedder is not self._embedder:
                indexer.embedder = embedder
            return version

    def finish_recipe(self) -> None:
        """Searches (and answers) use the new recipe's collection from now on; the old one
        stays on disk, as after a recipe change between runs."""
        with self._building:
            if self._next is None:
                return
            (store, embedder), self._next = self._next, None
            old = self._embedder
            changed = store is not self._store or embedder is not old
            self._store, self._embedder = store, embedder
            self._embedder_for = self.settings.embedder_path
            if changed:
                self.recipe_generation += 1
            if embedder is not old and old is not None:  # in-flight searches finish first
                threading.Thread(target=old.close, name="docent-embed-close", daemon=True).start()

    @property
    def retrieval_key(self) -> tuple[int, str, str]:
        """What retriever() builds from: a retriever kept from before a change of any of
        these (a re-embed's new collection, the mode, the reranker) must be built again."""
        return self.recipe_generation, self.settings.retrieval_mode, self.settings.reranker_path

    @property
    def model_key(self) -> tuple[object, ...]:
        """What llm() loads a model with: a model loaded before a change of any of these
        must be loaded again."""
        s = self.settings
        return s.model_path, s.n_ctx, s.n_threads, s.llm_backend, s.remote_url, s.remote_model, s.remote_n_ctx

    def retriever(self, mode: str | None = None) -> Any:
        from app.engine.hybrid import HybridRetriever

        reranker = None
        if self.settings.reranker_path:
            from app.engine.rerank import CrossEncoderReranker

            reranker = CrossEncoderReranker(Path(self.settings.reranker_path).expanduser())
        return HybridRetriever(self.embedder, self.store, self.keyword,
                               mode or self.settings.retrieval_mode, reranker=reranker)

    def model_path(self, override: str | None = None) -> Path:
        if override:
            return Path(override).expanduser()
        if self.settings.model_path:
            return Path(self.settings.model_path).expanduser()
        from app.models.selection import selected_model

        selected = selected_model(self.settings.home)
        if selected is None:
            raise NoModelError()
        return selected

    def llm(self, model: str | None = None) -> Any:
        """The answering backend, chosen here and only here: the maker this library was
        given, else the settings' (a local GGUF through llama.cpp, or a remote endpoint)."""
        s = self.settings
        if self._make_llm is not None:
            return self._make_llm(s, model)
        if s.llm_backend == "remote" and not model:
            import os

            from app.engine.remote_llm import RemoteLLM

            if not s.remote_url:
                raise NoModelError()
            return RemoteLLM(s.remote_url, s.remote_model, s.remote_n_ctx,
                             os.environ.get(s.remote_api_key_env, ""))
        from app.engine.llm import LocalLLM

        return LocalLLM(self.model_path(model), n_ctx=s.n_ctx, n_threads=s.n_threads)

    def answerer(self, model: str | None = None) -> Any:
        from app.engine.answer import Answerer

        s = self.settings
        from app.engine.grounding import document_descriptions
        from app.engine.selection import Budget

        retriever = self.retriever()
        return Answerer(retriever, self.llm(model), s.top_k, s.max_answer_tokens, s.temperature,
                        budget=Budget(tokens=s.context_tokens),
                        describe=lambda paths: document_descriptions(self.keyword.documents(), paths),
                        whole_doc=self.whole_doc(retriever))

    def whole_doc(self, retriever: Any) -> Any:
        """Whole-document requests over this library (app.engine.whole_doc)."""
        from app.engine.whole_doc import WholeDocRequests

        return WholeDocRequests(self.keyword, self.store, getattr(retriever, "focus", None))

    def close(self) -> None:
        with self._building:
            if self._pool is not None:
                self._pool.close()
            if self._manifest is not None:
                self._manifest.close()
            if self._store_process is not None:  # gone before the owner lock is released
                self._store_process.close(timeout=2.0)
                self._store_process = None
            if self._lock is not None:
                self._lock.release()
            if self._next is not None and self._next[1] is not self._embedder:
                self._next[1].close()  # a re-embed's new embedder, cut short
            if self._embedder is not None:  # last: it finishes the batch in hand (seconds on
                self._embedder.close()  # a busy CPU), and the index is released already
            self._pool = self._manifest = self._store = self._indexer = self._lock = None
            self._next = None
            self._keyword = None

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
