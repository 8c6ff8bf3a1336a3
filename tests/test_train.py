"""dnacnn train: reproducibility, resume after a kill, safe model files, DDP on the CPU."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import assert_one_line_error

import dnacnn.device as device
import dnacnn.train.additive as additive
import dnacnn.train.averaging as averaging
import dnacnn.train.batches as batches
import dnacnn.train.epoch as epoch_module
import dnacnn.train.loop as loop
from dnacnn.encode import EncodeOptions, encode
from dnacnn.errors import DnacnnError
from dnacnn.modelfile import load_model, read_tensors
from dnacnn.train import TrainSettings, WeightAverage, refresh_batchnorm, train


@pytest.fixture(scope="module")
def zou_store(tmp_path_factory):
    from pathlib import Path

    data = Path(__file__).parent / "data"
    out = tmp_path_factory.mktemp("zou") / "zou.store"
    return encode(data / "zou_sequences.txt", out, EncodeOptions(labels=str(data / "zou_labels.txt"), progress=False))


def _weights(path):
    tensors, _ = read_tensors(path)
    return tensors


def test_same_seed_same_weights_and_history(zou_store, tmp_path, device):
    opts = dict(model="zou2019", epochs=2, seed=3, progress=False, threads=1, device=device)
    a = train(zou_store, tmp_path / "a.dnacnn", TrainSettings(**opts))
    b = train(zou_store, tmp_path / "b.dnacnn", TrainSettings(**opts))
    wa, wb = _weights(a.model_path), _weights(b.model_path)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a.best_metric == b.best_metric
    c = train(zou_store, tmp_path / "c.dnacnn", TrainSettings(**{**opts, "seed": 4}))
    wc = _weights(c.model_path)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_history_and_metadata(zou_store, tmp_path):
    result = train(zou_store, tmp_path / "m.dnacnn", TrainSettings(model="zou2019", epochs=3, progress=False))
    lines = result.history_path.read_text().splitlines()
    assert lines[0].split("\t") == ["epoch", "loss", "val_loss", "val_metric", "lr", "seconds"]
    assert len(lines) == 4
    loaded = load_model(result.model_path)
    meta = loaded.meta
    assert meta.format == "dnacnn-model" and meta.task == "binary"
    assert meta.encoding.to_dict() == {"kind": "dna", "scheme": "onehot", "channels": 4, "length": 50}
    assert meta.spec["name"] == "zou2019" and meta.label_names == ["label"]
    assert meta.settings["batch_size"] == 32  # the preset's default
    assert sum(p.numel() for p in loaded.module.parameters()) == 6226
    assert not (tmp_path / "m.dnacnn.ckpt").exists()  # removed after a finished run


def test_fresh_negatives_auto_follows_how_the_store_was_made(zou_store, tmp_path):
    """Default ``fresh_negatives: auto``: on for a store whose negatives are dinucleotide
    shuffles (``--negatives shuffle``), off for a store with given negatives; an explicit value wins."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    opts = EncodeOptions(format="tabular", seq_col="seq", label_cols=["Bound"], negatives="shuffle", progress=False)
    shuffled = encode(data / "rest_AC_slice.seq.gz", tmp_path / "rest.store", opts)
    base = dict(model="deepbind", epochs=1, progress=False, threads=1)

    def fresh(store, **extra):
        result = train(store, tmp_path / f"{len(list(tmp_path.iterdir()))}.dnacnn", TrainSettings(**base, **extra))
        return load_model(result.model_path).meta.settings["fresh_negatives"]

    assert fresh(shuffled) is True
    assert fresh(zou_store) is False
    assert fresh(shuffled, fresh_negatives=False) is False


def test_shuffles_per_positive_draws_k_shuffles_and_balances_the_loss(tmp_path, monkeypatch):
    """An epoch's fresh training set holds each positive and k new shuffles of it (the first of
    them the one k = 1 draws), and ``pos_weight: auto`` becomes k so the classes weigh the same."""
    from pathlib import Path

    from dnacnn.store import Store
    from dnacnn.train import fresh_negative_codes

    data = Path(__file__).parent / "data"
    opts = EncodeOptions(format="tabular", seq_col="seq", label_cols=["Bound"], negatives="shuffle", progress=False)
    store_path = encode(data / "rest_AC_slice.seq.gz", tmp_path / "rest.store", opts)
    store = Store.open(store_path)
    idx = store.indices("train")
    codes1, y1 = fresh_negative_codes(store, idx, seed=0, epoch=1)
    codes3, y3 = fresh_negative_codes(store, idx, seed=0, epoch=1, per_positive=3)
    p = int(y1.sum())
    assert codes3.shape == (4 * p, codes1.shape[1]) and y3[:p].all() and not y3[p:].any()
    assert np.array_equal(codes3[: 2 * p], codes1)
    pos = codes3[:p]
    for block in range(1, 4):
        neg = codes3[block * p : (block + 1) * p]
        assert not np.array_equal(neg, pos)
        for a, b in zip(pos[:20], neg[:20]):  # same dinucleotide counts: a true shuffle of its positive
            pairs = lambda c: sorted(zip(c[:-1].tolist(), c[1:].tolist()))  # noqa: E731
            assert pairs(a) == pairs(b)

    weights = []
    real_objective = loop.Objective

    def spy(*args, **kwargs):
        objective = real_objective(*args, **kwargs)
        weights.append(float(objective.pos_weight[0]))
        return objective

    monkeypatch.setattr(loop, "Objective", spy)
    base = dict(model="deepbind", epochs=1, progress=False, threads=1)
    train(store_path, tmp_path / "k3.dnacnn", TrainSettings(**base, shuffles_per_positive=3))
    train(store_path, tmp_path / "k1.dnacnn", TrainSettings(**base))
    assert weights == [3.0, 1.0]
    assert load_model(tmp_path / "k3.dnacnn").meta.settings["shuffles_per_positive"] == 3


