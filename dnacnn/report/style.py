"""The house style shared by every figure and page: colours, the PNG resolution and matplotlib's rc.

The CNN is always drawn in :data:`CNN_COLOR` and the baseline in :data:`BASELINE_COLOR`; figures are
drawn under :data:`RC` (``matplotlib.rc_context(RC)``) at :data:`DPI`.  Pure constants: importing this
module imports neither matplotlib nor numpy.
"""

from __future__ import annotations

DPI = 110
CNN_COLOR = "#1f5fa8"
BASELINE_COLOR = "#e07b39"
NEG_COLOR = "#9aa5b1"
POS_COLOR = "#2a9d8f"
GRID_COLOR = "#e3e7ee"
INK = "#1d2330"
MUTED = "#5b6575"


RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.edgecolor": "#9aa3af",
    "axes.labelcolor": INK,
    "axes.titlecolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": GRID_COLOR,
    "grid.linewidth": 0.8,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}
