"""`python -m app.cli`: the `docent` command from a source tree."""
import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