@pytest.mark.parametrize(
    ("model", "extra"), [("zou2019", ["--ema", "0"]), ("tfbind", ["--ema", "0.99", "--max-shift", "3"])]
)
@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted(model, extra, zou_store, tmp_path):
    """Killed mid-run and resumed: the same weights and history; with --ema the checkpoint
    carries the moving average too, batch-norm statistics are re-estimated alike, and the random
    shifts and mutations (tfbind's mutation_rate) are drawn alike."""
    args = [
        "train",
        str(zou_store),
        "--model",
        model,
        "--epochs",
        "6",
        "--seed",
        "1",
        "--threads",
        "1",
        *extra,
        "--no-progress",
    ]
    full = subprocess.run(
        [sys.executable, "-m", "dnacnn", *args, "-o", str(tmp_path / "full.dnacnn")], capture_output=True, text=True
    )
    assert full.returncode == 0, full.stderr
    out = tmp_path / "killed.dnacnn"
    ckpt = tmp_path / "killed.dnacnn.ckpt"
    proc = subprocess.Popen([sys.executable, "-m", "dnacnn", *args, "-o", str(out)], stderr=subprocess.PIPE, text=True)
    # kill once the checkpoint holds epoch 2 or later
    deadline = time.time() + 120
    while time.time() < deadline:
        if ckpt.exists():
            _, meta = read_tensors(ckpt, "checkpoint")
            if meta["loop"]["epoch"] >= 2:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and ckpt.exists()
    killed_at = read_tensors(ckpt, "checkpoint")[1]["loop"]["epoch"]
    assert 2 <= killed_at < 6
    resumed = subprocess.run(
        [sys.executable, "-m", "dnacnn", *args, "-o", str(out), "--resume"], capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {ckpt} after epoch {killed_at}" in resumed.stderr
    wa, wb = _weights(tmp_path / "full.dnacnn"), _weights(out)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    ha = (tmp_path / "full.history.tsv").read_text().splitlines()
    hb = (tmp_path / "killed.history.tsv").read_text().splitlines()
    strip = lambda rows: [r.rsplit("\t", 1)[0] for r in rows]  # noqa: E731  (drop the seconds column)
    assert strip(ha) == strip(hb)


def test_resume_refuses_a_checkpoint_made_with_other_augmentation(zou_store, tmp_path, monkeypatch):
    import shutil

    real_save = epoch_module.save_checkpoint
    kept = tmp_path / "kept.ckpt"

    def save_and_keep(path, *args):
        real_save(path, *args)
        shutil.copy(path, kept)

    monkeypatch.setattr(epoch_module, "save_checkpoint", save_and_keep)
    base = dict(model="deepbind", progress=False, threads=1)
    train(zou_store, tmp_path / "m.dnacnn", TrainSettings(**base, epochs=1, mutation_rate=0.05))
    shutil.copy(kept, tmp_path / "m.dnacnn.ckpt")
    with pytest.raises(DnacnnError, match="checkpoint was made with different mutation_rate"):
        train(zou_store, tmp_path / "m.dnacnn", TrainSettings(**base, epochs=2, resume=True))
    result = train(zou_store, tmp_path / "m.dnacnn", TrainSettings(**base, epochs=2, mutation_rate=0.05, resume=True))
    assert result.epochs_run == 2


def test_resume_after_a_kill_during_wrap_up_re_saves_the_finished_model(zou_store, tmp_path, monkeypatch, capsys):
    """A SLURM time limit that hits after the model was written: the workflow manager deletes the
    model and history as incomplete.  With --resume the checkpoint was replaced by the finished
    model, so the retry writes it again instead of training from epoch 1; a finished checkpoint
    of other settings is ignored (a fresh run, as without a checkpoint)."""

    out, ckpt = tmp_path / "m.dnacnn", tmp_path / "m.dnacnn.ckpt"
    opts = dict(model="zou2019", epochs=3, seed=2, progress=False, threads=1, resume=True)
    first = train(zou_store, out, TrainSettings(**opts))
    assert ckpt.samefile(out) or ckpt.read_bytes() == out.read_bytes()  # a link to the finished model
    model_bytes, history = out.read_bytes(), first.history_path.read_text()
    out.unlink()
    first.history_path.unlink()

    def no_training(*args):
        raise AssertionError("the finished run was trained again")

    monkeypatch.setattr(epoch_module, "save_checkpoint", no_training)
    capsys.readouterr()
    again = train(zou_store, out, TrainSettings(**opts))
    assert f"{ckpt} holds this run, finished after epoch 3; writing the model again" in capsys.readouterr().err
    assert out.read_bytes() == model_bytes and again.history_path.read_text() == history
    assert (again.best_epoch, again.best_metric, again.epochs_run) == (first.best_epoch, first.best_metric, 3)

    monkeypatch.undo()
    other = train(zou_store, out, TrainSettings(**{**opts, "seed": 5}))  # e.g. a changed config: trains afresh
    assert "a finished run with other settings or another store; starting afresh" in capsys.readouterr().err
    assert other.epochs_run == 3 and out.read_bytes() != model_bytes
    assert ckpt.read_bytes() == out.read_bytes()


def test_an_interrupted_checkpoint_without_resume_is_named_and_replaced(zou_store, tmp_path, monkeypatch, capsys):
    """Without --resume an epoch checkpoint left by a killed run is not silently ignored: one note
    names it and says how to continue it; the run starts afresh."""
    import shutil

    out, ckpt, kept = tmp_path / "m.dnacnn", tmp_path / "m.dnacnn.ckpt", tmp_path / "epoch1.ckpt"
    save = epoch_module.save_checkpoint

    def save_and_keep(path, *args):
        save(path, *args)
        if not kept.exists():
            shutil.copyfile(path, kept)  # the checkpoint a kill after epoch 1 would leave

    monkeypatch.setattr(epoch_module, "save_checkpoint", save_and_keep)
    opts = dict(model="zou2019", epochs=2, seed=1, progress=False, threads=1)
    train(zou_store, out, TrainSettings(**opts))
    shutil.copyfile(kept, ckpt)
    capsys.readouterr()
    result = train(zou_store, out, TrainSettings(**opts))
    err = capsys.readouterr().err
    assert f"note: {ckpt} holds an interrupted run (after epoch 1); starting afresh" in err
    assert "add --resume to continue it instead" in err and result.epochs_run == 2
    assert not ckpt.exists()  # replaced, then removed at the end as always without --resume
    ckpt.write_bytes(b"not a checkpoint")  # an unreadable leftover: replaced as well, no error
    assert train(zou_store, out, TrainSettings(**opts)).epochs_run == 2 and not ckpt.exists()


ZOU_ROW_BYTES = 54  # 50 codes + one float32 label


def _row_positions(store, idx):
    """Map each training row's codes to its position in ``idx`` (the Zou sequences are unique)."""
    rows = {bytes(row): i for i, row in enumerate(np.asarray(store.codes[idx]))}
    assert len(rows) == len(idx)
    return rows


def test_streamed_epochs_use_every_row_once_in_seeded_block_shuffles(zou_store, monkeypatch):
    """A streamed epoch: every training row once with its label, batches of the batch size (one
    short), each window's rows drawn from its 8 blocks of consecutive rows, shuffled; the order
    depends on (seed, epoch) only."""
    import dnacnn.stream as stream
    from dnacnn.store import Store

    monkeypatch.setattr(stream, "READ_BLOCK_BYTES", 64 * ZOU_ROW_BYTES)  # blocks of 60 rows at batch 30
    store = Store.open(zou_store)
    idx = store.indices("train")
    reader = stream.BlockReader(store.path, 50, 1)
    position = _row_positions(store, idx)

    def epoch(number, seed=0):
        order = stream.BlockShuffle(idx, 30, seed, ZOU_ROW_BYTES)
        order.epoch = number
        batches = [(c.numpy(), y.numpy()) for c, y in stream.stream_batches(order, reader, torch.device("cpu"), 2)]
        assert len(batches) == len(order)
        return batches, order.windows()

    batches, windows = epoch(1)
    assert len(idx) == 1600 and len(batches) == 54  # ceil(1600 / 30)
    assert sorted(len(c) for c, _ in batches) == [10] + [30] * 53  # 1600 = 26 blocks of 60 + 40
    seen = np.array([position[bytes(row)] for c, _ in batches for row in c])
    assert np.array_equal(np.sort(seen), np.arange(len(idx)))  # every row once
    labels = np.concatenate([y for _, y in batches])
    assert np.array_equal(labels, np.asarray(store.labels)[idx[seen]])  # with its own label
    assert [len(w) for w in windows] == [8, 8, 8, 3]
    start = 0
    for blocks in windows:  # a window's rows: all rows of its blocks of 60 consecutive rows, shuffled
        rows = seen[start : start + sum(min(60, len(idx) - 60 * b) for b in blocks)]
        start += len(rows)
        assert np.array_equal(
            np.sort(rows), np.concatenate([np.arange(60 * b, min(60 * b + 60, 1600)) for b in sorted(blocks)])
        )
        assert not np.array_equal(rows, np.sort(rows))

    same, _ = epoch(1)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(batches, same))
    for other, _ in (epoch(2), epoch(1, seed=1)):
        assert not np.array_equal(batches[0][0], other[0][0])


