"""Self-contained HTML reports: one run (:func:`write_report`) and many runs (:func:`write_summary`).

Contract: a report is ONE ``.html`` file that opens offline in any browser: inline CSS, no
JavaScript, every figure a base64 PNG drawn with matplotlib's Agg renderer (no pyplot, so no
global figure state and no display is needed), and no ``http(s)`` resource link.  It is written
atomically (:func:`dnacnn.io.outputs.write_text_atomic`), so a killed run leaves either the previous report
or none.  The caller gathers everything into a :class:`ReportContext`; the package computes nothing
a user would need elsewhere (metrics come from :mod:`dnacnn.metrics`).  Figures show at most
:data:`MAX_PLOT_TASKS` tasks (or classes); tables list them all.  The CNN is always drawn in
:data:`CNN_COLOR` and the baseline in :data:`BASELINE_COLOR`.  Modules: :mod:`.style` (colours, rc),
:mod:`.text` (numbers and escaping), :mod:`.page` (page shell, CSS, embedded figures),
:mod:`.context` (:class:`ReportContext`), :mod:`.figures` (one module per kind of figure),
:mod:`.sections` (text and tables), :mod:`.run` (one run's page), :mod:`.summary` (the page across
runs) and :mod:`.evaluation` (the report of ``dnacnn evaluate``, built from its results).
"""

from dnacnn.report.context import ReportContext
from dnacnn.report.figures.classification import CALIBRATION_BINS, CALIBRATION_MIN_ROWS, ZOOM_FPR
from dnacnn.report.figures.common import MAX_PLOT_TASKS
from dnacnn.report.page import figure_html, new_figure, render_page, write_page
from dnacnn.report.run import render_report, write_report
from dnacnn.report.style import BASELINE_COLOR, CNN_COLOR, DPI, MUTED
from dnacnn.report.summary import summary_row, write_summary

__all__ = [
    "BASELINE_COLOR",
    "CALIBRATION_BINS",
    "CALIBRATION_MIN_ROWS",
    "CNN_COLOR",
    "DPI",
    "MAX_PLOT_TASKS",
    "MUTED",
    "ZOOM_FPR",
    "ReportContext",
    "figure_html",
    "new_figure",
    "render_page",
    "render_report",
    "summary_row",
    "write_page",
    "write_report",
    "write_summary",
]
