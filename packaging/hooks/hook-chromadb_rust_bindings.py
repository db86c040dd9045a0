# The compiled core of Chroma: one extension module, imported by name from chromadb.api.rust.
from PyInstaller.utils.hooks import collect_dynamic_libs

binaries = collect_dynamic_libs("chromadb_rust_bindings")
