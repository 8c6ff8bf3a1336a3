"""One epoch of training and its validation, early stopping and checkpoint.

Contract: :func:`train_epoch` runs every batch of an epoch through augmentation, the forward
pass, the loss and one optimizer step (then the weight average), and returns the mean training
loss; :func:`end_epoch` validates the weights that would be saved (the average with ``ema``,
batch-norm statistics refreshed), records the epoch in the history and the checkpoint, steps the
learning-rate schedule and says whether training stops; :func:`final_weights` leaves the model
holding the weights to save.  The running loss stays on the device: no host sync per step.
"""

from __future__ import annotations

import contextlib
import math
import time

import numpy as np

from dnacnn.train.augment import flip_strands, mutate_codes, shift_codes
from dnacnn.train.averaging import RecentBatches, refresh_batchnorm
from dnacnn.train.batches import on_device
from dnacnn.train.checkpoint import save_checkpoint
from dnacnn.train.console import log, progress_bar, write_history
from dnacnn.train.optimizer import optimizer_step
from dnacnn.train.run import Run
from dnacnn.train.state import LoopState


def train_epoch(run: Run, batches, n_batches: int, epoch: int, recent: RecentBatches) -> float:
    """Train on one epoch's ``batches``; the mean training loss."""
    import torch

    record, device = run.record, run.device
    run.model.train()
    # the running loss stays on the device: no host sync per step (float64, as Python sums)
    total = torch.zeros((), dtype=torch.float32 if device.type == "mps" else torch.float64, device=device)
    count = 0
    bar = progress_bar(run.settings.progress and run.rank == 0, n_batches, f"epoch {epoch}/{record['epochs']}")
    recent.clear()
    max_shift, mutation_rate = record["max_shift"], float(record["mutation_rate"])
    for step, (codes_b, y_b) in enumerate(batches, 1):
        codes_b = codes_b.to(device, non_blocking=True)
        y_b = y_b.to(device, non_blocking=True)
        recent.add(codes_b)
        codes_b = mutate_codes(shift_codes(codes_b, max_shift), mutation_rate)  # after the BN sample
        X = run.expand(codes_b)
        if record["rc_augment"]:
            X = flip_strands(X)
        with run.autocast:
            logits = run.net(X)
        loss = run.objective.loss(logits, y_b)
        optimizer_step(loss, run.optimizer, run.scaler, record["clip_norm"])
        if run.average is not None:
            run.average.update()
        total.add_(loss.detach(), alpha=len(y_b))
        count += len(y_b)
        if not bar.disable:
            bar.update(1)
            if step % 25 == 0:
                bar.set_postfix(loss=f"{float(total) / count:.4f}", refresh=False)
    bar.close()
    return float(total) / max(count, 1)


def validate(run: Run, valid) -> tuple[float, float]:
    """Validation loss and metric over ``valid()``'s chunks (one chunk, copied to the device once,
    when the split is small: see :func:`dnacnn.train.batches.validation_rows`)."""
    import torch

    model, objective, batch_size = run.model, run.objective, int(run.record["batch_size"]) * 4
    model.eval()
    logits_all, losses, labels, n = [], [], [], 0
    with torch.no_grad():
        for chunk in valid():
            codes_t, y_t = on_device(chunk, run.device)
            labels.append(chunk[1])
            for i in range(0, len(codes_t), batch_size):
                yb = y_t[i : i + batch_size]
                with run.autocast:
                    logits = model(run.expand(codes_t[i : i + batch_size]))
                losses.append(objective.loss(logits, yb).double() * len(yb))
                logits_all.append(logits.float())
            n += len(codes_t)
    if n == 0:
        return float("nan"), float("nan")
    scores = objective.scores(torch.cat(logits_all))
    return sum(torch.stack(losses).tolist()) / n, objective.metric(np.concatenate(labels), scores)


def end_epoch(run: Run, state: LoopState, valid, recent: RecentBatches, epoch: int, loss: float, t0: float) -> bool:
    """Validate, record and checkpoint epoch ``epoch`` (mean training ``loss``, begun at ``t0``);
    whether training stops early (no better validation metric for ``patience`` epochs)."""
    with run.average.applied() if run.average is not None else contextlib.nullcontext():
        if len(run.valid_idx):
            refresh_batchnorm(run.model, recent.codes, run.expand, run.autocast)
        val_loss, val_metric = validate(run, valid)
        monitored = val_metric if math.isfinite(val_metric) else -val_loss
        improved = monitored > state.best_metric + 1e-6
        if improved:  # the weights just validated: the averaged ones with --ema
            state.best_weights = {k: v.detach().clone() for k, v in run.model.state_dict().items()}
    lr = run.optimizer.param_groups[0]["lr"]
    run.scheduler.step(monitored)
    if improved:
        state.best_metric, state.best_epoch, state.bad_epochs = monitored, epoch, 0
    else:
        state.bad_epochs += 1
    seconds = time.time() - t0
    row = {"epoch": epoch, "loss": loss, "val_loss": val_loss, "val_metric": val_metric, "lr": lr}
    state.history.append({**row, "seconds": round(seconds, 3)})
    state.epoch = epoch
    log(
        run.rank,
        f"epoch {epoch}: loss {loss:.4f}  val_loss {val_loss:.4f}  "
        f"val_{run.objective.metric_name} {val_metric:.4f}  lr {lr:.2g}  {seconds:.1f}s" + ("  *" if improved else ""),
    )
    if run.rank == 0:
        write_history(run.history_path, state.history)
        save_checkpoint(run.ckpt_path, run.model, run.optimizer, run.scheduler, state, run.record, run.average)
    if state.bad_epochs >= int(run.record["patience"]) and len(run.valid_idx):
        log(run.rank, f"early stopping: no improvement for {state.bad_epochs} epochs; best epoch {state.best_epoch}")
        return True
    return False


def final_weights(run: Run, state: LoopState, recent: RecentBatches) -> None:
    """The model holds the best validated weights, or without a validation split the last
    epoch's (averaged with ``ema``, batch-norm statistics refreshed for them)."""
    if state.best_weights is not None and len(run.valid_idx):
        run.model.load_state_dict(state.best_weights)
    else:
        if run.average is not None:
            run.average.copy_to_model()
        refresh_batchnorm(run.model, recent.codes, run.expand, run.autocast)
