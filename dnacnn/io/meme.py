"""MEME motif files: minimal MEME v4 letter-probability matrices, written and read.

Contract: :func:`write_meme` writes matrices ``(4, w)`` (A, C, G, T rows) as a minimal MEME v4
file atomically, each ``MOTIF <name> <consensus>`` with its site count; :func:`read_meme` returns
``(ids, names, ppms)`` of any MEME file (``MOTIF ID [NAME]`` lines, ``letter-probability matrix``
blocks) or fails with one line naming the file and line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnacnn.codes import DNA_ALPHABET
from dnacnn.errors import DnacnnError
from dnacnn.interpret.pwm import consensus
from dnacnn.io.outputs import write_text_atomic


def write_meme(
    path, names: list[str], ppms: list[np.ndarray], n_sites: list[int], background=(0.25, 0.25, 0.25, 0.25)
) -> None:
    """Write letter-probability matrices ``(4, w)`` as a minimal MEME v4 file (atomically)."""
    lines = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        " ".join(f"{b} {f:.3f}" for b, f in zip(DNA_ALPHABET, background)),
        "",
    ]
    for name, ppm, sites in zip(names, ppms, n_sites):
        lines.append(f"MOTIF {name} {consensus(ppm)}")
        lines.append(f"letter-probability matrix: alength= 4 w= {ppm.shape[1]} nsites= {int(sites)} E= 0")
        lines += [" ".join(f"{v:.6f}" for v in column) for column in ppm.T]
        lines.append("")
    write_text_atomic(path, "\n".join(lines) + "\n")


def read_meme(path) -> tuple[list[str], list[str], list[np.ndarray]]:
    """``(ids, names, ppms (4, w))`` of a MEME file; a MOTIF line is ``MOTIF ID [NAME]``."""
    ids, names, ppms = [], [], []
    rows: list[list[float]] | None = None
    width = 0
    path = Path(path)
    if not path.is_file():
        raise DnacnnError(f"{path}: motif database not found; give a MEME file or a JASPAR release name")
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if fields[:1] == ["MOTIF"] and len(fields) >= 2:
            ids.append(fields[1])
            names.append(fields[2] if len(fields) > 2 else fields[1])
            rows = None
        elif line.startswith("letter-probability matrix") and ids:
            try:
                width = int(line.split("w=")[1].split()[0])
            except (IndexError, ValueError):
                raise DnacnnError(f"{path}:{lineno}: letter-probability line without w=; fix the MEME file") from None
            rows = []
        elif rows is not None and len(rows) < width and fields:
            try:
                rows.append([float(v) for v in fields[:4]])
            except ValueError:
                raise DnacnnError(f"{path}:{lineno}: expected 4 probabilities; fix the MEME file") from None
            if len(rows) == width:
                ppms.append(np.array(rows).T)
                rows = None
    if not ppms or len(ppms) != len(ids):
        raise DnacnnError(f"{path}: no complete letter-probability matrices found; give a MEME v4 file")
    return ids, names, ppms
