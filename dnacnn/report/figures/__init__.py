"""The run report's figures, one module per kind of task: each ``*_figure(ctx)`` returns a
matplotlib Figure (or None) drawn from a :class:`dnacnn.report.context.ReportContext`.

:mod:`.common` holds the panel layout and the per-task rows every figure shares; figures show at
most :data:`.common.MAX_PLOT_TASKS` tasks (or classes).
"""