def test_streamed_epochs_under_ddp_shard_blocks_and_run_equal_batch_counts(zou_store):
    """Each rank reads its own blocks (no row twice across ranks), and all ranks run the same number
    of batches, however the short last block falls."""
    from dnacnn.stream import BlockShuffle

    idx = np.arange(0, 3000, 3)  # 1000 sorted store rows
    for epoch in range(1, 6):
        orders = [BlockShuffle(idx, 32, 0, 100_000, rank, 3) for rank in range(3)]
        rows, counts = [], []
        for order in orders:
            order.epoch = epoch
            windows = [np.concatenate([order.block(b) for b in blocks]) for blocks in order.windows()]
            rows.append(np.concatenate(windows))
            counts.append(sum(-(-len(w) // 32) for w in windows))
        assert np.array_equal(np.sort(np.concatenate(rows)), idx)  # every row, on one rank only
        assert len({len(o) for o in orders}) == 1 and len(orders[0]) <= min(counts)
    assert len(BlockShuffle(idx, 32, 0, 100_000)) == 32  # one rank: ceil(1000 / 32), as resident


@pytest.mark.slow
@pytest.mark.parametrize(("model", "extra"), [("zou2019", {}), ("tfbind", {"ema": 0.99, "max_shift": 3})])
def test_streamed_training_is_seeded_and_resumes_like_an_uninterrupted_run(
    model, extra, zou_store, tmp_path, monkeypatch
):
    """The streamed path (a split over PRELOAD_BYTES): the same seed trains the same weights, and a
    run killed after epoch 2 and resumed ends with the weights and history of an uninterrupted one."""
    import dnacnn.stream as stream

    monkeypatch.setattr(batches, "PRELOAD_BYTES", 0)
    monkeypatch.setattr(stream, "READ_BLOCK_BYTES", 64 * ZOU_ROW_BYTES)  # several blocks and windows
    streamed = []
    real_stream = batches.stream_batches
    monkeypatch.setattr(batches, "stream_batches", lambda *a: streamed.append(1) or real_stream(*a))
    opts = dict(model=model, epochs=4, seed=1, progress=False, threads=1, num_workers=2, **extra)
    full = train(zou_store, tmp_path / "full.dnacnn", TrainSettings(**opts))
    assert len(streamed) == 4
    again = train(zou_store, tmp_path / "again.dnacnn", TrainSettings(**opts))
    wa, wb = _weights(full.model_path), _weights(again.model_path)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)

    class Killed(Exception):
        pass

    real_save = epoch_module.save_checkpoint

    def save_then_die(path, *args):
        real_save(path, *args)
        if args[3].epoch == 2:  # args: model, optimizer, scheduler, state, ...
            raise Killed

    monkeypatch.setattr(epoch_module, "save_checkpoint", save_then_die)
    out = tmp_path / "killed.dnacnn"
    with pytest.raises(Killed):
        train(zou_store, out, TrainSettings(**opts))
    monkeypatch.setattr(epoch_module, "save_checkpoint", real_save)
    resumed = train(zou_store, out, TrainSettings(**opts, resume=True))
    assert resumed.epochs_run == 4
    wc = _weights(out)
    assert all(torch.equal(wa[k], wc[k]) for k in wa)
    strip = lambda path: [r.rsplit("\t", 1)[0] for r in path.read_text().splitlines()]  # noqa: E731
    assert strip(full.history_path) == strip(resumed.history_path)


def test_weight_average_warms_up_and_swaps_weights_back():
    """Weights and batch-norm statistics are averaged; applied() swaps them in and back out."""
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    average = WeightAverage(model, decay=0.999)
    start_w, start_mean = model[0].weight.detach().clone(), model[1].running_mean.clone()
    model[0].weight.data += 1.0
    model[1].running_mean += 1.0
    average.update()  # step 1: decay min(0.999, 2 / 11), so the average moves 9/11 of the way
    with average.applied():
        assert torch.allclose(model[0].weight, start_w + 9 / 11)
        assert torch.allclose(model[1].running_mean, start_mean + 9 / 11)
        assert int(model[1].num_batches_tracked) == 0  # integer buffers are left alone
    assert torch.equal(model[0].weight, start_w + 1) and torch.equal(model[1].running_mean, start_mean + 1)


def test_refresh_batchnorm_estimates_statistics_of_the_current_weights():
    """Running mean and variance become the equal-weight average of the batches' statistics under
    the current weights; dropout stays off, momentum, counter and train mode are put back."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.BatchNorm1d(3), torch.nn.Dropout(0.5))
    batches = [torch.randn(16, 5), torch.randn(16, 5) + 2]
    tracked = int(model[1].num_batches_tracked)
    rng = torch.get_rng_state()
    refresh_batchnorm(model, batches, expand=lambda x: x, autocast=contextlib.nullcontext())
    with torch.no_grad():
        hidden = [model[0](b) for b in batches]
    expected_mean = torch.stack([h.mean(0) for h in hidden]).mean(0)
    expected_var = torch.stack([h.var(0, unbiased=True) for h in hidden]).mean(0)
    assert torch.allclose(model[1].running_mean, expected_mean, atol=1e-6)
    assert torch.allclose(model[1].running_var, expected_var, atol=1e-6)
    assert torch.equal(torch.get_rng_state(), rng)  # dropout drew nothing
    assert model[1].momentum == 0.1 and int(model[1].num_batches_tracked) == tracked and model.training


@pytest.mark.slow
def test_batchnorm_statistics_are_refreshed_before_each_validation(zou_store, tmp_path, monkeypatch, data_dir):
    """A net with batch norm is validated under statistics re-estimated on the epoch's first
    training rows, and saved under them without a validation split; a net without it is left alone."""

    calls = []
    real = epoch_module.refresh_batchnorm
    monkeypatch.setattr(
        epoch_module, "refresh_batchnorm", lambda m, b, *a: (calls.append(sum(len(x) for x in b)), real(m, b, *a))
    )
    monkeypatch.setattr(averaging, "BN_REFRESH_ROWS", 300)
    opts = dict(epochs=3, patience=10, progress=False, threads=1)
    train(zou_store, tmp_path / "bn.dnacnn", TrainSettings(model="tfbind", **opts))
    assert calls == [320] * 3  # batches of 64 until 300 rows are reached
    calls.clear()
    train(zou_store, tmp_path / "plain.dnacnn", TrainSettings(model="zou2019", **opts))
    assert calls == [0] * 3
    # no validation split: once, for the last epoch's weights that are saved
    calls.clear()
    no_valid = encode(
        data_dir / "zou_sequences.txt",
        tmp_path / "novalid.store",
        EncodeOptions(labels=str(data_dir / "zou_labels.txt"), valid_frac=0, progress=False),
    )
    train(no_valid, tmp_path / "novalid.dnacnn", TrainSettings(model="tfbind", **opts))
    assert calls == [320]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["zou2019", "tfbind"])
def test_ema_saves_the_averaged_weights_it_validated(model, zou_store, tmp_path):
    """With --ema the saved model is the average early stopping chose: scoring the validation
    split with it gives the best validation metric of the history (with batch norm: under the
    statistics re-estimated for that average)."""
    from sklearn.metrics import roc_auc_score

    from dnacnn.predict import predict_store

    opts = dict(model=model, epochs=4, seed=2, progress=False, threads=1, precision="fp32")
    plain = train(zou_store, tmp_path / "plain.dnacnn", TrainSettings(**opts, ema=0.0))
    averaged = train(zou_store, tmp_path / "ema.dnacnn", TrainSettings(**opts, ema=0.99))
    assert load_model(averaged.model_path).meta.settings["ema"] == 0.99
    _, y, scores = predict_store(averaged.model_path, zou_store, split="valid", device="cpu")
    assert roc_auc_score(y[:, 0], scores[:, 0]) == pytest.approx(averaged.best_metric, abs=1e-6)
    wa, wb = _weights(plain.model_path), _weights(averaged.model_path)
    assert not all(torch.equal(wa[k], wb[k]) for k in wa)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned_by_pickle",))


@pytest.mark.parametrize("kind", ["random", "pickle", "truncated", "torch_save"])
def test_untrusted_files_are_refused_without_running_code(kind, zou_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.dnacnn"
    if kind == "random":
        bad.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "pickle":
        bad.write_bytes(pickle.dumps(_Evil()))
    elif kind == "torch_save":
        torch.save({"x": _Evil()}, bad)
    else:
        good = train(zou_store, tmp_path / "good.dnacnn", TrainSettings(model="zou2019", epochs=1, progress=False))
        raw = good.model_path.read_bytes()
        bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DnacnnError, match="not a dnacnn model file"):
        load_model(bad)
    assert not (tmp_path / "pwned_by_pickle").exists()


def test_cli_refuses_bad_model_in_one_line(cli, tmp_path, data_dir):
    bad = tmp_path / "bad.dnacnn"
    bad.write_bytes(b"\x80\x04junk")
    result = cli("predict", bad, data_dir / "zou_sequences.txt", "-o", tmp_path / "p.tsv", "--no-progress")
    assert_one_line_error(result, "bad.dnacnn", "not a dnacnn model file")
    assert not (tmp_path / "p.tsv").exists()


def test_bad_training_options(cli, zou_store, tmp_path):
    r = cli("train", zou_store, "-o", tmp_path / "m.dnacnn", "--model", "zou2019", "--optimizer", "adagrad")
    assert_one_line_error(r, "--optimizer 'adagrad' is unknown; use one of adam")
    r = cli("train", zou_store, "-o", tmp_path / "m.dnacnn", "--model", "zou2019", "--ema", "1")
    assert_one_line_error(r, "--ema must be in [0, 1)")
    r = cli("train", zou_store, "-o", tmp_path / "m.dnacnn", "--model", "zou2019", "--mutation-rate", "1")
    assert_one_line_error(r, "--mutation-rate must be in [0, 0.75]")
    r = cli("train", zou_store, "-o", tmp_path / "m.dnacnn", "--model", "zou2019", "--max-shift", "-1")
    assert_one_line_error(r, "--max-shift must be a whole number of bases, 0 or more")
    r = cli("train", zou_store, "-o", tmp_path / "m.dnacnn", "--model", "zou2019", "--max-shift", "50")
    assert_one_line_error(r, "--max-shift 50 would shift 50-base sequences out of view")
    r = cli("train", zou_store, "-o", tmp_path / "m.dnacnn", "--model", "zou2019", "--shuffles-per-positive", "0")
    assert_one_line_error(r, "--shuffles-per-positive must be at least 1")
    r = cli("train", zou_store, "-o", tmp_path / "m.dnacnn", "--model", "no-such-preset")
    assert_one_line_error(r, "no-such-preset")
    if not torch.cuda.is_available():
        r = cli("train", zou_store, "-o", tmp_path / "m.dnacnn", "--model", "zou2019", "--device", "cuda")
        assert_one_line_error(r, "no CUDA GPU")


def test_regression_on_genotypes(tmp_path, data_dir):
    store = encode(
        data_dir / "wheat_slice.X",
        tmp_path / "w.store",
        EncodeOptions(format="genotype", phenotypes=str(data_dir / "wheat_slice.Y"), traits=["1"], progress=False),
    )
    for augmentation in ({"mutation_rate": 0.05}, {"max_shift": 5}):
        with pytest.raises(DnacnnError, match="works on DNA only"):
            train(
                store, tmp_path / "w.dnacnn", TrainSettings(model="snp-cnn", epochs=2, progress=False, **augmentation)
            )
    assert not (tmp_path / "w.dnacnn").exists()
    result = train(store, tmp_path / "w.dnacnn", TrainSettings(model="snp-cnn", epochs=2, progress=False))
    meta = load_model(result.model_path).meta
    assert meta.task == "regression" and meta.head == "linear"
    assert len(meta.target_mean) == 1 and meta.target_std[0] > 0


@pytest.mark.slow
def test_ddp_two_processes_gloo(zou_store, tmp_path):
    out = tmp_path / "ddp.dnacnn"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--master-port",
            "29533",
            "-m",
            "dnacnn",
            "train",
            str(zou_store),
            "-o",
            str(out),
            "--model",
            "zou2019",
            "--epochs",
            "2",
            "--device",
            "cpu",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = load_model(out).meta
    assert meta.settings["world_size"] == 2
    assert len(meta.history) == 2
    # each rank saw half of the batches: 1600 train rows / 32 per batch / 2 ranks
    assert proc.stderr.count("epoch 1:") == 1  # rank 0 alone reports


RANK_SCRIPT = """
import contextlib, os, sys, torch, torch.distributed as dist
from dnacnn.train import refresh_batchnorm
dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)  # the same weights on both ranks, as DDP keeps them
model = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.BatchNorm1d(3))
refresh_batchnorm(model, [torch.randn(16, 5) + 3 * rank], lambda x: x, contextlib.nullcontext())
torch.save(model[1].state_dict(), os.path.join(sys.argv[1], f"bn{rank}.pt"))
dist.destroy_process_group()
"""


def test_ddp_ranks_share_refreshed_batchnorm_statistics(tmp_path):
    """Each rank re-estimates batch-norm statistics on its own shard; the ranks then hold the
    average, so they validate alike and take the same early-stopping and learning-rate steps."""
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29534"]
    proc = subprocess.run([*cmd, str(script), str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    bn0, bn1 = (torch.load(tmp_path / f"bn{r}.pt") for r in (0, 1))
    assert torch.equal(bn0["running_mean"], bn1["running_mean"])
    assert torch.equal(bn0["running_var"], bn1["running_var"])
    torch.manual_seed(0)
    linear, x = torch.nn.Linear(5, 3), torch.randn(16, 5)  # each rank's init and draw
    with torch.no_grad():
        means = [linear(x + 3 * r).mean(0) for r in (0, 1)]
    assert torch.allclose(bn0["running_mean"], (means[0] + means[1]) / 2, atol=1e-5)


@pytest.mark.gpu
def test_cuda_training_uses_amp(zou_store, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    result = train(zou_store, tmp_path / "g.dnacnn", TrainSettings(model="zou2019", epochs=2, progress=False))
    meta = load_model(result.model_path).meta
    assert meta.settings["device"].startswith("cuda")
    assert meta.settings["precision"] in ("bf16", "fp16")
    from dnacnn.predict import predict_store

    _, _, on_gpu = predict_store(result.model_path, zou_store, split="valid", device="cuda")
    _, _, on_cpu = predict_store(result.model_path, zou_store, split="valid", device="cpu")
    np.testing.assert_allclose(on_gpu, on_cpu, atol=2e-2)  # bf16 autocast on the GPU, fp32 on the CPU


def test_precision_auto_follows_the_cpu(monkeypatch):

    cpu = torch.device("cpu")
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)
    assert device.resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: False)
    assert device.resolve_precision("auto", cpu) == "fp32"
    assert device.resolve_precision("fp32", cpu) == "fp32"  # explicit choices are kept


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "rmsprop"])
def test_optimizers_step_fused_where_torch_can(name):
    from dnacnn.train import make_optimizer

    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(8, 3))
    optimizer = make_optimizer(name, [w], lr=0.01, weight_decay=1e-4)
    fused_kernels = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)
    assert bool(optimizer.defaults.get("fused")) == (fused_kernels and name != "rmsprop")
    before = w.detach().clone()
    (w**2).sum().backward()
    optimizer.step()
    assert not torch.equal(before, w.detach())


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or __import__("platform").libc_ver()[0] != "glibc", reason="glibc only"
)
def test_glibc_reuses_freed_memory():
    from dnacnn.device import reuse_freed_memory

    assert reuse_freed_memory() is True
    assert reuse_freed_memory() is True  # idempotent


def test_additive_ridge_is_fitted_on_training_rows_and_stays_frozen(tmp_path, data_dir):
    """snp-cnn's `additive: ridge`: the frozen path equals RidgeCV on the flattened training inputs
    (standardised target), and the layers only add to it."""
    from sklearn.linear_model import RidgeCV

    from dnacnn.baselines import RIDGE_ALPHAS
    from dnacnn.codes import one_hot
    from dnacnn.store import Store

    store = encode(
        data_dir / "wheat_slice.X",
        tmp_path / "w.store",
        EncodeOptions(format="genotype", phenotypes=str(data_dir / "wheat_slice.Y"), traits=["2"], progress=False),
    )
    result = train(store, tmp_path / "w.dnacnn", TrainSettings(model="snp-cnn", epochs=3, progress=False, threads=1))
    loaded = load_model(result.model_path)
    model, meta = loaded.module, loaded.meta
    assert meta.settings["additive_alpha"][0] in RIDGE_ALPHAS

    st = Store.open(store)
    train_idx, test_idx = st.indices("train"), st.indices("test")

    def flat(idx):
        return one_hot(np.asarray(st.codes[idx]), st.encoding).reshape(len(idx), -1)

    y = np.asarray(st.labels[train_idx])[:, 0]
    mean, std = float(np.mean(y)), float(np.std(y))
    ridge = RidgeCV(alphas=RIDGE_ALPHAS).fit(flat(train_idx), (y - mean) / std)
    assert meta.settings["additive_alpha"][0] == pytest.approx(ridge.alpha_)
    # three epochs of training left the additive path exactly as fitted
    np.testing.assert_allclose(model.additive.weight.numpy()[0], ridge.coef_, rtol=1e-4, atol=1e-6)
    X = torch.from_numpy(one_hot(np.asarray(st.codes[test_idx]), st.encoding))
    with torch.no_grad():
        additive = model.additive(X).numpy()[:, 0]
        full = model(X).numpy()[:, 0]
    np.testing.assert_allclose(additive, ridge.predict(flat(test_idx)), rtol=1e-4, atol=1e-4)
    assert not np.allclose(full, additive)  # the layers learned a correction
    assert not any(p.requires_grad is False for p in model.parameters())  # frozen = buffers, not parameters


def test_additive_ridge_too_large_is_one_clear_error(tmp_path, data_dir, monkeypatch):

    store = encode(
        data_dir / "wheat_slice.X",
        tmp_path / "w.store",
        EncodeOptions(format="genotype", phenotypes=str(data_dir / "wheat_slice.Y"), traits=["1"], progress=False),
    )
    monkeypatch.setattr(additive, "ADDITIVE_MAX_VALUES", 1000)
    with pytest.raises(DnacnnError, match=r"additive: ridge needs the training rows as one 120 x 3,837 matrix"):
        train(store, tmp_path / "w.dnacnn", TrainSettings(model="snp-cnn", epochs=1, progress=False, threads=1))
    assert not (tmp_path / "w.dnacnn").exists()


def _augmented(augment, codes, amount, seed):
    """``augment(codes, amount)`` with torch seeded: off (the same tensor) at 0, codes stay uint8,
    and the seed alone fixes the draws."""
    assert augment(codes, 0) is codes
    torch.manual_seed(seed)
    out = augment(codes, amount)
    assert out.dtype == torch.uint8
    torch.manual_seed(seed)
    assert torch.equal(out, augment(codes, amount))
    return out


def test_random_mutations_substitute_bases_at_the_rate_and_leave_n_alone():
    """Each A/C/G/T is replaced, with probability ``rate``, by one of the three other bases (no
    silent draws); N (code 4: unknown bases, padding) never changes; the torch seed fixes it."""
    from dnacnn.train import mutate_codes

    rng = np.random.default_rng(0)
    codes = torch.from_numpy(rng.integers(0, 5, size=(4000, 101), dtype=np.uint8))
    out = _augmented(mutate_codes, codes, 0.05, seed=1)
    base = codes < 4
    assert torch.equal(out[~base], codes[~base])
    changed = out != codes
    assert abs(changed[base].float().mean().item() - 0.05) < 0.003
    steps = ((out[changed].long() - codes[changed].long()) % 4).bincount(minlength=4) / changed.sum()
    assert steps[0] == 0 and all(abs(s - 1 / 3) < 0.02 for s in steps[1:].tolist())


def test_random_shifts_move_each_row_by_at_most_max_shift_and_fill_with_n():
    from dnacnn.train import shift_codes

    rng = np.random.default_rng(0)
    codes = torch.from_numpy(rng.integers(0, 4, size=(500, 101), dtype=np.uint8))
    out = _augmented(shift_codes, codes, 10, seed=2)
    offsets = []
    for row, moved in zip(codes.numpy(), out.numpy()):
        found = [
            s
            for s in range(-10, 11)
            if np.array_equal(moved[max(s, 0) : 101 + min(s, 0)], row[max(-s, 0) : 101 - max(s, 0)])
            and (moved[: max(s, 0)] == 4).all()
            and (moved[101 + min(s, 0) :] == 4).all()
        ]
        assert len(found) == 1
        offsets.append(found[0])
    assert set(offsets) == set(range(-10, 11))  # every offset drawn, both ways


@pytest.mark.slow
def test_augmentations_perturb_training_batches_only(tmp_path, monkeypatch):
    """With ``mutation_rate`` and ``max_shift`` every training batch is shifted and mutated before
    the forward pass, while the batch-norm refresh and validation see the sequences as stored;
    both settings are recorded."""
    from pathlib import Path

    from dnacnn.codes import Expander
    from dnacnn.store import Store

    data = Path(__file__).parent / "data"
    opts = EncodeOptions(format="tabular", seq_col="seq", label_cols=["Bound"], negatives="shuffle", progress=False)
    store_path = encode(data / "rest_AC_slice.seq.gz", tmp_path / "rest.store", opts)
    calls, shifts, refreshed, mutated, expanded = [], [], [], [], []
    real_mutate, real_shift, real_refresh = (
        epoch_module.mutate_codes,
        epoch_module.shift_codes,
        epoch_module.refresh_batchnorm,
    )

    def spy_mutate(codes, rate):
        out = real_mutate(codes, rate)
        calls.append((rate, bool((out != codes).any())))
        mutated.append(out)
        return out

    def spy_refresh(model, batches, *args):
        refreshed.extend(b.clone() for b in batches)
        return real_refresh(model, batches, *args)

    monkeypatch.setattr(epoch_module, "mutate_codes", spy_mutate)
    monkeypatch.setattr(epoch_module, "shift_codes", lambda codes, n: shifts.append(n) or real_shift(codes, n))
    monkeypatch.setattr(epoch_module, "refresh_batchnorm", spy_refresh)
    real_expand = Expander.__call__
    monkeypatch.setattr(
        Expander, "__call__", lambda self, codes, *a: expanded.append(codes) or real_expand(self, codes, *a)
    )
    result = train(
        store_path,
        tmp_path / "m.dnacnn",
        TrainSettings(model="tfbind", epochs=1, mutation_rate=0.1, max_shift=3, progress=False),
    )
    assert calls and all(rate == 0.1 and changed for rate, changed in calls)
    assert shifts == [3] * len(calls)
    store = Store.open(store_path)
    n_pos = int(np.asarray(store.labels[store.indices("train")]).sum())
    assert sum(len(m) for m in mutated) == n_pos * 5  # one epoch: each positive + 4 shuffles, nothing else
    assert all(any(m is e for e in expanded) for m in mutated)  # what the net was fed
    stored = {bytes(row) for row in np.asarray(store.codes)}
    rows = [bytes(row) for b in refreshed for row in b.cpu().numpy()]
    assert rows and sum(row in stored for row in rows) / len(rows) > 0.1  # ~1/5 positives, unmutated
    settings = load_model(result.model_path).meta.settings
    assert settings["mutation_rate"] == 0.1 and settings["max_shift"] == 3


# --------------------------------------------------------------------------- what a run says on stderr


def test_a_banner_comes_before_the_first_epoch(zou_store, tmp_path, capsys):
    """Before the first progress bar: model and parameters, rows, device, precision, epochs and
    batches, and what the * of the epoch lines means."""
    train(
        zou_store,
        tmp_path / "m.dnacnn",
        TrainSettings(model="zou2019", epochs=1, progress=False, threads=1, device="cpu", precision="fp32"),
    )
    lines = capsys.readouterr().err.splitlines()
    first_epoch = next(i for i, line in enumerate(lines) if line.startswith("epoch 1:"))
    banner = "\n".join(lines[:first_epoch])
    assert "train: zou2019 (6,226 parameters) on zou.store: 1,600 train / 200 valid rows of 50 bp, binary" in banner
    assert "train: cpu (1 thread), fp32: up to 1 epoch x 50 batches of 32" in banner
    assert "* marks a new best val_roc_auc (its weights are saved); early stop after 5 epochs" in banner
    assert "warning" not in banner


def test_a_tiny_validation_split_is_warned_about(tmp_path, data_dir, capsys):
    seqs = (data_dir / "zou_sequences.txt").read_text().splitlines()[:200]
    labels = (data_dir / "zou_labels.txt").read_text().splitlines()[:200]
    (tmp_path / "s.txt").write_text("\n".join(seqs) + "\n")
    (tmp_path / "l.txt").write_text("\n".join(labels) + "\n")
    opts = EncodeOptions(labels=str(tmp_path / "l.txt"), valid_frac=0.05, progress=False)
    store = encode(tmp_path / "s.txt", tmp_path / "small.store", opts)
    train(store, tmp_path / "m.dnacnn", TrainSettings(model="zou2019", epochs=1, progress=False, threads=1))
    warning = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warning == [
        "warning: the validation split has 10 rows: early stopping and the best epoch will be noisy; "
        "re-encode with a larger 'dnacnn encode --valid-frac' (e.g. 0.1)"
    ]


def test_ctrl_c_names_the_checkpoint_and_the_command_that_resumes(cli, zou_store, tmp_path, monkeypatch):
    """Ctrl-C: exit 130, no traceback, one line with the checkpoint and the exact command to
    continue; that command resumes.  Before any epoch finished there is nothing to resume."""
    import shlex

    out = tmp_path / "m.dnacnn"
    args = ["train", str(zou_store), "--model", "zou2019", "--epochs", "2", "-o", str(out), "--no-progress"]
    write_history, calls = epoch_module.write_history, []

    def interrupted_at(epoch):
        def write(path, rows):
            calls.append(1)
            if len(calls) == epoch:
                raise KeyboardInterrupt
            write_history(path, rows)

        return write

    monkeypatch.setattr(epoch_module, "write_history", interrupted_at(1))
    result = cli(*args)
    assert result.exit_code == 130 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"dnacnn: interrupted; no epoch had finished, so there is no checkpoint ({out}.ckpt); "
        "run the same command to start again"
    )
    calls.clear()
    monkeypatch.setattr(epoch_module, "write_history", interrupted_at(2))
    result = cli(*args)
    assert result.exit_code == 130 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    ckpt = tmp_path / "m.dnacnn.ckpt"
    assert line.startswith(f"dnacnn: interrupted; {ckpt} holds the run after epoch 1; continue with: dnacnn train ")
    command = shlex.split(line.split("continue with: ", 1)[1])
    assert command == ["dnacnn", *args, "--resume"]
    monkeypatch.undo()
    resumed = cli(*command[1:])
    assert resumed.exit_code == 0, resumed.stderr
    assert f"resuming from {ckpt} after epoch 1" in resumed.stderr


def test_an_unknown_key_in_the_specs_train_block_is_an_error():
    from dnacnn.errors import DnacnnError
    from dnacnn.train import TrainSettings, resolve_settings

    spec = {"name": "mine", "train": {"epoch": 50, "lr": 0.01}}
    with pytest.raises(
        DnacnnError, match=r"model 'mine': unknown key 'epoch' in its train: block; use one of epochs, batch_size"
    ):
        resolve_settings(spec, TrainSettings())
    assert resolve_settings({"name": "ok", "train": {"epochs": 50}}, TrainSettings())["epochs"] == 50


def test_a_large_validation_split_is_read_in_chunks_with_the_same_result(zou_store, tmp_path, monkeypatch):
    """Over VALID_PRELOAD_BYTES the validation split is read chunk by chunk each epoch (bounded
    memory for stores bigger than RAM); the losses and metrics are those of the preloaded split."""

    opts = TrainSettings(model="zou2019", epochs=2, seed=1, progress=False, threads=1, device="cpu")
    whole = train(zou_store, tmp_path / "a.dnacnn", opts)
    reads = []
    real = batches.preload
    # chunks of 128 rows of 50 bp + 1 label: the validation batches (4 x 32) stay the same
    monkeypatch.setattr(batches, "VALID_PRELOAD_BYTES", 54 * 128)
    monkeypatch.setattr(batches, "preload", lambda store, idx: reads.append(len(idx)) or real(store, idx))
    chunked = train(zou_store, tmp_path / "b.dnacnn", opts)
    assert reads.count(128) == 2 and reads.count(72) == 2  # 200 valid rows in 2 chunks, each epoch
    a, b = (np.loadtxt(r.history_path, skiprows=1, usecols=(2, 3)) for r in (whole, chunked))
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_clip_norm_bounds_the_gradient_norm_the_optimizer_sees():
    """``clip_norm``: before the step the gradients' total norm is at most the bound (unchanged
    when already below it); without it the step sees the raw gradients."""
    from dnacnn.train.optimizer import optimizer_step

    w = torch.nn.Parameter(torch.full((10,), 3.0))
    seen = []

    class Spy(torch.optim.SGD):
        def step(self, closure=None):
            seen.append(float(torch.linalg.vector_norm(w.grad)))
            return super().step(closure)

    optimizer = Spy([w], lr=0.1)
    for clip in (None, 1.0, 1e6):
        optimizer_step((w**2).sum() * 100, optimizer, None, clip)
    assert seen[0] > 1000 and seen[1] == pytest.approx(1.0, rel=1e-5) and seen[2] > 1000


def test_clip_norm_changes_training_with_a_huge_learning_rate(zou_store, tmp_path):
    """--clip-norm reaches the loop: with lr 1 clipped and unclipped runs train different weights,
    and the model file records the bound."""
    opts = dict(model="zou2019", epochs=1, lr=1.0, seed=0, progress=False, threads=1, device="cpu", precision="fp32")
    plain = train(zou_store, tmp_path / "a.dnacnn", TrainSettings(**opts))
    clipped = train(zou_store, tmp_path / "b.dnacnn", TrainSettings(**opts, clip_norm=0.1))
    wa, wb = _weights(plain.model_path), _weights(clipped.model_path)
    assert not all(torch.equal(wa[k], wb[k]) for k in wa)
    assert load_model(clipped.model_path).meta.settings["clip_norm"] == 0.1
    assert load_model(plain.model_path).meta.settings["clip_norm"] is None
    with pytest.raises(DnacnnError, match=r"^clip_norm must be positive, got -1$"):
        train(zou_store, tmp_path / "c.dnacnn", TrainSettings(**opts, clip_norm=-1))


def test_every_setting_is_a_train_option_and_a_spec_key(cli):
    """The CLI options and the spec's train: keys come from TrainSettings."""
    from dnacnn.train.settings import CLI_KEYS, SPEC_KEYS, flag, resolve_settings

    help_text = cli("train", "--help").stdout
    assert all(flag(name) in help_text for name in CLI_KEYS if name != "model") and "--clip-norm" in help_text
    spec = {"name": "s", "train": {key: resolve_settings({}, TrainSettings())[key] for key in SPEC_KEYS}}
    assert set(resolve_settings(spec, TrainSettings())) >= set(SPEC_KEYS)
