"""The page shell: one self-contained HTML page in the house style, and figures embedded in it.

:func:`render_page` wraps trusted HTML in the page (inline CSS, no JavaScript, no ``http(s)``
resource); :func:`write_page` writes it atomically (:func:`dnacnn.io.outputs.write_text_atomic`).
:func:`figure_html` draws a matplotlib figure (Agg, no pyplot state) under the house style and
embeds it as a base64 PNG; :func:`new_figure` makes the figure.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from string import Template

from dnacnn import __version__
from dnacnn.io.outputs import write_text_atomic
from dnacnn.report.style import BASELINE_COLOR, CNN_COLOR, DPI, INK, MUTED, RC
from dnacnn.report.text import escape

_CSS = Template(
    """
:root{--cnn:$cnn;--base:$base;--ink:$ink;--muted:$muted;--line:#e3e7ee;--bg:#f5f7fa;--good:#1a7f4b;--bad:#b42318}
*{box-sizing:border-box}
html{background:var(--bg)}
body {
  margin:0;color:var(--ink);
  font:15px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  -webkit-font-smoothing:antialiased;
}
main{max-width:1100px;margin:0 auto;padding:28px 28px 56px}
header {
  background:#fff;border:1px solid var(--line);border-radius:12px;padding:26px 30px 20px;
  border-top:5px solid var(--cnn);
}
.eyebrow{text-transform:uppercase;letter-spacing:.09em;font-size:11.5px;font-weight:600;color:var(--muted)}
h1{font-size:27px;line-height:1.25;margin:4px 0 4px;font-weight:650;letter-spacing:-.01em}
h2{font-size:18px;margin:0 0 14px;font-weight:650;letter-spacing:-.005em}
h3{font-size:14.5px;margin:20px 0 8px;font-weight:650}
.sub{color:var(--muted);margin:0 0 18px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:14px}
.card{border:1px solid var(--line);border-radius:10px;padding:14px 16px;background:linear-gradient(#fff,#fafbfd)}
.card .label{font-size:12.5px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.05em}
.card .big{font-size:38px;font-weight:700;color:var(--cnn);line-height:1.15;font-variant-numeric:tabular-nums}
.card .vs{font-size:13px;color:var(--muted);margin-top:2px}
.card .vs b{color:var(--ink);font-weight:600;font-variant-numeric:tabular-nums}
i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.delta {
  font-weight:650;font-size:12.5px;padding:1px 6px;border-radius:10px;margin-left:4px;
  font-variant-numeric:tabular-nums;
}
.delta.up{color:var(--good);background:#e6f4ec}
.delta.down{color:var(--bad);background:#fdecea}
.delta.flat{color:var(--muted);background:#eef1f5}
.verdict{margin:16px 0 6px;font-size:15px}
.card .ci{font-size:12.5px;color:var(--muted);font-variant-numeric:tabular-nums;margin-top:-2px}
small.ci{display:block;font-size:11.5px;color:var(--muted);font-weight:400}
p.how{color:var(--muted);font-size:13.5px;margin:-6px 0 12px;max-width:860px}
p.caveat {
  background:#fff8e6;border:1px solid #f3d58a;border-radius:8px;padding:8px 12px;font-size:13.5px;margin:10px 0;
}
.split.evaluated{border-color:var(--cnn)}
code.seq{font:11.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
table.errors td:last-child{white-space:normal;min-width:280px;max-width:560px}
.legend{font-size:13px;color:var(--muted)}
.legend .key{margin-right:18px}
nav.toc{display:flex;flex-wrap:wrap;gap:6px 8px;margin:16px 2px}
nav.toc a {
  font-size:13px;color:var(--ink);text-decoration:none;padding:4px 11px;border:1px solid var(--line);
  border-radius:14px;background:#fff;
}
nav.toc a:hover{border-color:var(--cnn);color:var(--cnn)}
section{background:#fff;border:1px solid var(--line);border-radius:12px;padding:22px 28px;margin:16px 0}
figure{margin:6px 0 4px}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption,.note{font-size:13px;color:var(--muted);margin:8px 0 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13.5px}
table.data th,table.data td {
  padding:6px 11px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap;
}
table.data th:first-child,table.data td:first-child,table.data td.t{text-align:left}
table.data thead th {
  font-weight:600;color:var(--muted);font-size:12.5px;border-bottom:1.5px solid #cfd6df;text-align:center;
}
table.data thead th:first-child{text-align:left}
table.data tbody tr:hover{background:#f7f9fc}
table.summary td.wrap{white-space:normal;min-width:160px}
table.summary th,table.summary td{padding:6px 8px}
table.metrics th.c{color:var(--cnn)}
table.metrics th.b,table.metrics td.b{color:#9a5a2c}
table.metrics td.b{border-right:1px solid var(--line)}
table.metrics td.win{font-weight:700}
table.metrics tr.macro td{border-top:1.5px solid #cfd6df;font-weight:600;background:#fafbfd}
table.inner{font-size:12.5px}
table.kv > tbody > tr > th {
  text-align:left;font-weight:600;color:var(--muted);padding:5px 18px 5px 0;vertical-align:top;white-space:nowrap;
  font-size:13px;
}
table.kv > tbody > tr > td{padding:5px 0;vertical-align:top;word-break:break-word}
table.kv table.kv{margin:0}
code.hash{font:11.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#4b5563;word-break:break-all}
pre {
  background:#f6f8fb;border:1px solid var(--line);border-radius:8px;padding:14px 16px;overflow:auto;
  max-height:520px;font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;
  margin:0;
}
.scroll{overflow-x:auto}
.splits{display:flex;flex-wrap:wrap;gap:12px;margin:14px 0 4px}
.split{border:1px solid var(--line);border-radius:9px;padding:8px 16px;min-width:110px}
.split b{display:block;font-size:22px;font-variant-numeric:tabular-nums}
.split span{color:var(--muted);font-size:13px}
.split em{font-style:normal;color:var(--muted);font-size:12px;margin-left:8px}
.split.total{background:#f6f8fb}
td.barcell{width:160px}
.bar{height:8px;background:#eef1f5;border-radius:4px;overflow:hidden;min-width:120px}
.bar i{display:block;height:100%;background:var(--cnn);margin:0;border-radius:0}
details{margin-top:14px}
summary{cursor:pointer;color:var(--cnn);font-size:13.5px;font-weight:600}
details > :not(summary){margin-top:10px}
a{color:var(--cnn)}
footer{color:var(--muted);font-size:12.5px;text-align:center;margin-top:26px}
@media (max-width:820px){
  main{padding:14px 10px 40px}section{padding:16px 14px}header{padding:18px 16px 14px}
  .card .big{font-size:30px}h1{font-size:22px}
}
@media print{html{background:#fff}section,header{break-inside:avoid;border-color:#ccc}nav.toc{display:none}}
"""
).substitute(cnn=CNN_COLOR, base=BASELINE_COLOR, ink=INK, muted=MUTED)


def write_page(path: str | os.PathLike, title: str, content: str) -> None:
    """Write trusted ``content`` HTML as a self-contained page in the house style (atomically)."""
    write_text_atomic(Path(path), render_page(title, content))


def figure_html(draw, caption: str = "", alt: str = "") -> str:
    """Run ``draw() -> Figure | None`` under the house style and embed the figure as a base64 PNG
    (``""`` when ``draw`` returns None)."""
    import matplotlib

    with matplotlib.rc_context(RC):
        fig = draw()
        if fig is None:
            return ""
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def new_figure(width: float, height: float):
    """A matplotlib Figure (no pyplot state) with constrained layout at the report's DPI."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def render_page(title: str, content: str) -> str:
    """Trusted ``content`` HTML as a whole page (doctype, inline CSS, footer)."""
    footer = f"<footer>Written by dnacnn {__version__}. Self-contained page: it opens offline.</footer>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="dnacnn {__version__}"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><main>{content}{footer}</main></body></html>\n"
    )
