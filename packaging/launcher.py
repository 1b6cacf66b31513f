"""Entry script of the packaged app: the same as the ``latent-studio`` console script."""

import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main())
