"""The optimisation of a per-photo fit (:mod:`engine.fit`), one step at a time, so that a caller
can run it to the end (the CLI) or a slice at a time between other work (the editor's engine)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

#: Which parameters a fit tunes, per family: the decoder side only (the encoder is not used again).
DECODER_PREFIXES = {"vae": ("from_latent.", "decoder."), "cvae": ("from_latent.", "decoder."), "cgan": ("g_ema.",)}
#: The generator's label embedding (kept as trained unless FitConfig.tune_labels).
LABEL_PREFIXES = {"cgan": ("g_ema.embed.",)}


class FitRun:
    """The optimisation of one fit (torch side), a step at a time: :meth:`step` until it returns
    something other than None, or :meth:`stop`."""

    def __init__(self, model, fitted, crop, z, labels, config):
        self.cfg = config
        self.model, self.fitted = model, fitted
        dev = model.device
        self.x = model.to_tensor(crop)[:1].contiguous().float()
        self.z = torch.from_numpy(z[None]).to(dev)
        self.y = model.label_tensor(labels or None, 1)
        prefixes = DECODER_PREFIXES[model.family]
        named = dict(fitted.net.named_parameters())
        for p in fitted.net.parameters():
            p.requires_grad_(False)
        frozen = () if config.tune_labels else LABEL_PREFIXES.get(model.family, ())
        self.names = [k for k in named if k.startswith(prefixes) and not (frozen and k.startswith(frozen))]
        self.params = [named[k].requires_grad_(True) for k in self.names]
        self.opt = torch.optim.Adam(self.params, lr=float(config.lr))
        # a short warm-up (Adam's first steps have the full lr whatever the gradient: a good start
        # at 37 dB fell 8 dB before recovering), then cosine decay to 5 % instead of oscillating at the end
        n, warm = max(1, int(config.steps)), max(1, int(config.steps) // 20)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda t: min(1.0, (t + 1) / warm) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, n) / n)))
        )
        self.gen = torch.Generator().manual_seed(int(config.seed))
        self.pool_z, self.pool_y, self.pool_x = self._pool()
        with torch.no_grad():  # the unfitted reconstruction: what the held changes are measured from
            self.x0 = model.decode_tensor(self.z, self.y).float()
        self.flips, self.flip_change = self._label_flips()
        self.moves, self.move_change, self.move_weight = self._attribute_moves()
        self.start = [p.detach().clone() for p in self.params]
        self.best, self.best_psnr, self.first, self.low = self.start, -1.0, None, 0
        self.history: list[float] = []  # PSNR at each check
        self.done = 0  # optimisation steps done
        self.psnr_db = float("nan")  # at the latest check
        self.checked = False

    def _pool(self):
        """Prior latents (and labels) with the unfitted model's outputs there."""
        m, cfg = self.model, self.cfg
        if cfg.locality_weight <= 0:
            return None, None, None
        zp = torch.from_numpy(m.sample_latents(int(cfg.locality_pool), seed=int(cfg.seed) + 1)).to(m.device)
        space = m.label_space
        yp = None
        if space is not None:
            prior = torch.from_numpy(np.asarray(space.prior, np.float32)).expand(zp.shape[0], -1)
            if space.mode == "onehot":
                yp = F.one_hot(torch.multinomial(prior, 1, generator=self.gen)[:, 0], space.dim).float()
            else:
                yp = torch.bernoulli(prior, generator=self.gen)
            yp = yp.to(m.device)
        if cfg.attribute_pool and m.attributes:
            from engine.protocol import AttributeStep, EditStack

            base = zp.cpu().numpy()
            moved = [base]
            for name in sorted(m.attributes):
                for a in (-3.0, 3.0):
                    step = EditStack(ops=(AttributeStep(name=name, amount=a),)).apply(
                        np.zeros(m.latent_dim, np.float32), m.latent_stats.std, m.attributes
                    )
                    moved.append(base + step[None])
            zp = torch.from_numpy(np.concatenate(moved).astype(np.float32)).to(m.device)
            yp = None if yp is None else yp.repeat(len(moved), 1)
        with torch.no_grad():
            xp = m.decode_tensor(zp, yp).float()
        return zp, yp, xp

    def _label_flips(self):
        """A conditional model with ``label_change_weight``: the pivot's labels, each set to 0 and
        to 1 in turn, and the unfitted model's change for each (held during the fit)."""
        m, cfg = self.model, self.cfg
        if cfg.label_change_weight <= 0 or self.y is None or (m.label_space and m.label_space.mode == "onehot"):
            return None, None
        y = self.y.float()
        rows = []
        for i in range(y.shape[1]):  # each label set to 1 and to 0 (an edit can go either way from an estimate)
            for v in (0.0, 1.0):
                if abs(float(y[0, i]) - v) > 1e-3:
                    row = y[0].clone()
                    row[i] = v
                    rows.append(row)
        if not rows:
            return None, None
        flips = torch.stack(rows)
        with torch.no_grad():
            change = m.decode_tensor(self.z.expand(flips.shape[0], -1), flips).float() - self.x0
        return flips, change

    def _attribute_moves(self):
        """A model with attribute directions and ``attribute_change_weight``: the pivot moved ±3σ
        along each direction (as :func:`engine.fit_gains.attribute_step` and the sliders move it),
        and the unfitted model's change for each (held during the fit, as the label flips are)."""
        from engine.fit_gains import attribute_step

        m, cfg = self.model, self.cfg
        if cfg.attribute_change_weight <= 0 or not m.attributes:
            return None, None, None
        names = [n for n in sorted(m.attributes) if n not in cfg.loose or cfg.loose_weight > 0]
        if not names:
            return None, None, None
        weight = [cfg.loose_weight if n in cfg.loose else cfg.attribute_change_weight for n in names for _ in (0, 1)]
        steps = np.stack([attribute_step(m, n, a) for n in names for a in (3.0, -3.0)]).astype(np.float32)
        moves = self.z + torch.from_numpy(steps).to(self.z.device)
        with torch.no_grad():
            y = None if self.y is None else self.y.expand(moves.shape[0], -1)
            change = m.decode_tensor(moves, y).float() - self.x0
        return moves, change, weight

    def loss(self) -> tuple[torch.Tensor, float]:
        cfg = self.cfg
        # one decode call a step: the pivot, one held attribute move (one direction and sign), the
        # locality batch and one held label flip, each term drawn at random where it is held
        batch = [(self.z, self.y)]
        k = idx = j = None
        if self.moves is not None:
            k = int(torch.randint(0, self.moves.shape[0], (1,), generator=self.gen))
            batch.append((self.moves[k : k + 1], self.y))
        if self.pool_z is not None:
            idx = torch.randint(0, self.pool_z.shape[0], (int(cfg.locality_batch),), generator=self.gen).to(self.pool_z.device)
            batch.append((self.pool_z[idx], None if self.pool_y is None else self.pool_y[idx]))
        if self.flips is not None:
            j = int(torch.randint(0, self.flips.shape[0], (1,), generator=self.gen))
            batch.append((self.z, self.flips[j : j + 1]))
        out = self.fitted.decode_tensor(torch.cat([z for z, _ in batch]), None if self.y is None else torch.cat([y for _, y in batch]))
        rec, *parts = torch.split(out.float(), [len(z) for z, _ in batch])
        mse = F.mse_loss(rec, self.x)
        loss = mse + cfg.l1_weight * (rec - self.x).abs().mean() if cfg.l1_weight > 0 else mse
        if k is not None:
            loss = loss + self.move_weight[k] * F.mse_loss(parts.pop(0) - rec, self.move_change[k : k + 1])
        if idx is not None:
            loss = loss + cfg.locality_weight * F.mse_loss(parts.pop(0), self.pool_x[idx])
        if j is not None:
            loss = loss + cfg.label_change_weight * F.mse_loss(parts.pop(0) - rec, self.flip_change[j : j + 1])
        return loss, float(mse.detach())

    # ------------------------------------------------------------------ step by step
    def step(self) -> str | None:
        """One optimisation step (or, after the last, the final check). None: go on; ``""``: the
        fit has ended (the best weights are in place); otherwise why it diverged (the unfitted
        weights are back). ``checked`` says whether this step measured the PSNR (a progress report)."""
        cfg = self.cfg
        step = self.done + 1
        self.checked = False
        if step > int(cfg.steps):
            return self._end()
        loss, mse = self.loss()
        now = 10.0 * math.log10(1.0 / max(mse, 1e-10)) if math.isfinite(mse) else float("nan")
        if not math.isfinite(float(loss.detach())):
            return self._give_up(f"the fit diverged at step {step} (the loss is not finite); the unfitted model is kept")
        if (step - 1) % cfg.check_every == 0:  # the PSNR of the weights before this step's update
            self.history.append(now)
            self.checked, self.psnr_db = True, now
            self.first = now if self.first is None else self.first
            if now > self.best_psnr:
                self.best_psnr, self.best = now, [p.detach().clone() for p in self.params]
            self.low = self.low + 1 if now < self.first - cfg.diverge_db else 0
            if self.low >= 3:  # Adam's spikes recover within a check or two; three checks this low do not
                return self._give_up(f"the fit diverged at step {step} (PSNR fell from {self.first:.1f} to {now:.1f} dB); "
                                     "the unfitted model is kept")  # fmt: skip
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.sched.step()
        self.done = step
        return None

    def stop(self) -> None:
        """End early: the best weights so far stay."""
        self._restore(self.best)

    def _end(self) -> str:
        with torch.no_grad():
            _, mse = self.loss()
        final = 10.0 * math.log10(1.0 / max(mse, 1e-10)) if math.isfinite(mse) else float("nan")
        if not math.isfinite(final) or final < self.best_psnr:
            if not math.isfinite(final) and self.best is self.start:
                return self._give_up("the fit diverged (the loss is not finite); the unfitted model is kept")
            self._restore(self.best)
        else:
            self.history.append(final)
        self.checked = True
        self.psnr_db = max(final, self.best_psnr) if math.isfinite(final) else self.best_psnr
        self._restore_grad()
        return ""

    def _give_up(self, message: str) -> str:
        self._restore(self.start)
        return message

    def _restore(self, values: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for p, v in zip(self.params, values):
                p.copy_(v)
        self._restore_grad()

    def _restore_grad(self) -> None:
        for p in self.params:
            p.requires_grad_(False)
