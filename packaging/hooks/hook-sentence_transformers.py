# No upstream hook. sentence-transformers reads its package data at run time, checks its
# dependencies' versions through their metadata, and (like transformers) introspects source.
from PyInstaller.utils.hooks import collect_data_files, copy_metadata

datas = collect_data_files("sentence_transformers")
for _dist in ("sentence-transformers", "torch", "transformers", "tokenizers", "safetensors",
              "huggingface-hub", "numpy", "tqdm", "scikit-learn", "scipy", "regex", "packaging",
              "filelock", "pyyaml"):
    try:
        datas += copy_metadata(_dist)
    except Exception:  # a dependency this version does not have
        pass
module_collection_mode = "pyz+py"
