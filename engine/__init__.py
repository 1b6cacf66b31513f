"""Latent Studio's model side: VAEs and conditional GANs behind a small, stable API.

    import engine
    m = engine.load_model("default")
    z = m.encode(images); x = m.decode(z); s = m.sample(16, seed=0)

Importing ``engine`` (or ``engine.protocol``) is cheap and never imports torch: the heavy
modules load on first use, so the editor can import the protocol alone.
"""

from __future__ import annotations

__all__ = ["load_model"]


def __getattr__(name: str):
    if name == "load_model":
        from engine.api import load_model

        return load_model
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
