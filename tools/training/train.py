"""Train the learned style estimator and export it to ONNX (``make train``).

    python -m tools.training.train --music DIR [--out resources/models]

Reproducible: segment order, pair sampling and torch initialisation are seeded. Validation
holds out whole source groups (sub-folders, or the ``group__`` prefix of file names), so the
reported error is on music the model never saw.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn

from engine.estimator.features import N_BANDS, N_FEATURES, N_OUTPUTS
from tools.training.data import collect_cached, music_files
from tools.training.synth import make_dataset

MODEL_NAME = "style-estimator.onnx"


class Estimator(nn.Module):
    """Input standardisation baked in, an MLP, and a structured head: per band, how much of
    the reference/target difference to copy (a learned trust in 0..1) plus a correction, for
    the mid curve and the width; the dynamics goal blends the two loudness distributions."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, hidden: int = 96) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.net = nn.Sequential(
            nn.Linear(N_FEATURES, hidden),
            nn.GELU(),
            nn.Dropout(0.2),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Dropout(0.2),
            nn.Linear(hidden, 4 * N_BANDS + 6),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net((x - self.mean) / self.std)
        b = N_BANDS
        tm, rm, tw, rw = x[:, :b], x[:, b : 2 * b], x[:, 2 * b : 3 * b], x[:, 3 * b : 4 * b]
        t_st, r_st = x[:, -6:-3], x[:, -3:]
        mid = torch.sigmoid(h[:, :b]) * (rm - tm) + h[:, b : 2 * b]
        width = torch.sigmoid(h[:, 2 * b : 3 * b]) * (rw - tw) + h[:, 3 * b : 4 * b]
        k = torch.sigmoid(h[:, 4 * b : 4 * b + 3])
        dyn = k * r_st + (1 - k) * t_st + h[:, 4 * b + 3 :]
        return torch.cat([mid, width, dyn], dim=1)


def group_of(name: str) -> str:
    base = os.path.basename(name)
    return base.split("__", 1)[0] if "__" in base else os.path.basename(os.path.dirname(name))


