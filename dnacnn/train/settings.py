"""The training settings, written once: :class:`TrainSettings`, one field per setting.

Contract: each field carries its type, default, bounds or choices and help text in its
``metadata``; everything else is derived from them - the ``dnacnn train`` options
(:mod:`dnacnn.cli.options`), the keys a spec's ``train:`` block and ``dnacnn tune`` accept
(:data:`SPEC_KEYS`), the settings a model file records and a finished run is matched on
(:data:`RECORDED_KEYS`), the ones a checkpoint must share to be resumed (:data:`RESUME_KEYS`), the
ones an evaluation report shows (:data:`PROVENANCE_KEYS`), and, through
``scripts/gen_train_settings.py``, the workflow's model schema and ``common.smk`` and the Galaxy
train tool.  :func:`resolve_settings` merges built-in defaults < the spec's ``train:`` block <
explicit settings and checks every value against its field's bounds, so a new setting is one
field here plus the line of the training loop that uses it.

Metadata keys: ``help`` (the CLI help), ``spec`` (a ``train:`` key of the spec: the field's
``None`` means "the spec's value, else ``default``"), ``default`` (the built-in value of a spec
key), ``low``/``high`` (inclusive bounds; ``above``: an exclusive lower bound), ``choices``,
``invalid`` (what a value out of bounds is told, after the setting's name), ``resume`` (a checkpoint must have been made
with the same value), ``record`` (kept in the model file), ``provenance`` (shown by ``dnacnn
evaluate``), ``cli`` (False: no ``dnacnn train`` option), ``cli_type`` (the option's type where it
differs), ``galaxy`` (``main``/``advanced`` section of the Galaxy tool, None: not there),
``label`` (its Galaxy label), ``pattern`` (a regex the Galaxy text box checks), ``workflow`` (a
key of the workflow's model entries).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnacnn.device import THREADS_HELP
from dnacnn.errors import DnacnnError, SettingError, check_number

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


def setting(value: Any = None, help: str = "", **meta: Any) -> Any:  # noqa: A002  (the help of the option)
    """A :class:`TrainSettings` field; a ``spec`` key defaults to being recorded, shown in
    provenance, compared on resume, a workflow key and an advanced Galaxy parameter."""
    if meta.get("spec"):
        meta = {"record": True, "provenance": True, "resume": True, "workflow": True, "galaxy": "advanced"} | meta
    return field(default=value, metadata={"help": help, **meta})


@dataclass
class TrainSettings:
    """The settings of one training run; ``None`` in a spec key means the spec's ``train:`` value,
    else the field's built-in ``default``."""

    model: str = setting("tfbind", "Preset name or spec YAML (see 'dnacnn presets').")
    epochs: int | None = setting(
        None, "Maximum epochs (default: the spec's).", spec=True, default=30, low=1, resume=False,
        galaxy="main", label="Maximum epochs",
    )  # fmt: skip
    batch_size: int | None = setting(
        None, "Batch size (default: the spec's).", spec=True, default=64, low=1, galaxy="main", label="Batch size"
    )
    lr: float | None = setting(
        None, "Learning rate (default: the spec's).", spec=True, default=1e-3, above=0, galaxy="main",
        label="Learning rate",
    )  # fmt: skip
    weight_decay: float | None = setting(
        None, "Weight decay (default: the spec's).", spec=True, default=0.0, low=0, label="Weight decay"
    )
    optimizer: str | None = setting(
        None, "adam, adamw, sgd or rmsprop (default: the spec's).", spec=True, default="adam", choices=OPTIMIZERS,
        label="Optimizer",
    )  # fmt: skip
    patience: int | None = setting(
        None, "Early-stopping patience, epochs (default: the spec's).", spec=True, default=5, low=1, resume=False,
        galaxy="main", label="Early-stopping patience",
    )  # fmt: skip
    # epochs without a better validation metric before the learning rate halves (ReduceLROnPlateau)
    lr_patience: int | None = setting(
        None, "Epochs without improvement before the learning rate halves.", spec=True, default=2, low=0,
        resume=False, provenance=False, cli=False, workflow=False, galaxy=None,
    )  # fmt: skip
    rc_augment: bool | None = setting(
        None, "Random reverse-complement flips.", spec=True, default=False, label="Reverse-complement augmentation"
    )
    # auto: on when the store's negatives are dinucleotide shuffles made by `dnacnn encode
    # --negatives shuffle` (binary, one task); new shuffles each epoch keep the net from
    # memorising a fixed negative set (DeepBind ENCODE: mean ROC AUC 0.930 fixed, 0.945 fresh)
    fresh_negatives: bool | None = setting(
        None, "New dinucleotide shuffles of the positives each epoch (default: on for --negatives shuffle stores).",
        spec=True, default="auto", resume=False, label="Fresh shuffled negatives each epoch",
    )  # fmt: skip
    # more shuffles sample the background better (pos_weight auto keeps the classes balanced)
    shuffles_per_positive: int | None = setting(
        None, "With fresh negatives: new shuffles of each positive per epoch (default: the spec's, else 1).",
        spec=True, default=1, low=1, label="Shuffles per positive",
    )  # fmt: skip
    # validation, early stopping and the saved model use the averaged weights (Polyak averaging:
    # less step-to-step noise); presets switch it on where it was measured to help (tfbind)
    ema: float | None = setting(
        None, "Decay of a moving average of the weights that is validated and saved, e.g. 0.999; "
        "0 turns it off (default: the spec's, else 0).", spec=True, default=0.0, low=0, below=1,
        invalid="must be in [0, 1) (0 turns it off), got {value}", label="Weight averaging decay",
    )  # fmt: skip
    # EvoAug's random mutation (Lee et al. 2023), anew at every step, so the net cannot memorise
    # the exact training positives; presets switch it on where it was measured to help (tfbind)
    mutation_rate: float | None = setting(
        None,
        "Probability that each base of a training sequence is substituted by another, drawn anew "
        "every step, e.g. 0.05; 0 turns it off (default: the spec's, else 0).",
        spec=True,
        default=0.0,
        low=0,
        high=0.75,
        invalid="must be in [0, 0.75] (0 turns it off; e.g. 0.05), got {value}",
        label="Random mutation rate",
    )  # fmt: skip  (0.75: every base already random)
    # ChIP-seq summits are imprecise: the stochastic shift of Basset/Basenji, EvoAug's translocation
    max_shift: int | None = setting(
        None, "Shift each training sequence by a random offset of up to this many bases either way, "
        "N filling in, e.g. 10; 0 turns it off (default: the spec's, else 0).", spec=True, default=0, low=0,
        invalid="must be a whole number of bases, 0 or more, got {value!r}", label="Random shift (bases)",
    )  # fmt: skip
    # gradient clipping: the norm of all gradients together is scaled down to at most this before
    # each optimizer step (after unscaling under fp16); guards against the rare huge step
    clip_norm: float | None = setting(
        None, "Clip the norm of all gradients to at most this before each step, e.g. 1.0; "
        "none: no clipping (default: the spec's, else none).", spec=True, default=None, above=0,
        label="Gradient clipping norm",
    )  # fmt: skip
    pos_weight: str = setting(
        "auto", "Binary positive-class weight: auto (n_neg/n_pos), none or a number.", record=True,
        galaxy="advanced", label="Positive-class weight (binary tasks)",
        pattern=r"^(auto|none|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)$",
    )  # fmt: skip
    seed: int = setting(
        0, "Random seed.", low=0, high=2**32 - 1, record=True, resume=True, galaxy="main", label="Random seed"
    )
    fold: int | None = setting(None, "A store with folds: hold out this fold (it becomes the test split).", low=1)
    device: str = setting("auto", "auto (CUDA if available), cpu, cuda or cuda:N.")
    precision: str = setting(
        "auto", "auto (bf16/fp16 on CUDA; bf16 on CPUs with bf16 hardware, else fp32), fp32, bf16 or fp16.",
        choices=("auto", "fp32", "bf16", "fp16"), record=True, provenance=True, galaxy="advanced", label="Precision",
    )  # fmt: skip
    num_workers: int | None = setting(
        None, "Reader threads for a training split streamed from the store [4 on CUDA, 0 (one) on CPU].", low=0
    )
    threads: str | int = setting("auto", THREADS_HELP, cli_type=str)
    max_minutes: float | None = setting(
        None, "Stop after this many minutes (best weights kept).", above=0, record=True, galaxy="advanced",
        label="Time limit in minutes",
    )  # fmt: skip
    resume: bool = setting(False, "Continue from OUT.ckpt after an interrupted run.")
    history: str | None = setting(None, "History TSV [OUT without suffix + .history.tsv].", cli_type=Path)
    progress: bool = setting(True, "Show progress bars.")
    overrides: dict = field(default_factory=dict, metadata={"help": "extra spec keys (--set)", "cli": False})


