"""``python -m crepetool``, the same as the ``crepetool`` command."""

from crepetool.cli import run

if __name__ == "__main__":
    run()
