#!/usr/bin/env python3
"""Run every shell command of the documentation, as written, in a fresh copy of the repository.

What it reads: the ```` ```bash ````, ```` ```sh ````, ```` ```shell ```` and ```` ```console ```` blocks
of README.md, config/README.md and docs/*.md, in that order (docs/ alphabetically), and in each file
from top to bottom, so a later command can use what an earlier one wrote (the README's recipes
write the model that docs/contract.md exports, for example). ```` ```yaml ```` blocks that hold a
model spec (a mapping with a ``layers:`` list, as in docs/layers.md) are checked too: each must
load and build (``dnacnn.models.load_spec`` + ``summarize``) on 101 bp of DNA, binary, or on the
input a ``# input: LENGTH x CHANNELS, TASK`` comment in the block names (``# input: 1279 x 3, regression``).

Where it runs them: a temporary folder holding the files of a fresh clone (``git ls-files``:
tracked files plus new files that .gitignore does not exclude, as they are in the working tree, so
``results/`` and other outputs are absent). Each command runs there in its own ``bash -c`` (a
``cd`` or a shell variable does not carry over to the next command; write one command per
idea), with the ``dnacnn``, ``snakemake`` and ``python`` of the environment running this script
first on PATH, and a time limit (``--timeout``, default 600 s).

What is a command: one line, or several joined by a trailing ``\\``, an open quote or loop
(``for ... do`` / ``done``) or a here-document (``<<'EOF'`` ... ``EOF``). Blank and comment-only
lines between commands are skipped. In ``console`` blocks only ``$ `` lines (and ``> ``
continuations) are commands; the other lines are output.

Markers (how the docs tell this script what not to run, and why):

``# not run: REASON``
    at the end of a command (on any of its lines outside a here-document body): the command is
    listed as skipped with REASON. For commands that need an external download, a GPU, SLURM,
    Galaxy, a fresh virtual environment or hours. Readers see why too.
``<!-- not run: REASON -->``
    on the line right before a code fence: the whole block is skipped. Used for the README's
    set-up block, whose lines must stay byte-identical to what CI (.ci/run) runs.
``<!-- check runs: COMMAND -->``
    anywhere outside a code block: run COMMAND at that point. Used after the set-up block, whose
    install CI has already done: the check runs its last step, ``snakemake --cores 2``, so that
    everything below can use ``results/``.

Usage::

    python scripts/check_docs.py                 # all files; exit 1 if a command fails
    python scripts/check_docs.py --list          # list the commands and markers, run nothing
    python scripts/check_docs.py README.md --keep        # some files (paths from the repository root); keep the copy
    python scripts/check_docs.py docs/faq.md --reuse /tmp/check_docs-XXXX   # more, in that copy

It prints one row per command (file, line, command, status, wall seconds and CPU seconds of the
command and its children; the CPU column tells a slow machine from a slow command) and, for a
failure, the command's last output lines. The whole set takes about 5 minutes on 2 CPU cores, most of it the
workflow run and the recipes' short trainings.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHELL_LANGS = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
NOT_RUN = re.compile(r"#\s*not run:\s*(.*?)\s*$")
BLOCK_NOT_RUN = re.compile(r"^\s*<!--\s*not run:\s*(.*?)\s*-->\s*$")
CHECK_RUNS = re.compile(r"^\s*<!--\s*check runs:\s*(.*?)\s*-->\s*$")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
TAIL_LINES = 15

# model specs from ```yaml blocks: each must load and build; prints "ok PATH" or "FAIL PATH reason"
SPEC_CHECK = """
import re, sys
from dnacnn.errors import DnacnnError
from dnacnn.models import load_spec, summarize
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    given = re.search(r"#\\s*input:\\s*(\\d+)\\s*x\\s*(\\d+)(?:\\s*,\\s*(\\w+))?", text)
    length, channels, task = (int(given[1]), int(given[2]), given[3] or "binary") if given else (101, 4, "binary")
    try:
        summarize(load_spec(path), channels, length, 1, task)
        print("ok", path, flush=True)
    except (DnacnnError, ValueError) as e:
        print("FAIL", path, " ".join(str(e).split()), flush=True)
