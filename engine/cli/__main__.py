"""``python -m engine.cli`` (torchrun starts the CLI this way): the same as ``latent-studio``."""

import sys

from engine.cli import main

sys.exit(main())
