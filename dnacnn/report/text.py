"""Numbers and text for people, as HTML fragments: escaping, number formats, signed differences.

Every function returns a string safe to paste into a page (:func:`escape` applied to anything a
user or a file supplied); a missing value prints as an en dash.  No page, figure or report
knowledge lives here.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from dnacnn.metrics import LOWER_IS_BETTER

DOT = " \u00b7 "


def escape(text) -> str:
    return html.escape(str(text), quote=True)


def is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(float(v))


def fmt(v) -> str:
    """Numbers for people: 3 decimals, thousands separators for counts, an en dash for missing."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "\u2013"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isinf(v):
            return "\u221e" if v > 0 else "\u2212\u221e"
        if v.is_integer() and abs(v) >= 1000:
            return f"{int(v):,}"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3g}"
        return f"{v:.3f}" if abs(v) < 10 else f"{v:,.1f}"
    return escape(v)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def signed(v: float) -> str:
    """A difference with its sign: 3 decimals, more when 3 would print 0.000."""
    return f"{v:+.3f}" if v == 0 or abs(v) >= 0.0005 else f"{v:+.1e}"


def p_text(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else "< 0.001"


def delta_span(metric: str, value, base) -> str:
    if value is None or base is None:
        return ""
    diff = value - base
    better = diff < 0 if metric in LOWER_IS_BETTER else diff > 0
    cls = "up" if better else ("flat" if diff == 0 else "down")
    return f'<span class="delta {cls}">{diff:+.3f}</span>'


def join_text(*parts: str) -> str:
    return " ".join(p for p in parts if p)
