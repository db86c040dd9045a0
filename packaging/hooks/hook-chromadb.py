# chromadb has no upstream hook. It builds its components from class names held as strings
# in chromadb/config.py (the Rust-bindings API, the telemetry client, the segment manager),
# which PyInstaller's import scan cannot see, and it reads its SQL migrations as files.
import docent_bundle as rules
from PyInstaller.utils.hooks import collect_data_files, copy_metadata

hiddenimports = rules.chromadb_hiddenimports()
datas = collect_data_files("chromadb", includes=list(rules.CHROMA_DATA)) + copy_metadata("chromadb")
excludedimports = ["chromadb.server", "chromadb.cli", "chromadb.test", "chromadb.app", "onnxruntime"]
