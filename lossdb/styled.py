"""DataFrames that Jupyter shows with their losses shaded (a pandas Styler), for Store.top and
Store.samples. They are ordinary DataFrames in every other respect; anything derived from
one (a slice, a copy) is a plain DataFrame."""
from __future__ import annotations

import math

import pandas as pd

from lossdb.palette import css_rgb


def shade(value, scale: float) -> str:
    """CSS for a loss `value` on a 0..`scale` red ramp (white text on the darkest cells)."""
    try:
        loss = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(loss) or scale <= 0 or loss <= 0:
        return ""
    alpha = min(1.0, loss / scale)
    text = "color: white; " if alpha > 0.55 else ""
    return f"{text}background-color: rgba({css_rgb()}, {alpha:.3f})"


class ShadedFrame(pd.DataFrame):
    """A DataFrame of `Store.top` (kind 'top') or one of `Store.samples` (kind 'sample')."""

    _metadata = ["_kind", "_scale"]

    # Anything derived from it (a slice, a copy, .T) is a plain DataFrame: the shading reads
    # this frame's own layout (a 'losses' row, or loss columns). pandas builds some results
    # with type(self) instead of _constructor (transpose of object columns), hence transpose.
    @property
    def _constructor(self):
        return pd.DataFrame

    def transpose(self, *args, **kwargs) -> pd.DataFrame:
        return pd.DataFrame(self).transpose(*args, **kwargs)

    @property
    def T(self) -> pd.DataFrame:  # noqa: N802 (pandas' name)
        return self.transpose()

    @classmethod
    def of(cls, frame: pd.DataFrame, *, kind: str, scale: float | None = None) -> "ShadedFrame":
        out = cls(frame)
        out._kind = kind
        out._scale = scale
        return out

    def style_losses(self):
        """A pandas Styler: for `top`, total_loss and mean_loss shaded by their size and
        label_quality by how low it is, the lists of losses to two decimals; for a sample,
        the losses row shaded."""
        styler = pd.DataFrame(self).style
        if self._kind == "sample":
            scale = self._scale or max((float(v) for v in self.loc["losses"]), default=0.0)

            def css(frame: pd.DataFrame) -> pd.DataFrame:
                out = pd.DataFrame("", index=frame.index, columns=frame.columns)
                out.loc["losses"] = [shade(v, scale) for v in frame.loc["losses"]]
                return out

            return styler.apply(css, axis=None)
        for column in ("total_loss", "mean_loss"):
            if column in self.columns and len(self):
                top = float(pd.to_numeric(self[column], errors="coerce").max() or 0.0)
                styler = styler.map(lambda v, top=top: shade(v, top), subset=[column])
        if "label_quality" in self.columns:
            styler = styler.map(lambda v: shade(1.0 - v if v is not None else None, 1.0), subset=["label_quality"])
        lists = [c for c in ("losses",) if c in self.columns]
        if lists:
            styler = styler.format(lambda xs: " ".join(f"{float(x):.2f}" for x in xs), subset=lists)
        return styler.format(precision=3, subset=[c for c in ("total_loss", "mean_loss", "label_quality") if c in self.columns])

    def _repr_html_(self) -> str | None:
        try:
            return self.style_losses().to_html()
        except ImportError:  # Styler needs jinja2
            return super()._repr_html_()