"""


@dataclass
class Command:
    """One thing to run: a shell command, or a model spec to load (``kind == 'spec'``)."""

    file: str
    line: int
    text: str
    skip: str | None = None  # the reason, when a marker says not to run it
    kind: str = "shell"
    status: str = ""
    seconds: float = 0.0
    cpu: float = 0.0  # user + system seconds of the command and its children
    output: list[str] = field(default_factory=list)

    @property
    def shown(self) -> str:
        first = self.text.strip().splitlines()[0] if self.text.strip() else ""
        if self.kind == "spec":
            first = f"(model spec) {first}"
        more = len(self.text.strip().splitlines()) > 1
        first = NOT_RUN.sub("", first).rstrip() if self.skip else first
        if len(first) > 72:
            first, more = first[:71], True
        return first + (" \u2026" if more else "")


# --------------------------------------------------------------------------- reading the docs


def doc_files(root: Path, names: list[str]) -> list[Path]:
    if names:
        return [Path(n) if Path(n).is_absolute() else root / n for n in names]
    files = [root / "README.md", root / "config" / "README.md", *sorted((root / "docs").glob("*.md"))]
    return [f for f in files if f.is_file()]


def is_complete(text: str) -> bool:
    """Whether ``text`` is a whole shell command (no open quote, loop or trailing backslash)."""
    if text.rstrip().endswith("\\"):
        return False
    result = subprocess.run(["bash", "-n"], input=text + "\n", capture_output=True, text=True)
    return result.returncode == 0 or "unexpected end of file" not in result.stderr


def split_commands(lines: list[tuple[int, str]], console: bool) -> list[tuple[int, str, str | None]]:
    """``(line number, command text, not-run reason)`` of the commands of one code block."""
    if console:
        kept, inside = [], False
        for number, line in lines:
            if line.startswith("$ "):
                kept.append((number, line[2:]))
                inside = True
            elif inside and line.startswith("> "):
                kept.append((number, line[2:]))
            else:
                inside = False
        lines = kept
    commands = []
    current: list[str] = []
    start = 0
    shell_lines: list[str] = []  # the command's lines outside here-document bodies
    heredoc_end = None
    for number, line in lines:
        if heredoc_end is not None:
            current.append(line)
            if line.strip() == heredoc_end:
                heredoc_end = None
                if is_complete("\n".join(current)):
                    commands.append(_finish(start, current, shell_lines))
                    current, shell_lines = [], []
            continue
        if not current and (not line.strip() or line.strip().startswith("#")):
            continue
        if not current:
            start = number
        current.append(line)
        shell_lines.append(line)
        match = HEREDOC.search(line)
        if match:
            heredoc_end = match.group(2)
            continue
        if is_complete("\n".join(current)):
            commands.append(_finish(start, current, shell_lines))
            current, shell_lines = [], []
    if current:
        commands.append(_finish(start, current, shell_lines))
    return commands


def _finish(start: int, current: list[str], shell_lines: list[str]) -> tuple[int, str, str | None]:
    reason = None
    for line in shell_lines:
        match = NOT_RUN.search(line)
        if match:
            reason = match.group(1) or "marked not run"
    return start, "\n".join(current), reason


def read_commands(path: Path, root: Path) -> list[Command]:
    """Every command and model spec of one Markdown file, in order."""
    name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Command] = []
    i = 0
    block_skip = None
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if not fence:
            if BLOCK_NOT_RUN.match(line):
                block_skip = BLOCK_NOT_RUN.match(line).group(1)
            elif CHECK_RUNS.match(line):
                out.append(Command(name, i + 1, CHECK_RUNS.match(line).group(1)))
            elif line.strip():
                block_skip = None
            i += 1
            continue
        indent, marker, lang = fence.group(1), fence.group(2), fence.group(3).lower()
        body: list[tuple[int, str]] = []
        i += 1
        while i < len(lines) and not re.match(rf"^\s*{re.escape(marker[0])}{{{len(marker)},}}\s*$", lines[i]):
            text = lines[i]
            body.append((i + 1, text[len(indent) :] if text.startswith(indent) else text.lstrip()))
            i += 1
        i += 1  # the closing fence
        if lang in SHELL_LANGS:
            for number, text, reason in split_commands(body, console=lang == "console"):
                out.append(Command(name, number, text, skip=block_skip or reason))
        elif lang in ("yaml", "yml") and re.search(r"(?m)^layers:", "\n".join(t for _, t in body)):
            first = body[0][0] if body else i
            out.append(Command(name, first, "\n".join(t for _, t in body), skip=block_skip, kind="spec"))
        block_skip = None
    return out


# --------------------------------------------------------------------------- running them


def fresh_copy(root: Path, dest: Path) -> int:
    """Copy the files a fresh clone would have (tracked + new, unignored) from ``root`` to ``dest``."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(
            f"check_docs: cannot list the repository's files with git ({e}); run it in a git checkout"
        ) from None
    n = 0
    for rel in filter(None, listed.split("\0")):
        src = root / rel
        if not (src.is_file() or src.is_symlink()):
            continue  # deleted in the working tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
        n += 1
    return n


