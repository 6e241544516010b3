"""The robust fine-tuning claims the harness exists to test, checked on a tidy frame.

Each claim is computed from seed means and reported with its numbers and a verdict, so a results
document states what was measured rather than what was hoped (docs/results-embedded.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class Claim:
    text: str
    measured: str
    holds: bool


def _acc_means(frame: pd.DataFrame, method: str, alpha: float | None = None) -> tuple[float, float]:
    """(ID accuracy, mean OOD accuracy) in percent, means over seeds."""
    part = frame[(frame["method"] == method) & (frame["metric"] == "acc")]
    part = part[part["alpha"].isna()] if alpha is None else part[(part["alpha"] - alpha).abs() < 1e-9]
    per_seed = part.groupby(["seed", "role"], observed=True)["value"].mean().unstack("role")
    return 100 * per_seed["id"].mean(), 100 * per_seed["ood"].mean()


def _ood_mean(frame: pd.DataFrame, method: str, metric: str) -> float:
    part = frame[(frame["method"] == method) & (frame["metric"] == metric) & (frame["role"] == "ood")
                 & frame["alpha"].isna()]
    return part.groupby("seed")["value"].mean().mean()


def wise_curve(frame: pd.DataFrame, method: str = "ft+wise") -> pd.DataFrame:
    """Per alpha: ID, mean OOD, and the excess over the straight line between the endpoints."""
    part = frame[(frame["method"] == method) & (frame["metric"] == "acc") & frame["alpha"].notna()]
    per_seed = part.groupby(["alpha", "seed", "role"], observed=True)["value"].mean().unstack("role")
    means = 100 * per_seed.groupby(level="alpha").mean()
    curve = pd.DataFrame({"alpha": means.index.to_numpy(dtype=float), "id": means["id"].to_numpy(),
                          "ood": means["ood"].to_numpy()})
    first, last = curve.iloc[0], curve.iloc[-1]
    slope = (last["ood"] - first["ood"]) / (last["id"] - first["id"]) if last["id"] != first["id"] else 0.0
    curve["excess"] = curve["ood"] - (first["ood"] + slope * (curve["id"] - first["id"]))
    return curve


def check_claims(frame: pd.DataFrame, curve: pd.DataFrame | None = None) -> list[Claim]:
    """The verdicts that the methods in `frame` allow; `curve` is wise_curve(frame) if known."""
    methods = set(frame["method"].unique())
    claims: list[Claim] = []
    if {"zeroshot", "ft"} <= methods:
        (zi, zo), (fi, fo) = _acc_means(frame, "zeroshot"), _acc_means(frame, "ft")
        claims.append(Claim("FT's ID accuracy is above zero-shot's", f"{fi:.1f} vs {zi:.1f}", fi > zi))
        claims.append(Claim("FT's mean OOD accuracy is below zero-shot's", f"{fo:.1f} vs {zo:.1f}", fo < zo))
    if {"ft", "lipsum"} <= methods:
        (fi, fo), (li, lo) = _acc_means(frame, "ft"), _acc_means(frame, "lipsum")
        claims.append(Claim("Lipsum-FT's mean OOD accuracy is above FT's", f"{lo:.1f} vs {fo:.1f}", lo > fo))
        claims.append(Claim("Lipsum-FT's ID accuracy is within 2 pp of FT's", f"{li:.1f} vs {fi:.1f}",
                            abs(li - fi) <= 2.0))
        lg, fg = _ood_mean(frame, "lipsum", "energy_gap"), _ood_mean(frame, "ft", "energy_gap")
        claims.append(Claim("Lipsum-FT's mean OOD energy gap is below FT's",
                            f"{lg:.3f} vs {fg:.3f} ({fg / lg:.1f}x lower)" if lg > 0 else f"{lg} vs {fg}", lg < fg))
    if "ft+wise" in methods:
        curve = wise_curve(frame) if curve is None else curve
        inner = curve.iloc[1:-1]
        claims.append(Claim("WiSE-FT's curve on FT lies above the straight line between its endpoints",
                            f"excess {inner['excess'].min():+.1f} to {inner['excess'].max():+.1f} pp "
                            f"over alphas {inner['alpha'].min():g}-{inner['alpha'].max():g}",
                            bool(len(inner)) and bool((inner["excess"] > 0).all())))
    return claims


def claims_markdown(frame: pd.DataFrame) -> str:
    """The claims table and the WiSE curve as Markdown; empty when no claim applies."""
    curve = wise_curve(frame) if "ft+wise" in set(frame["method"].unique()) else None
    claims = check_claims(frame, curve)
    if not claims:
        return ""
    lines = ["| claim | measured (seed means) | holds |", "|---|---|---|"]
    lines += [f"| {c.text} | {c.measured} | {'yes' if c.holds else 'NO'} |" for c in claims]
    text = "\n".join(lines) + "\n"
    if curve is not None:
        text += "\nWiSE-FT curve (ID / mean OOD accuracy, %, and excess over the endpoints' line, pp):\n\n"
        text += "| alpha | ID | OOD mean | excess |\n|---:|---:|---:|---:|\n"
        text += "".join(f"| {r.alpha:g} | {r.id:.1f} | {r.ood:.1f} | {r.excess:+.1f} |\n"
                        for r in curve.itertuples())
    return text
