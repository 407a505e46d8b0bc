"""The colours lossdb draws losses with, everywhere: the report, the figures, the shaded
notebook tables and the terminal. A loss is shaded from nothing (0) to LOSS_RGB (the highest
loss shown)."""
from __future__ import annotations

LOSS_RGB = (203, 45, 62)  # the red of a high loss
OK_RGB = (127, 140, 154)  # the grey of what went right (figures)
DIM_RGB = (150, 150, 150)  # the terminal's low end, where a transparent cell cannot be drawn


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def css_rgb(rgb: tuple[int, int, int] = LOSS_RGB) -> str:
    """'203, 45, 62': the triple as CSS's rgba(...) takes it."""
    return ", ".join(str(c) for c in rgb)
