"""The engine's handlers for the latent-semantics requests of :mod:`engine.protocol` (issue 5).

``Engine`` registers them (``SemanticsHandlers(engine).handlers()``). The logic is the
semantics package's — conditional directions (:mod:`engine.semantics.orthogonal`), arithmetic
terms (:mod:`engine.semantics.arithmetic`), interpolation and frame export
(:mod:`engine.semantics.interpolate`), the user's own attributes
(:mod:`engine.semantics.user_attributes`); here requests become calls and results become
protocol answers. Like every handler these raise, and ``Engine.handle`` turns the exception into
an ErrorResponse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine import protocol as p
from engine.service.handlers import EngineHost, Handler, HandlerBase, elapsed_ms

FEW_EXAMPLES = 5  # fewer tagged examples than this: the direction is mostly noise (same as the CLI)
FORMAT_ALIASES = {"gif": ".gif", "mp4": ".mp4", "png": ".png", "png-strip": ".png", "strip": ".png"}
MAX_SCALE = 16


class SemanticsHandlers(HandlerBase):
    def __init__(self, engine: EngineHost) -> None:
        super().__init__(engine)
        self._datasets: dict[tuple[str, str], object] = {}  # (model fingerprint, data spec) -> EncodedSet

    def handlers(self) -> dict[type, Handler]:
        return {
            p.AttributeDirections: self._directions,
            p.Interpolate: self._interpolate,
            p.Arithmetic: self._arithmetic,
            p.CreateUserAttribute: self._create_user,
            p.ListUserAttributes: self._list_user,
            p.DeleteUserAttribute: self._delete_user,
            p.ExportUserAttribute: self._export_user,
            p.ImportUserAttribute: self._import_user,
            p.ExportAnimation: self._export_animation,
            p.GetPCAAxes: self._pca,
        }

    # ------------------------------------------------------------------ helpers
    def _same_model(self, model, info: dict | None) -> bool | None:
        theirs = (info or {}).get("fingerprint")
        if not theirs or model is None:
            return None
        return theirs == model.fingerprint

    def _summary(self, attr, model) -> p.UserAttributeSummary:
        s = attr.summary()
        loo = s["loo_accuracy"]
        return p.UserAttributeSummary(
            name=s["name"], latent_dim=s["latent_dim"], n_with=s["n_with"], n_without=s["n_without"],
            loo_accuracy=None if loo is None or not np.isfinite(loo) else float(loo), gap_sigma=s["gap_sigma"],
            created=float(s["created"] or 0.0), same_model=self._same_model(model, attr.model),
        )  # fmt: skip

    def _user_list(self, rid: int, t0: float) -> p.UserAttributeList:
        from engine.semantics.user_attributes import attributes_dir, list_user_attributes

        model = self.model
        attrs = list_user_attributes(model.latent_dim if model is not None else None)
        return p.UserAttributeList(
            request_id=rid, attributes=tuple(self._summary(a, model) for a in attrs), folder=str(attributes_dir()), elapsed_ms=elapsed_ms(t0)
        )

    # ------------------------------------------------------------------ terms
    def _term(self, model, term: p.LatentTerm, what: str):
        """A :class:`~engine.protocol.LatentTerm` → an arithmetic ``Term`` (mean latent and members)."""
        from engine.semantics.arithmetic import Term, resolve_term

        given = [name for name, present in (
            ("latents", term.latents is not None), ("images", bool(term.images)), ("paths", bool(term.paths)),
            ("group", bool(term.group.strip())), ("seed", term.seed is not None),
        ) if present]  # fmt: skip
        if len(given) != 1:
            raise ValueError(f"term {what} needs exactly one of latents, images, paths, group or seed" + (f" (got {', '.join(given)})" if given else ""))
        kind = given[0]
        if kind == "latents":
            z = np.asarray(term.latents, np.float32)
            z = z[None] if z.ndim == 1 else z
            if z.ndim != 2 or z.shape[1] != model.latent_dim or not len(z):
                raise ValueError(f"term {what}: latents must be N×{model.latent_dim}, got {tuple(np.shape(term.latents))}")
            if not np.isfinite(z).all():
                raise ValueError(f"term {what}: latents contain NaN or infinity")
            return Term("latents", z.mean(0), z, term.label or f"{len(z)} latent{'s' if len(z) > 1 else ''}")
        if kind == "images":
            names = [term.label] if len(term.images) == 1 and term.label else [f"image {i + 1} of term {what}" for i in range(len(term.images))]
            with self.budget():  # aligned like an opened photo; a crop at the model's size as it is
                z = np.concatenate([model.encode(self.model_crop(image, model.image_size, "auto", name)) for image, name in zip(term.images, names)])
            return Term("images", z.mean(0), z, term.label or f"{len(z)} image{'s' if len(z) > 1 else ''}")
        if kind == "paths":
            with self.budget():
                parts = [resolve_term(str(path), model) for path in term.paths]
            z = np.concatenate([t.members for t in parts])
            text = parts[0].description if len(parts) == 1 else f"{len(z)} images"
            return Term("paths", z.mean(0), z, term.label or text)
        if kind == "seed":
            return resolve_term(f"sample:{int(term.seed)}", model)
        return self._group(model, term, what)

    def _group(self, model, term: p.LatentTerm, what: str):
        from engine.semantics.arithmetic import Term, parse_condition, resolve_term

        conditions = parse_condition(term.group)
        if term.data:
            return resolve_term(f"attr:{term.group}", model, self._encoded(model, term.data))
        if len(conditions) == 1:
            from engine.semantics.user_attributes import load_user_attribute

            (name, side), = conditions.items()
            attr = load_user_attribute(name, model.latent_dim)
            members = attr.with_latents if side > 0 else attr.without_latents
            if not len(members):
                raise ValueError(f"term {what}: the user attribute {name!r} keeps no tagged examples")
            text = f"{name} {'with' if side > 0 else 'without'} ({len(members)} tagged)"
            return Term(f"user:{term.group}", members.mean(0), members, term.label or text)
        raise ValueError(f"term {what}: a labelled group of several attributes needs a labelled data set (data='faces:DIR')")

    def _encoded(self, model, data: str):
        key = (model.fingerprint, data)
        if key not in self._datasets:
            from engine.semantics.encoded import encode_dataset

            with self.budget():
                self._datasets = {key: encode_dataset(model, data, "train", None, progress=False, cache=True)}  # keep one
        return self._datasets[key]

    # ------------------------------------------------------------------ attribute directions
    def _directions(self, req: p.AttributeDirections, t0: float) -> p.AttributeDirectionSet:
        from engine.semantics.attribute_table import describe, panel_order
        from engine.semantics.classifier_directions import classifiers_of
        from engine.semantics.orthogonal import conditional_directions, cosine_matrix, edit_vector, lock_costs, lock_vectors

        model = self.require_model()
        raw: dict[str, np.ndarray] = {}
        infos: dict[str, dict] = {}
        metrics = (getattr(getattr(model, "ckpt", None), "info", None) or {}).get("attributes", {}) or {}
        for name in panel_order(model.attributes):  # the editor groups them in this order
            m, (group, description) = metrics.get(name) or {}, describe(name)
            raw[name] = np.asarray(model.attributes[name], np.float32).reshape(-1)
            infos[name] = dict(source="model", method=str(m.get("method", "")), accuracy=_num(m.get("accuracy")), auc=_num(m.get("auc")),
                               gap_sigma=_num(m.get("gap_sigma")), group=group, description=description)  # fmt: skip
        if req.include_user:
            from engine.semantics.user_attributes import list_user_attributes

            for attr in list_user_attributes(model.latent_dim):
                key = attr.name if attr.name not in raw else f"{attr.name} (yours)"
                raw[key] = np.asarray(attr.direction, np.float32).reshape(-1)
                s = attr.summary()
                infos[key] = dict(source="user", method="mean", loo_accuracy=_num(s["loo_accuracy"]), gap_sigma=_num(s["gap_sigma"]),
                                  n_with=s["n_with"], n_without=s["n_without"], same_model=self._same_model(model, attr.model))  # fmt: skip
        locked = tuple(dict.fromkeys(req.locked))
        unknown = [n for n in locked if n not in raw]
        if unknown:
            raise ValueError(f"cannot lock {unknown[0]!r}: no such attribute (have: {', '.join(raw) or 'none'})")
        # a lock keeps the attribute's classifier read-out fixed where one is stored, else its direction
        ckpt = getattr(model, "ckpt", None)
        classifiers = {n: w for n, w in classifiers_of(ckpt).items() if n in raw and infos[n]["source"] == "model"} if ckpt is not None else {}
        locks = lock_vectors(raw, classifiers)
        conditioned = conditional_directions(raw, list(locked), locks) if raw else {}
        std = np.asarray(model.latent_stats.std, np.float64)
        steps, attributes = {}, []
        for name in raw:
            d, d0 = conditioned[name], raw[name]
            kept = float(np.linalg.norm(d) / max(float(np.linalg.norm(d0)), 1e-12))
            steps[name] = edit_vector(d, std, 1.0) if kept > 1e-6 else np.zeros_like(d)
            costs = lock_costs(raw, name, locked, locks) if kept < 0.995 else ()
            attributes.append(p.AttributeInfo(name=name, kept=kept, lock_costs=costs, **infos[name]))
        names, cos = cosine_matrix(raw)
        return p.AttributeDirectionSet(
            request_id=req.request_id, names=tuple(names), attributes=tuple(attributes), steps=steps, directions=conditioned,
            locked=locked, cosines=np.asarray(cos, np.float32), elapsed_ms=elapsed_ms(t0),
        )  # fmt: skip

    # ------------------------------------------------------------------ PCA axes
    def _pca(self, req: p.GetPCAAxes, t0: float) -> p.PCAAxes:
        from engine.semantics.pca import load_pca

        model = self.require_model()
        d = int(model.latent_dim)
        ckpt = getattr(model, "ckpt", None)
        result = load_pca(ckpt) if ckpt is not None else None
        if result is None or not len(result.variance):
            return p.PCAAxes(
                request_id=req.request_id, axes=np.zeros((0, d), np.float32), std=np.zeros(0, np.float32),
                explained=np.zeros(0, np.float32), mean=np.zeros(d, np.float32), elapsed_ms=elapsed_ms(t0),
                note="this model stores no PCA axes (add them with: latent-studio pca MODEL --data DATA)",
            )  # fmt: skip
        info = (getattr(ckpt, "info", None) or {}).get("pca", {}) or {}
        return p.PCAAxes(
            request_id=req.request_id, axes=np.asarray(result.axes, np.float32),
            std=np.sqrt(np.maximum(np.asarray(result.variance, np.float64), 0.0)).astype(np.float32),
            explained=np.asarray(result.explained_ratio, np.float32), mean=np.asarray(result.mean, np.float32).reshape(-1),
            data=str(info.get("data", "")), n=int(result.n), elapsed_ms=elapsed_ms(t0),
        )  # fmt: skip

    # ------------------------------------------------------------------ interpolation and arithmetic
    def _interpolate(self, req: p.Interpolate, t0: float) -> p.Interpolated:
        from engine.semantics.interpolate import MAX_STEPS, even_steps, interpolation_latents, smoothness

        model = self.require_model()
        if not 2 <= int(req.steps) <= MAX_STEPS:
            raise ValueError(f"steps must be within 2..{MAX_STEPS}, got {req.steps}")
        za, zb = self._term(model, req.a, "A").mean, self._term(model, req.b, "B").mean
        with self.budget():
            if req.even:
                z, t = even_steps(model, za, zb, int(req.steps), req.mode)
            else:
                t = np.linspace(0.0, 1.0, int(req.steps))
                z = interpolation_latents(za, zb, int(req.steps), req.mode)
            frames = model.decode(z)
        smooth = {k: float(v) for k, v in smoothness(frames).items() if k != "smooth"}
        return p.Interpolated(
            request_id=req.request_id, frames=frames, z=np.asarray(z, np.float32), t=np.asarray(t, np.float32), mode=req.mode,
            smoothness=smooth, elapsed_ms=elapsed_ms(t0),
        )  # fmt: skip

    def _arithmetic(self, req: p.Arithmetic, t0: float) -> p.ArithmeticResult:
        from engine.semantics.arithmetic import arithmetic_panel

        model = self.require_model()
        terms = [self._term(model, term, what) for term, what in ((req.a, "A"), (req.b, "B"), (req.c, "C"))]
        with self.budget():
            images, used = arithmetic_panel(model, *terms, per_item=max(0, int(req.per_item)))
        ncol = int(used["ncol"])
        items = edited = None
        if used["items"] is not None:
            k = len(used["items"])
            items, edited = images[ncol : ncol + k], images[ncol + k : ncol + 2 * k]
        return p.ArithmeticResult(
            request_id=req.request_id, z=np.asarray(used["result"], np.float32), image=images[3], term_images=images[:3],
            terms_z=np.stack([t.mean for t in terms]).astype(np.float32), descriptions=tuple(t.description for t in terms),
            counts=tuple(t.n for t in terms), items=items, edited=edited, elapsed_ms=elapsed_ms(t0),
        )  # fmt: skip

    # ------------------------------------------------------------------ user attributes
    def _create_user(self, req: p.CreateUserAttribute, t0: float) -> p.UserAttributeSaved:
        from engine.semantics import user_attributes as ua

        model = self.require_model()
        attr = ua.make_user_attribute(
            req.name, req.with_latents, req.without_latents, std=model.latent_stats.std,
            model={"name": model.name, "fingerprint": model.fingerprint},
        )  # fmt: skip
        if attr.latent_dim != model.latent_dim:
            raise ValueError(f"the tagged latents have {attr.latent_dim} dimensions, the model's latent {model.latent_dim}")
        path = ua.save_user_attribute(attr, overwrite=req.overwrite)
        n = len(attr.with_latents) + len(attr.without_latents)
        warning = f"only {n} tagged examples: with fewer than {FEW_EXAMPLES} the direction is mostly noise" if n < FEW_EXAMPLES else ""
        return p.UserAttributeSaved(request_id=req.request_id, attribute=self._summary(attr, model), path=str(path), warning=warning, elapsed_ms=elapsed_ms(t0))

    def _list_user(self, req: p.ListUserAttributes, t0: float) -> p.UserAttributeList:
        return self._user_list(req.request_id, t0)

    def _delete_user(self, req: p.DeleteUserAttribute, t0: float) -> p.UserAttributeList:
        from engine.semantics.user_attributes import delete_user_attribute

        delete_user_attribute(req.name)
        return self._user_list(req.request_id, t0)

    def _export_user(self, req: p.ExportUserAttribute, t0: float) -> p.FileWritten:
        from engine.semantics.user_attributes import export_user_attribute

        dest = Path(req.path)
        if dest.exists() and not req.overwrite:
            raise FileExistsError(f"{dest.name} exists; choose another name")
        out = export_user_attribute(req.name, dest)
        return p.FileWritten(request_id=req.request_id, path=str(out), format="safetensors", bytes=out.stat().st_size, elapsed_ms=elapsed_ms(t0))

    def _import_user(self, req: p.ImportUserAttribute, t0: float) -> p.UserAttributeSaved:
        from engine.semantics.user_attributes import attributes_dir, import_user_attribute, slug

        model = self.model
        attr = import_user_attribute(req.path, name=req.name or None, overwrite=req.overwrite, latent_dim=model.latent_dim if model is not None else None)
        same = self._same_model(model, attr.model)
        warning = "made with another model of the same latent size: its direction may mean something else here" if same is False else ""
        return p.UserAttributeSaved(
            request_id=req.request_id, attribute=self._summary(attr, model), path=str(attributes_dir() / f"{slug(attr.name)}.safetensors"),
            warning=warning, elapsed_ms=elapsed_ms(t0),
        )  # fmt: skip

    # ------------------------------------------------------------------ animation export
    def _export_animation(self, req: p.ExportAnimation, t0: float) -> p.FileWritten:
        from engine.semantics.interpolate import upscale_frames, boomerang, write_frames

        if (req.frames is None) == (req.z is None):
            raise ValueError("ExportAnimation needs frames or latents z (one of them)")
        path = _animation_path(req.path, req.format)
        if path.exists() and not req.overwrite:
            raise FileExistsError(f"{path.name} exists; choose another name")
        if not 0.1 <= float(req.fps) <= 60:
            raise ValueError(f"fps must be within 0.1..60, got {req.fps}")
        if not 1 <= int(req.scale) <= MAX_SCALE:
            raise ValueError(f"scale must be within 1..{MAX_SCALE}, got {req.scale}")
        if req.frames is not None:
            frames = np.asarray(req.frames)
            if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or not len(frames):
                raise ValueError(f"frames must be N×H×W×3 uint8, got {frames.shape} {frames.dtype}")
        else:
            with self.budget():
                frames = self.require_model().decode(np.asarray(req.z, np.float32))
        big = upscale_frames(frames, int(req.scale))
        if req.boomerang and path.suffix.lower() != ".png":
            big = boomerang(big)
        write_frames(big, path, fps=float(req.fps))  # each writer goes through the atomic writer
        return p.FileWritten(
            request_id=req.request_id, path=str(path), format=path.suffix[1:].upper(), bytes=path.stat().st_size, frames=len(big), elapsed_ms=elapsed_ms(t0)
        )


def _animation_path(path: str, fmt: str) -> Path:
    """The file to write: ``format`` decides the suffix (added when missing); without one, the path's suffix."""
    out = Path(path)
    suffix = out.suffix.lower()
    if fmt:
        want = FORMAT_ALIASES.get(fmt.lower().lstrip("."))
        if want is None:
            raise ValueError(f"unknown animation format {fmt!r}; use gif, mp4 or png (a strip)")
        if suffix in FORMAT_ALIASES.values() and suffix != want:
            raise ValueError(f"{out.name} ends in {suffix} but the format is {fmt}")
        return out if suffix == want else out.with_name(out.name + want)
    if suffix not in FORMAT_ALIASES.values():
        raise ValueError(f"{out.name}: write .gif, .mp4 or .png (a strip)")
    return out


def _num(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None

