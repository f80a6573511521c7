"""``python -m crepetool``."""

from crepetool.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
