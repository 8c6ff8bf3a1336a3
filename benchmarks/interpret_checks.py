"""Interpretation checks on real data, all of them, with timings: what tests/test_motifs.py and
tests/test_explain.py assert (some of those tests are marked ``slow``), run here in one report.

* Zou et al. 2019 primer (every positive holds CGACCGAACTCC): the zou2019 preset trained as in
  the tests (10 epochs, batch 64, 1500/500 split); on the held-out positives, the share whose
  best 12-bp attribution window overlaps / equals the 12-mer, for ISM, gradient x input and
  DeepLIFT; and the first-layer filters whose consensus spells >= 6 bases of the 12-mer.
* DeepBind ENCODE experiments (REST, CTCFL, GABPA by default): the recipe of
  ``tests/test_motifs.py::tf_motifs`` (top 1000 AC peaks + dinucleotide shuffles, deepbind preset,
  10 epochs with fresh negatives), then the most influential filter's best JASPAR 2024 match
  (Tomtom p and q), whether that match is calibrated (q < 1e-3, better than against shuffled
  targets) and whether one of its 5 best significant matches is the expected motif (REST/NRSF;
  CTCF/CTCFL; an ETS factor).
* TF-MoDISco (``dnacnn motifs --method modisco``, issue 23) on the workflow's REST model: the
  recipe of ``tests/test_motifs.py::test_rest_workflow_model_filters_name_rest`` (the bundled top
  1,500 AC peaks + dinucleotide shuffles, tfbind preset, 5 epochs with fresh negatives), then
  TF-MoDISco on gradient x input of the 1,500 positives: a pattern whose best JASPAR 2024 match is
  REST with q < 0.05 (and calibrated).  Needs no shared data.

Run:  python benchmarks/interpret_checks.py [--checks zou,tfs,modisco] [--tfs REST,CTCFL,GABPA]
      [--seeds 1] [--threads 2]
Writes benchmarks/results/interpret_checks.md (all checks) or interpret_checks_<checks>.md (some).
Data: ../shared/data (or $DNACNN_SHARED_DATA) for the tfs checks.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the checks' recipes live beside the tests that assert them
SHARED = Path(os.environ.get("DNACNN_SHARED_DATA", REPO.parent / "shared" / "data"))
MOTIF = "CGACCGAACTCC"


def zou_checks(work: Path, seed: int) -> list[list]:
    import torch

    from dnacnn.encode import EncodeOptions, encode
    from dnacnn.interpret.attributions import attribute, best_windows, position_scores
    from dnacnn.interpret.motifs import motifs
    from dnacnn.modelfile import load_model
    from dnacnn.store import Store
    from dnacnn.train import TrainSettings, train

    data = REPO / "tests" / "data"
    opts = EncodeOptions(format="lines", labels=str(data / "zou_labels.txt"), test_frac=0.25, progress=False)
    store = encode(data / "zou_sequences.txt", work / f"zou{seed}.store", opts)
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        model = train(store, work / f"zou{seed}.dnacnn", TrainSettings(model="zou2019", epochs=10, batch_size=64,
                      seed=seed, progress=False, device="cpu")).model_path  # fmt: skip
    train_s = time.perf_counter() - t0
    s = Store.open(store)
    test = s.indices("test")
    codes = np.asarray(s.codes[test[np.asarray(s.labels[test])[:, 0] == 1]])
    where = np.array(["".join("ACGTN"[c] for c in row).find(MOTIF) for row in codes])
    m = load_model(model)
    X = torch.as_tensor(np.eye(5, 4, dtype=np.float32)[codes].transpose(0, 2, 1))
    rows = []
    for method in ("ism", "gradxinput", "deeplift"):
        t0 = time.perf_counter()
        attr = attribute(m.module, m.meta.head, X, method, codes=codes)
        seconds = time.perf_counter() - t0
        start, _ = best_windows(position_scores(attr, codes, method), len(MOTIF))
        overlap, exact = np.mean(np.abs(start - where) < len(MOTIF)), np.mean(start == where)
        rows.append([f"Zou seed {seed}", f"explain {method}", f"{len(codes)} held-out positives",
                     f"overlap {overlap:.3f}, exact {exact:.3f}", "pass" if overlap >= 0.95 else "FAIL",
                     f"{seconds:.1f} (train {train_s:.0f})"])  # fmt: skip
    t0 = time.perf_counter()
    result = motifs(model, store, work / f"zou{seed}_motifs", device="cpu", logos=False)
    seconds = time.perf_counter() - t0
    kmers = {MOTIF[i : i + 6] for i in range(len(MOTIF) - 5)}
    t = result.filters
    strong = t.consensus.str.replace(r"[a-z]", "n", regex=True)
    carrying = t[strong.map(lambda c: any(k in c for k in kmers))]
    best = carrying.iloc[0] if len(carrying) else None
    detail = (
        "none"
        if best is None
        else (
            f"{len(carrying)} filters, e.g. {best['filter']} {best['consensus']} (JASPAR best {best['best_name']} "
            f"q={best['best_q_value']:.2g})"
        )
    )
    rows.append([f"Zou seed {seed}", "motifs", f"{result.motifs.n_sequences} positives", detail,
                 "pass" if best is not None else "FAIL", f"{seconds:.1f}"])  # fmt: skip
    return rows


def tf_check(work: Path, tf: str) -> list:
    from test_motifs import tf_check_passes, tf_motifs

    t0 = time.perf_counter()
    result = tf_motifs(SHARED, tf, work)
    seconds = time.perf_counter() - t0
    top = next(result.filters.itertuples())
    ok = tf_check_passes(result, tf)
    return [tf, "motifs (top-influence filter)", f"{top.filter} {top.consensus}",
            f"{top.best_name} {top.best_id} [{top.best_family}] p={top.best_p_value:.2g} q={top.best_q_value:.2g}",
            "pass" if ok else "FAIL", f"{seconds:.0f} (incl. training)"]  # fmt: skip


def modisco_rest_check(work: Path) -> list:
    from dnacnn.encode import EncodeOptions, encode
    from dnacnn.interpret.motifs import motifs
    from dnacnn.train import TrainSettings, train

    data = REPO / "data" / "deepbind" / "REST_GM12878_NRSF_HudsonAlpha_AC.top1500.seq.gz"
    opts = EncodeOptions(seq_col="seq", id_col="EventID", label_cols=["Bound"], negatives="shuffle",
                         valid_frac=0.1, test_frac=0.0, progress=False)  # fmt: skip
    store = encode(data, work / "rest_modisco.store", opts)
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        topts = TrainSettings(model="tfbind", epochs=5, fresh_negatives=True, progress=False, device="cpu")
        model = train(store, work / "rest_modisco.dnacnn", topts).model_path
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = motifs(model, store, work / "rest_modisco", method="modisco", logos=False, device="cpu")
    seconds = time.perf_counter() - t0
    t = result.patterns
    rest = t[(t.best_name == "REST") & (t.best_q_value < 0.05) & t.matched.astype(bool)]
    best = rest.iloc[0] if len(rest) else t.iloc[0]
    detail = (
        f"{len(t)} patterns; {best['pattern']} ({best['n_seqlets']} seqlets) {best['consensus']} ~ {best['best_name']} "
        f"{best['best_id']} p={best['best_p_value']:.2g} q={best['best_q_value']:.2g}"
    )
    return ["REST (workflow tfbind model)", "motifs --method modisco (gradxinput)",
            f"{result.modisco.n_sequences} positives", detail, "pass" if len(rest) else "FAIL",
            f"{seconds:.0f} (train {train_s:.0f})"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", default="zou,tfs,modisco", help="which checks to run: zou, tfs, modisco")
    parser.add_argument("--tfs", default="REST,CTCFL,GABPA", help="DeepBind experiments (prefixes) to check")
    parser.add_argument("--seeds", type=int, default=1, help="Zou training seeds")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    checks = [c for c in args.checks.split(",") if c]
    if set(checks) - {"zou", "tfs", "modisco"}:
        sys.exit(f"unknown --checks {args.checks!r}; use zou, tfs and/or modisco")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "zou" in checks:
            for seed in range(args.seeds):
                rows += zou_checks(work, seed)
        for tf in [t for t in args.tfs.split(",") if t] if "tfs" in checks else []:
            if not (SHARED / "deepbind-encode").is_dir():
                sys.exit(f"{SHARED}/deepbind-encode not found; set DNACNN_SHARED_DATA")
            rows.append(tf_check(work, tf))
        if "modisco" in checks:
            rows.append(modisco_rest_check(work))
    header = ["data", "check", "on", "result", "verdict", "seconds"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    where = f"{platform.machine()}, torch {torch.__version__}, {args.threads} thread(s)"
    text = "\n".join(["# Interpretation checks", "", f"{where}, Python {platform.python_version()}", "", *table, ""])
    print(text)
    name = "interpret_checks" if set(checks) == {"zou", "tfs", "modisco"} else f"interpret_checks_{'_'.join(checks)}"
    out = REPO / "benchmarks" / "results" / f"{name}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(f".{out.name}.tmp")
    tmp_out.write_text(text)
    os.replace(tmp_out, out)
    if any(r[4] != "pass" for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
