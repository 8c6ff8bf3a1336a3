"""``python -m dnacnn`` (used by ``torchrun -m dnacnn train ...`` for multi-GPU training)."""

from dnacnn.cli import app

app(prog_name="dnacnn")
