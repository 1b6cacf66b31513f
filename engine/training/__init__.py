"""Training, one wing of the engine: ``loop.py`` (one loop for every family: progress, previews,
atomic checkpoints, ``--resume``, NaN stop), ``config.py`` (the torch-free TrainConfig the CLI's
parser uses), ``conditional.py`` (the cVAE's and cGAN's steps) and ``distributed.py`` (DDP)."""