def loss_fn(pred: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Level-weighted curve error (the offset is free: loudness sets it), width, dynamics."""
    pm, ym = pred[:, :N_BANDS], y[:, :N_BANDS]
    d = pm - ym
    d = d - (d * w).sum(1, keepdim=True)  # centre with the target's band weights
    curve = ((d**2) * (0.5 * w * N_BANDS + 0.5)).mean()
    width = ((pred[:, N_BANDS : 2 * N_BANDS] - y[:, N_BANDS : 2 * N_BANDS]) ** 2).mean()
    dyn = ((pred[:, 2 * N_BANDS :] - y[:, 2 * N_BANDS :]) ** 2).mean()
    return curve + 0.5 * width + 0.3 * dyn


def target_weights(x: np.ndarray) -> np.ndarray:
    """The target's band weights (features 0..N_BANDS are its centred mid levels)."""
    tm = x[:, :N_BANDS].astype(np.float64)
    w = np.sqrt(10 ** ((tm - tm.max(1, keepdims=True)) / 10))
    from engine.estimator.features import BAND_CENTRES_HZ

    w = w * ((BAND_CENTRES_HZ > 60) & (BAND_CENTRES_HZ < 12000))
    return (w / w.sum(1, keepdims=True)).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--music", required=True, help="folder of music files (any format soundfile reads)"
    )
    ap.add_argument("--out", default="resources/models")
    ap.add_argument("--pairs", type=int, default=30000)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--hidden", type=int, default=96)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument(
        "--holdout",
        default="xmoto-data,frozen-bubble-data",
        help="comma-separated groups held out for validation",
    )
    ap.add_argument("--cache", default="", help="npz cache of the analysed segments")
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    t0 = time.time()
    files = music_files(a.music)
    seg = collect_cached(files, a.cache)
    groups = np.array([group_of(files[t]) for t in seg.track])
    held = set(a.holdout.split(",")) & set(groups) if a.holdout else set()
    if not held or held == set(groups):  # another folder: hold out its first group
        held = {sorted(set(groups))[0]}
    val_idx = np.flatnonzero(np.isin(groups, list(held)))
    train_idx = np.flatnonzero(~np.isin(groups, list(held)))
    print(
        f"{len(files)} files, {len(seg.lufs)} segments ({len(train_idx)} train, {len(val_idx)} held out: {sorted(held)}), {time.time() - t0:.0f} s",
        flush=True,
    )
    xtr, ytr = make_dataset(seg, train_idx, a.pairs, a.seed)
    xva, yva = make_dataset(seg, val_idx, max(2000, a.pairs // 10), a.seed + 1)
    print(f"pairs built, {time.time() - t0:.0f} s", flush=True)
    mean, std = xtr.mean(0), xtr.std(0) + 1e-3
    model = Estimator(mean, std, a.hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.epochs)
    X, Y, W = torch.tensor(xtr), torch.tensor(ytr), torch.tensor(target_weights(xtr))
    XV, YV, WV = torch.tensor(xva), torch.tensor(yva), torch.tensor(target_weights(xva))
    best = (float("inf"), 0, {k: v.clone() for k, v in model.state_dict().items()})
    for ep in range(a.epochs):
        model.train()
        perm = torch.randperm(len(X))
        for i in range(0, len(X), 256):
            j = perm[i : i + 256]
            opt.zero_grad()
            loss = loss_fn(model(X[j]), Y[j], W[j])
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            val = float(loss_fn(model(XV), YV, WV))
            train = float(loss_fn(model(X), Y, W))
        print(f"epoch {ep + 1}: train {train:.3f} val {val:.3f}", flush=True)
        if val < best[0]:  # keep the epoch that generalises best to the held-out music
            best = (val, ep + 1, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[2])
    print(f"best epoch {best[1]} (val {best[0]:.3f})", flush=True)
    metrics = evaluate(model, XV, YV, WV)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, MODEL_NAME)
    model.eval()
    torch.onnx.export(
        model,
        (XV[:1],),
        path,
        input_names=["features"],
        output_names=["plan"],
        dynamic_axes={"features": {0: "n"}, "plan": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    card = {
        "model": MODEL_NAME,
        "inputs": N_FEATURES,
        "outputs": N_OUTPUTS,
        "music_files": len(files),
        "segments": int(len(seg.lufs)),
        "held_out_groups": sorted(held),
        "pairs": a.pairs,
        "epochs": a.epochs,
        "best_epoch": best[1],
        "seed": a.seed,
        "hidden": a.hidden,
        "lr": a.lr,
        "validation": metrics,
        "train_seconds": round(time.time() - t0, 1),
        "torch": torch.__version__,
    }
    with open(os.path.join(a.out, "style-estimator.json"), "w") as fh:
        json.dump(card, fh, indent=1)
    print(json.dumps(card, indent=1))


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor
) -> dict[str, float]:
    """Held-out errors of the model and of the rule of copying the reference (the raw
    difference of the two centred spectra), in dB."""
    model.eval()
    with torch.no_grad():
        p = model(x)

    def curve_rms(pred: torch.Tensor) -> float:
        d = pred - y[:, :N_BANDS]
        d = d - (d * w).sum(1, keepdim=True)
        return float(torch.sqrt(((d**2) * w).sum(1)).median())

    copy = x[:, N_BANDS : 2 * N_BANDS] - x[:, :N_BANDS]
    return {
        "curve_rms_db_median": round(curve_rms(p[:, :N_BANDS]), 3),
        "copy_reference_curve_rms_db_median": round(curve_rms(copy), 3),
        "width_rms_db": round(
            float(
                torch.sqrt(
                    ((p[:, N_BANDS : 2 * N_BANDS] - y[:, N_BANDS : 2 * N_BANDS]) ** 2).mean()
                )
            ),
            3,
        ),
        "dynamics_rms_lu": round(
            float(torch.sqrt(((p[:, 2 * N_BANDS :] - y[:, 2 * N_BANDS :]) ** 2).mean())), 3
        ),
    }


if __name__ == "__main__":
    main()