FIELDS = {f.name: f for f in dataclasses.fields(TrainSettings)}
SPEC_KEYS = tuple(name for name, f in FIELDS.items() if f.metadata.get("spec"))  # a spec's train: block
SPEC_DEFAULTS = {name: FIELDS[name].metadata["default"] for name in SPEC_KEYS}
RECORDED_KEYS = tuple(name for name, f in FIELDS.items() if f.metadata.get("record"))
RESUME_KEYS = tuple(name for name, f in FIELDS.items() if f.metadata.get("resume"))
PROVENANCE_KEYS = tuple(name for name, f in FIELDS.items() if f.metadata.get("provenance"))
CLI_KEYS = tuple(name for name, f in FIELDS.items() if f.metadata.get("cli", True))


def flag(name: str) -> str:
    """The ``dnacnn train`` option of a setting: ``max_shift`` -> ``--max-shift``."""
    return "--" + name.replace("_", "-")


def about(name: str) -> str:
    """A setting's help without the CLI's "(default: ...)" note: what the workflow and Galaxy say."""
    return re.sub(r"\s*\(default:[^)]*\)\.$", ".", FIELDS[name].metadata["help"])


def builtin_default(name: str) -> Any:
    """What a setting is when neither the spec nor the caller chose: a spec key's ``default``,
    else the field's own default."""
    f = FIELDS[name]
    return f.metadata["default"] if f.metadata.get("spec") else f.default


