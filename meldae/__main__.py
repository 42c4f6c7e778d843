"""``python -m meldae``: the command line."""

from meldae.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
