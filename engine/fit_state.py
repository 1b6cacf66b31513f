"""A per-photo fit's tuned tensors: what a session file stores, and binding them to a model again.

Only the decoder side (``engine.fit.DECODER_PREFIXES``) is stored, as safetensors bytes — never
pickled, never written into a checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.fit import DECODER_PREFIXES, FitResult, copy_model


def decoder_state(model) -> dict[str, torch.Tensor]:
    """The tuned tensors of a fitted model (what a session stores), by parameter name."""
    prefixes = DECODER_PREFIXES[model.family]
    return {k: v.detach().cpu().clone() for k, v in model.net.state_dict().items() if k.startswith(prefixes)}


def with_decoder_state(model, state: dict[str, torch.Tensor]):
    """A copy of ``model`` whose decoder tensors are ``state`` (names and shapes checked)."""
    prefixes = DECODER_PREFIXES[model.family]
    own = {k: v for k, v in model.net.state_dict().items() if k.startswith(prefixes)}
    if set(state) != set(own):
        raise ValueError("the fitted weights do not match this model's decoder (another model?)")
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise ValueError(f"fitted weight {k} has shape {tuple(v.shape)}, the model's is {tuple(own[k].shape)}")
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ValueError(f"fitted weight {k} contains NaN or infinity")
    out = copy_model(model)
    out.net.load_state_dict(state, strict=False)
    return out


def fit_to_bytes(result: FitResult) -> tuple[bytes, dict]:
    """A fit as a session stores it: (safetensors bytes of the tuned decoder tensors, JSON facts)."""
    from safetensors.torch import save as tensors_to_bytes  # in memory: the session's writer is atomic

    state = {k: v.contiguous() for k, v in decoder_state(result.model).items()}
    facts = {"gains": dict(result.gains), "psnr_before": round(result.psnr_before, 3), "psnr_after": round(result.psnr_after, 3),
             "steps": int(result.steps)}  # fmt: skip
    return tensors_to_bytes(state), facts


def fit_from_bytes(model, data: bytes, facts: dict, z: np.ndarray, labels: dict[str, float] | None = None) -> FitResult:
    """The fit a session stored, bound to ``model`` (the loaded one) at the pivot ``z``; ValueError
    with one line when the tensors do not fit this model."""
    from safetensors.torch import load

    try:
        state = load(bytes(data))
    except Exception as exc:  # safetensors raises its own error types for a damaged header
        raise ValueError(f"the fitted weights are damaged ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    fitted = with_decoder_state(model, state)
    gains = {str(k): float(v) for k, v in dict(facts.get("gains") or {}).items() if np.isfinite(float(v)) and 1.0 <= float(v) <= 3.0}
    z = np.asarray(z, np.float32).reshape(-1)
    lab = dict(labels or {})
    before, after = (m.decode(z[None], labels=lab or None)[0] for m in (model, fitted))
    return FitResult(model=fitted, z=z, labels=lab, psnr_before=float(facts.get("psnr_before", 0.0)), psnr_after=float(facts.get("psnr_after", 0.0)),
                     steps=int(facts.get("steps", 0)), seconds=0.0, before=before, after=after, fitted=True, gains=gains)  # fmt: skip
