"""Start MELDAE Studio: ``python main.py [VIDEO_OR_FOLDER] [--checkpoint CKPT]``."""

import sys

from app.main import main

if __name__ == "__main__":
    sys.exit(main())