def spec_named(spec: dict) -> str:
    """How an error names a spec: its file (``spec['source']``: a path or ``preset:NAME``), else its name."""
    from dnacnn.models.spec import one_line

    return one_line(str(spec["source"])) if spec.get("source") else f"model {spec.get('name', 'spec')!r}"


def resolve_settings(spec: dict, settings: TrainSettings) -> dict:
    """Merge built-in defaults < the spec's ``train:`` block < explicit settings; the recorded
    settings of the run (:data:`RECORDED_KEYS`), each checked against its field's bounds: a value
    the caller gave is a :class:`~dnacnn.errors.SettingError` naming the setting, one from the
    spec's ``train:`` block an error naming the spec."""
    block = spec.get("train") or {}
    unknown = sorted(set(block) - set(SPEC_KEYS))
    if unknown:  # a typo such as `epoch: 50` would otherwise be silently ignored
        raise DnacnnError(
            f"{spec_named(spec)}: unknown key {unknown[0]!r} in its train: block; use one of {', '.join(SPEC_KEYS)}"
        )
    resolved = {**SPEC_DEFAULTS, **block}
    for name in SPEC_KEYS:
        if getattr(settings, name) is not None:
            resolved[name] = getattr(settings, name)
    resolved.update({name: getattr(settings, name) for name in RECORDED_KEYS if name not in SPEC_KEYS})
    for name in RECORDED_KEYS:
        if name == "precision":  # resolved with the device (dnacnn.device.resolve_precision)
            continue
        try:
            resolved[name] = check_value(name, resolved[name])
        except SettingError as e:
            if name in block and getattr(settings, name) is None:
                raise DnacnnError(f"{spec_named(spec)}: train: block: {e}; fix the spec, or give the setting") from None
            raise
    for name in ("fold", "num_workers"):  # not recorded, checked all the same
        check_value(name, getattr(settings, name))
    resolved["pos_weight"] = check_pos_weight(resolved["pos_weight"])
    return resolved


def check_pos_weight(value: Any) -> str:
    """``pos_weight``: auto, none or a positive number (as text, as the model file records it)."""
    text = str(value).strip().lower()
    if text in ("auto", "none"):
        return text
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise SettingError("pos_weight", f"must be auto, none or a positive number, got {value!r}")
    return str(value)


def kind(name: str) -> str:
    """A setting's value type without ``None``: ``int``, ``float``, ``bool``, ``str`` or ``dict``."""
    return str(FIELDS[name].type).split(" | ")[0]


def check_value(name: str, value: Any) -> Any:
    """``value`` of setting ``name`` if it is one of the field's choices and within its bounds (an
    int setting: a whole number, returned as int), else a :class:`~dnacnn.errors.SettingError`
    naming the setting (``lr must be positive, got -1``; the CLI says ``--lr``)."""
    meta = FIELDS[name].metadata
    if value is None or kind(name) == "bool":
        return value
    if "choices" in meta and value not in meta["choices"]:
        raise SettingError(name, f"{value!r} is unknown", f"use one of {', '.join(meta['choices'])}")
    if not {"low", "high", "above", "below"} & set(meta):
        return value
    bounds = {key: meta.get(key) for key in ("low", "high", "above", "below")}
    try:
        return check_number(name, value, **bounds, whole=kind(name) == "int")
    except SettingError:
        if "invalid" not in meta:
            raise
        raise SettingError(name, meta["invalid"].format(value=value)) from None


def history_path(out_path, history=None) -> Path:
    """Where a training run writes its history TSV: ``history`` when given, else the model file's
    path without its suffix + ``.history.tsv`` (``m.dnacnn`` -> ``m.history.tsv``)."""
    out_path = Path(out_path)
    return Path(history) if history else out_path.with_name(out_path.stem + ".history.tsv")
