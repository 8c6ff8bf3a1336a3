"""Interpreting a trained DNA model: attributions, motifs, TF-MoDISco patterns, variant effects.

Contract: one module per job, and this package module imports none of them (``import
dnacnn.interpret.pwm`` loads no torch).  :mod:`.inputs` loads a DNA model and reads its sequences;
:mod:`.attributions` computes ISM, gradient x input and DeepLIFT; :mod:`.explain` is ``dnacnn
explain``; :mod:`.filters` scans first-layer filters; :mod:`.pwm` is matrix math; :mod:`.tomtom`
loads motif databases and matches; :mod:`.logos` draws; :mod:`.motif_files` writes a motifs
folder's tables; :mod:`.motif_report` renders it as HTML; :mod:`.motifs` is ``dnacnn motifs``;
:mod:`.modisco` runs TF-MoDISco; :mod:`.variants` is ``dnacnn variants``.
"""