def environment() -> dict[str, str]:
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    env["TQDM_DISABLE"] = "1"  # progress bars would fill the captured output
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_shell(cmd: Command, cwd: Path, env: dict[str, str], timeout: float) -> None:
    started, cpu = time.monotonic(), children_cpu()
    proc = subprocess.Popen(
        ["bash", "-c", cmd.text],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a timeout ends it and its children only
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        cmd.status = "ok" if proc.returncode == 0 else f"FAIL (exit {proc.returncode})"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        cmd.status = f"FAIL (timeout {timeout:g} s)"
    cmd.seconds = time.monotonic() - started
    cmd.cpu = children_cpu() - cpu
    cmd.output = out.decode("utf-8", errors="replace").splitlines()[-TAIL_LINES:]


def run_specs(specs: list[Command], cwd: Path, env: dict[str, str], timeout: float) -> None:
    """Load and build every model spec in one Python process (torch is imported once)."""
    folder = cwd / ".check_docs"
    folder.mkdir(exist_ok=True)
    paths = []
    for k, spec in enumerate(specs):
        path = folder / f"spec{k}.yaml"
        path.write_text(spec.text + "\n", encoding="utf-8")
        paths.append(str(path))
    started, cpu = time.monotonic(), children_cpu()
    try:
        result = subprocess.run(
            [sys.executable, "-c", SPEC_CHECK, *paths],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        lines = result.stdout.splitlines()
        problem = result.stderr.strip().splitlines()[-TAIL_LINES:]
    except subprocess.TimeoutExpired:
        lines, problem = [], [f"timeout {timeout:g} s"]
    seconds = (time.monotonic() - started) / max(len(specs), 1)
    cpu = (children_cpu() - cpu) / max(len(specs), 1)
    verdicts = {}
    for line in lines:
        word, path, *rest = line.split(" ", 2)
        verdicts[path] = (word, rest)
    for spec, path in zip(specs, paths):
        word, rest = verdicts.get(path, ("FAIL", problem))
        spec.status = "ok" if word == "ok" else "FAIL (spec)"
        spec.output = [] if word == "ok" else [" ".join(rest)] if rest else problem
        spec.seconds, spec.cpu = seconds, cpu


def run_all(commands: list[Command], cwd: Path, timeout: float, verbose: bool) -> None:
    env = environment()
    by_file: dict[str, list[Command]] = {}
    for cmd in commands:
        if cmd.kind == "spec" and not cmd.skip:
            by_file.setdefault(cmd.file, []).append(cmd)
    checked_specs: set[str] = set()
    for cmd in commands:
        if cmd.skip:
            cmd.status = f"skipped: {cmd.skip}"
        elif cmd.kind == "spec":
            if cmd.file not in checked_specs:
                run_specs(by_file[cmd.file], cwd, env, timeout)
                checked_specs.add(cmd.file)
        else:
            if verbose:
                print(f"  running {cmd.file}:{cmd.line}: {cmd.shown}", file=sys.stderr, flush=True)
            run_shell(cmd, cwd, env, timeout)
        if verbose and cmd.status.startswith("FAIL"):
            print(f"  {cmd.status}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the table


def print_table(commands: list[Command], total: float) -> None:
    rows = [("file", "line", "command", "status", "seconds", "cpu s")]
    for c in commands:
        status = c.status or "(not run)"
        status = status if len(status) <= 60 else status[:59] + "\u2026"
        timed = c.status == "ok" or c.status.startswith("FAIL")
        rows.append(
            (c.file, str(c.line), c.shown, status, f"{c.seconds:.1f}" if timed else "", f"{c.cpu:.1f}" if timed else "")
        )
    widths = [min(max(len(r[i]) for r in rows), 80) for i in range(6)]
    for k, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) if i < 4 else row[i].rjust(widths[i]) for i in range(6)]
        print("  ".join(cells).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    failed = [c for c in commands if c.status.startswith("FAIL")]
    ran = [c for c in commands if c.status == "ok" or c.status.startswith("FAIL")]
    skipped = [c for c in commands if c.status.startswith("skipped")]
    cpu = sum(c.cpu for c in ran)
    print(
        f"\n{len(ran) - len(failed)} ok, {len(failed)} failed, {len(skipped)} skipped; "
        f"{total:.0f} s in all ({total / 60:.1f} min), {cpu:.0f} s of CPU time"
    )
    for c in failed:
        print(f"\n{c.file}:{c.line}: {c.status}\n$ {c.text}")
        for line in c.output:
            print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="Markdown files (default: README.md, config/README.md, docs/*.md)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per command (default: 600)")
    parser.add_argument("--list", action="store_true", help="list the commands and markers; run nothing")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy and print its path")
    parser.add_argument(
        "--reuse", type=Path, metavar="DIR", help="run in DIR, a copy kept by an earlier --keep run (not a fresh one)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)

    commands = [c for f in doc_files(REPO, args.files) for c in read_commands(f, REPO)]
    if args.list:
        for c in commands:
            c.status = f"skipped: {c.skip}" if c.skip else "will run"
        print_table(commands, 0.0)
        return 0
    started = time.monotonic()
    if args.reuse:
        workdir = args.reuse.resolve()
        if not (workdir / "README.md").is_file():
            parser.error(f"--reuse {workdir}: not a copy of the repository")
    else:
        workdir = Path(tempfile.mkdtemp(prefix="check_docs-"))
    try:
        if args.reuse:
            message = f"in the earlier copy {workdir}"
        else:
            message = f"in a copy of {fresh_copy(REPO, workdir)} files at {workdir}"
        if not args.quiet:
            print(f"check_docs: {len(commands)} commands, {message}", file=sys.stderr)
        run_all(commands, workdir, args.timeout, verbose=not args.quiet)
    finally:
        if args.keep or args.reuse:
            print(f"check_docs: the copy is kept at {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(commands, time.monotonic() - started)
    return 1 if any(c.status.startswith("FAIL") for c in commands) else 0


if __name__ == "__main__":
    sys.exit(main())
