"""Model families by name: ``--model vae`` picks one; later families register themselves.

A family is a ``(Config dataclass, nn.Module class)`` pair. The module is built from its
config alone, so a checkpoint that stores the config's fields can rebuild it without any
training code (and without pickle).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Family:
    name: str
    config_cls: type
    module_cls: type
    conditional: bool = False


_FAMILIES: dict[str, Family] = {}


def register(name: str, config_cls: type, conditional: bool = False):
    """Class decorator: ``@register("vae", VAEConfig)`` on the nn.Module."""

    def deco(module_cls):
        _FAMILIES[name] = Family(name, config_cls, module_cls, conditional)
        module_cls.family = name
        return module_cls

    return deco


def _ensure_builtin_families() -> None:
    # Importing the family modules runs their @register decorators.
    from engine.models import cgan, cvae, vae  # noqa: F401


def family(name: str) -> Family:
    _ensure_builtin_families()
    try:
        return _FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(sorted(_FAMILIES))}") from None


def families() -> list[str]:
    _ensure_builtin_families()
    return sorted(_FAMILIES)


def config_from_dict(name: str, values: dict[str, Any]):
    """Rebuild a family's config from plain values, refusing unknown or missing fields."""
    cls = family(name).config_cls
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - fields
    if unknown:
        raise ValueError(f"config has fields that {name} does not know: {', '.join(sorted(unknown))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**values)


def build(name: str, config):
    return family(name).module_cls(config)
