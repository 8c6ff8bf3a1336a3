"""dnacnn.io.tsv: the one TSV writer writes what it is given, or refuses a cell that breaks a row."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from dnacnn.errors import DnacnnError
from dnacnn.io.tsv import TsvWriter, open_tsv, write_table


def test_a_table_is_written_as_pandas_formats_it_without_quotes(tmp_path):
    table = pd.DataFrame({"id": ["a", 'b"c'], "x": [1 / 3, np.nan], "n": [1, 2], "ok": [True, False]})
    write_table(tmp_path / "t.tsv", table, "%.4f")
    assert (tmp_path / "t.tsv").read_text() == 'id\tx\tn\tok\na\t0.3333\t1\tTrue\nb"c\t\t2\tFalse\n'
    normal = table.iloc[:1]  # without a quote: the same bytes as pandas' own TSV
    write_table(tmp_path / "n.tsv", normal, "%.6g")
    assert (tmp_path / "n.tsv").read_text() == normal.to_csv(sep="\t", index=False, float_format="%.6g")


@pytest.mark.parametrize("value", ["a\tb", "a\nb", "a\rb", "a\x0bb", "a\x1cb", "a\x85b", "a\u2028b", "a\u2029b"])
def test_a_table_cell_with_a_break_is_refused_and_nothing_written(tmp_path, value):
    table = pd.DataFrame({"id": ["ok", value], "x": [1.0, 2.0]})
    with pytest.raises(DnacnnError, match=r"t.tsv:3: column 1 \(id\) would get") as e:
        write_table(tmp_path / "t.tsv", table, shown_as="t.tsv")
    assert len(str(e.value).splitlines()) == 1
    with pytest.raises(DnacnnError, match=r"h.tsv:1: column 2 would get"):
        write_table(tmp_path / "h.tsv", pd.DataFrame({"id": ["a"], value: [1.0]}), shown_as="h.tsv")
    assert list(tmp_path.iterdir()) == []


def test_streamed_rows_columns_and_scores():
    f = io.StringIO()
    w = TsvWriter(f, "p.tsv", ["id", "a", "b"])
    w.write_scores(["r1", "r2"], np.array([[0.5, 1 / 3], [2.0, np.nan]]))
    w.write_rows([["r3", "x", "y"]])
    w.write_columns([np.array(["r4", "r5"]), ["1", "2"], ["3", "4"]])
    w.write_text("r6\t5\t6\n", 1)
    assert f.getvalue() == "id\ta\tb\nr1\t0.5\t0.333333\nr2\t2\tnan\nr3\tx\ty\nr4\t1\t3\nr5\t2\t4\nr6\t5\t6\n"
    assert w.line == 7


@pytest.mark.parametrize(
    "write, where",
    [
        (lambda w: w.write_scores(["ok", "b\tc"], np.zeros((2, 2))), "p.tsv:3: column 1 (id)"),
        (lambda w: w.write_rows([["ok", "1", "2"], ["r", "1", "2\u2028"]]), "p.tsv:3: column 3 (b)"),
        (lambda w: w.write_columns([["ok", "r\x85"], ["1", "2"], ["3", "4"]]), "p.tsv:3: column 1 (id)"),
        (lambda w: w.write_text("ok\t1\t2\t3\n", 1), "p.tsv:2: column 3"),
        (lambda w: w.write_text("ok\t1\r2\n", 1), "p.tsv:2: column 2"),
    ],
)
def test_a_streamed_cell_with_a_break_is_refused_before_it_is_written(write, where):
    f = io.StringIO()
    w = TsvWriter(f, "p.tsv", ["id", "a", "b"])
    with pytest.raises(DnacnnError) as e:
        write(w)
    assert str(e.value).startswith(where), str(e.value)
    assert f.getvalue() == "id\ta\tb\n"


def test_a_refused_stream_leaves_no_file(tmp_path):
    with pytest.raises(DnacnnError), open_tsv(tmp_path / "p.tsv", ["id", "x"]) as w:
        w.write_scores(["a\u2028b"], np.zeros((1, 1)))
    assert list(tmp_path.iterdir()) == []
    with open_tsv(tmp_path / "g.bedGraph", 4) as w:  # no header
        w.write_text("chr1\t0\t20\t0.5\n", 1)
    assert (tmp_path / "g.bedGraph").read_text() == "chr1\t0\t20\t0.5\n"
