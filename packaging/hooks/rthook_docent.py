# PyInstaller runtime hook: runs before the entry script, so before any library is imported.
# Chroma's telemetry is off whatever the environment says; the Hugging Face switches keep the
# embedder from ever looking for the hub (setdefault: the explicit model download may opt in).
import os

os.environ["ANONYMIZED_TELEMETRY"] = "False"
for _key, _value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                     ("HF_HUB_DISABLE_TELEMETRY", "1"), ("DO_NOT_TRACK", "1"),
                     ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(_key, _value)
del _key, _value
