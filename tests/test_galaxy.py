"""Run every ``<test>`` of the Galaxy tools in ``galaxy/`` the way a Galaxy job would, without a server.

For each test the harness loads the tool XML with its macros expanded (galaxy-tool-util, as planemo
does), fills the Cheetah ``<command>`` with the test's parameters and the defaults of the others
(text, numbers and selects as values, booleans as their truevalue/falsevalue, data inputs as objects
whose ``str()`` is the path, conditionals and sections as nested namespaces), turns the result into
one line as Galaxy does, and runs it with ``bash`` under ``set -e`` in a fresh job directory:

    datasets/dataset_N.dat   read-only copies of the test-data inputs (no file extension, as in Galaxy)
    working/                 the command's working directory (``from_work_dir`` outputs are taken from here)
    outputs/dataset_N.dat    the tool outputs

It then checks the exit code (``expect_failure``, ``expect_exit_code``), the number and format of the
outputs, and every assertion (``assert_contents``, ``assert_stdout``, ``assert_stderr``, ``file=``
comparisons) with galaxy-tool-util's own assertion code. Galaxy's parameter sanitizer is *not*
applied, so the commands are also checked to be safe without it: a run must never create a file
named ``pwned`` (the XML tests and :func:`test_shell_injection` feed ``x'; touch pwned; '`` to them).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from galaxy.tool_util.lint import get_lint_context_for_tool_source
from galaxy.tool_util.parser import get_tool_source
from galaxy.tool_util.verify import verify
from galaxy.tool_util.verify.asserts import verify_assertions
from galaxy.util.template import fill_template

GALAXY_DIR = Path(__file__).resolve().parent.parent / "galaxy"
TEST_DATA = GALAXY_DIR / "test-data"
TOOL_XMLS = sorted(GALAXY_DIR.glob("dnacnn_*.xml"))
INJECTION = "x'; touch pwned; '"
TIMEOUT_S = 300


# --------------------------------------------------------------------------- the tool's inputs


@dataclass
class Param:
    """One ``<param>`` of the tool: its name, type, default and (select) options."""

    name: str
    type: str
    default: Any = None
    optional: bool = False
    formats: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    truevalue: str = "true"
    falsevalue: str = "false"
    validators: list[tuple[str, str]] = field(default_factory=list)  # (type, regex or "")

    def validate(self, value: Any) -> None:
        """Reject a test value as Galaxy's validators would (regex and empty_field only)."""
        if value in (None, "") and self.optional:
            return
        for vtype, expression in self.validators:
            if vtype == "empty_field":
                assert str(value) != "", f"{self.name}: empty value"
            elif vtype == "regex":
                assert re.match(expression, str(value)), f"{self.name}: {value!r} does not match {expression}"


@dataclass
class Conditional:
    name: str
    test: Param
    whens: dict[str, list]


@dataclass
class Section:
    name: str
    children: list


def param_name(elem) -> str:
    name = elem.get("name")
    if name:
        return name
    return elem.get("argument").lstrip("-").replace("-", "_")


def parse_inputs(parent) -> list:
    """The tool's input tree from an ``<inputs>`` (or ``<when>`` / ``<section>``) element."""
    tree = []
    for elem in parent:
        if elem.tag == "param":
            tree.append(parse_param(elem))
        elif elem.tag == "conditional":
            test = parse_param(elem.find("param"))
            whens = {when.get("value"): parse_inputs(when) for when in elem.findall("when")}
            tree.append(Conditional(elem.get("name"), test, whens))
        elif elem.tag == "section":
            tree.append(Section(elem.get("name"), parse_inputs(elem)))
        elif elem.tag == "repeat":
            raise NotImplementedError(f"repeat {elem.get('name')!r}: the harness does not handle repeats yet")
    return tree


def parse_param(elem) -> Param:
    ptype = elem.get("type")
    p = Param(param_name(elem), ptype, optional=elem.get("optional", "false") == "true")
    if ptype == "select":
        p.options = [o.get("value") for o in elem.findall("option")]
        chosen = [o.get("value") for o in elem.findall("option") if o.get("selected", "false") == "true"]
        p.default = chosen[0] if chosen else (None if p.optional else p.options[0])
    elif ptype == "boolean":
        p.truevalue = elem.get("truevalue", "true")
        p.falsevalue = elem.get("falsevalue", "false")
        p.default = elem.get("checked", "false") in ("true", "yes", "on")
    elif ptype == "data":
        p.formats = elem.get("format", "data").split(",")
    else:
        p.default = elem.get("value")
    p.validators = [(v.get("type"), (v.text or "").strip()) for v in elem.findall("validator")]
    return p


# --------------------------------------------------------------------------- Cheetah values


class Value:
    """A text / integer / float / select / hidden value as Galaxy's wrappers show it to Cheetah."""

    def __init__(self, param: Param, raw: Any):
        self.param = param
        self.value = self._convert(param, raw)

    @staticmethod
    def _convert(param: Param, raw: Any) -> Any:
        if raw is None or (raw == "" and param.type in ("integer", "float")):
            return None if param.type != "text" else ""
        if param.type == "integer":
            return int(raw)
        if param.type == "float":
            return float(raw)
        if param.type == "select" and raw not in param.options:
            raise ValueError(f"{param.name}: {raw!r} is not one of the options {param.options}")
        return str(raw)

    def __str__(self) -> str:
        return "" if self.value is None else str(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Value):
            other = other.value
        if isinstance(other, str):
            return str(self) == other
        return self.value == other

    def __hash__(self) -> int:
        return hash(self.value)

    def __int__(self) -> int:
        return int(float(str(self)))

    def __float__(self) -> float:
        return float(str(self))

    def __getattr__(self, key: str) -> Any:
        return getattr(str(self), key)


class Boolean(Value):
    def __init__(self, param: Param, raw: Any):
        self.param = param
        self.value = raw if isinstance(raw, bool) else str(raw).lower() in ("true", "yes", "on", param.truevalue)

    def __str__(self) -> str:
        return self.param.truevalue if self.value else self.param.falsevalue

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            return str(self) == other if other in (self.param.truevalue, self.param.falsevalue) else False
        return self.value == bool(other)

    __hash__ = Value.__hash__


class Dataset:
    """A data input or output: ``str()`` is the path; ``ext``, ``name``, ``element_identifier`` as in Galaxy."""

    def __init__(self, path: Path, ext: str, name: str):
        self.file_name = str(path)
        self.ext = self.extension = ext
        self.name = self.element_identifier = name

    def __str__(self) -> str:
        return self.file_name

    def __bool__(self) -> bool:
        return True

    def is_of_type(self, *exts: str) -> bool:
        return self.ext in exts


class NoneDataset:
    """An optional data input left empty."""

    ext = extension = "data"
    name = element_identifier = "None"

    def __str__(self) -> str:
        return "None"

    def __bool__(self) -> bool:
        return False

    def is_of_type(self, *exts: str) -> bool:
        return False


# --------------------------------------------------------------------------- a Galaxy job


@dataclass
class Job:
    """One tool test to run: the tool, its test number and any overrides of the test's inputs."""

    xml: Path
    index: int
    overrides: dict[str, Any] = field(default_factory=dict)  # input path -> value
    names: dict[str, str] = field(default_factory=dict)  # data input path -> dataset name

    @property
    def id(self) -> str:
        return f"{self.xml.stem}-test{self.index + 1}"


@functools.cache
def load_tool(xml: Path):
    source = get_tool_source(str(xml))
    inputs = parse_inputs(source.root.find("inputs"))
    outputs = [o for o in source.root.find("outputs") if o.tag == "data"]
    tests = source.parse_tests_to_dict()["tests"]
    return source, inputs, outputs, tests


class JobDir:
    """``datasets/`` (read-only inputs), ``working/`` (the command's cwd) and ``outputs/``."""

    def __init__(self, root: Path):
        self.root = root
        self.datasets = root / "datasets"
        self.working = root / "working"
        self.outputs = root / "outputs"
        self.tmp = root / "tmp"
        for d in (self.datasets, self.working, self.outputs, self.tmp):
            d.mkdir(parents=True)
        self._n = 0

    def stage(self, test_file: str, ext: str, name: str) -> Dataset:
        src = TEST_DATA / test_file
        assert src.is_file(), f"test-data file {test_file} is missing"
        self._n += 1
        dst = self.datasets / f"dataset_{self._n}.dat"
        shutil.copyfile(src, dst)
        dst.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        return Dataset(dst, ext, name)

    def output(self, name: str, ext: str) -> Dataset:
        self._n += 1
        return Dataset(self.outputs / f"dataset_{self._n}.dat", ext, name)

    def lock_inputs(self) -> None:
        self.datasets.chmod(stat.S_IRUSR | stat.S_IXUSR)

    def unlock(self) -> None:
        self.datasets.chmod(stat.S_IRWXU)


@dataclass
class JobInputs:
    """A test's parameter values, keyed by their path (``cond|param``), and what has been used."""

    values: dict[str, Any]
    ftypes: dict[str, str]
    names: dict[str, str]
    job_dir: JobDir
    used: set[str] = field(default_factory=set)

    def wrap(self, param: Param, path: str):
        given = path in self.values
        if given:
            self.used.add(path)
        raw = self.values[path] if given else param.default
        if param.type == "data":
            if raw in (None, ""):
                assert param.optional, f"required data input {path} has no test file"
                return NoneDataset()
            ext = self.ftypes.get(path) or param.formats[0]
            return self.job_dir.stage(raw, ext, self.names.get(path, raw))
        if param.type == "boolean":
            return Boolean(param, raw)
        if given:
            param.validate(raw)
        return Value(param, raw)


def build_namespace(tree: list, inputs: JobInputs, prefix: str = "") -> dict[str, Any]:
    """The Cheetah namespace for one level of the input tree; nested levels become nested dicts."""
    namespace: dict[str, Any] = {}
    for node in tree:
        if isinstance(node, Conditional):
            path = f"{prefix}{node.name}|"
            test_value = inputs.wrap(node.test, path + node.test.name)
            inner = build_namespace(node.whens[str(test_value)], inputs, path)
            inner[node.test.name] = test_value
            inner["__current_case__"] = list(node.whens).index(str(test_value))
            namespace[node.name] = inner
        elif isinstance(node, Section):
            namespace[node.name] = build_namespace(node.children, inputs, f"{prefix}{node.name}|")
        else:
            namespace[node.name] = inputs.wrap(node, prefix + node.name)
    return namespace


@dataclass
class Result:
    returncode: int
    stdout: bytes
    stderr: bytes
    command: str
    outputs: dict[str, Dataset]
    job_dir: JobDir


def run_job(job: Job, root: Path, home: Path) -> Result:
    source, tree, output_elems, tests = load_tool(job.xml)
    test = tests[job.index]
    values = {item["name"]: item["value"] for item in test["inputs"]}
    values.update(job.overrides)
    ftypes = {item["name"]: item["attributes"]["ftype"] for item in test["inputs"] if item["attributes"].get("ftype")}
    job_dir = JobDir(root)
    inputs = JobInputs(values, ftypes, job.names, job_dir)
    namespace = build_namespace(tree, inputs)
    unknown = set(values) - inputs.used
    assert not unknown, f"test inputs {sorted(unknown)} match no parameter of {job.xml.name}"
    outputs = {}
    for elem in output_elems:
        outputs[elem.get("name")] = job_dir.output(elem.get("name"), elem.get("format"))
    namespace.update(outputs)
    namespace["__tool_directory__"] = str(GALAXY_DIR)
    namespace["__new_file_path__"] = str(job_dir.tmp)
    command = render_command(source.parse_command(), namespace)
    job_dir.lock_inputs()
    env = {
        **os.environ,
        "HOME": str(home),
        "TMPDIR": str(job_dir.tmp),
        "GALAXY_SLOTS": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    try:
        proc = subprocess.run(
            ["bash", "-c", f"set -e\n{command}"], cwd=job_dir.working, env=env, capture_output=True, timeout=TIMEOUT_S
        )
    finally:
        job_dir.unlock()
    for elem in output_elems:
        from_work_dir = elem.get("from_work_dir")
        produced = job_dir.working / from_work_dir if from_work_dir else None
        if produced is not None and produced.exists():
            shutil.move(produced, outputs[elem.get("name")].file_name)
    return Result(proc.returncode, proc.stdout, proc.stderr, command, outputs, job_dir)


def render_command(template: str, namespace: dict[str, Any]) -> str:
    """Fill the Cheetah template, then strip every line and join them with spaces, as Galaxy does."""
    filled = fill_template(template, context=namespace, python_template_version="3")
    return " ".join(line.strip() for line in filled.split("\n")).strip()


# --------------------------------------------------------------------------- checks


def check_result(job: Job, result: Result) -> None:
    _, _, output_elems, tests = load_tool(job.xml)
    test = tests[job.index]
    report = (
        f"command: {result.command}\nexit code: {result.returncode}\n"
        f"stderr:\n{result.stderr.decode(errors='replace')[-3000:]}"
    )
    pwned = list(result.job_dir.root.rglob("pwned"))
    assert not pwned, f"shell injection: {pwned} was created\n{report}"
    # Galaxy's inputs live in a read-only object store and its output folder holds only the outputs
    # (checked by name too, as a harness running as root can write anywhere).
    beside_inputs = [p.name for p in result.job_dir.datasets.iterdir() if not re.fullmatch(r"dataset_\d+\.dat", p.name)]
    assert not beside_inputs, f"the job wrote {beside_inputs} beside its input datasets\n{report}"
    declared = {Path(ds.file_name).name for ds in result.outputs.values()}
    stray = [p.name for p in result.job_dir.outputs.iterdir() if p.name not in declared]
    assert not stray, f"the job wrote {stray} into the output folder\n{report}"
    if test.get("expect_failure"):
        assert result.returncode != 0, f"expected the job to fail\n{report}"
    elif test.get("expect_exit_code") is not None:
        assert result.returncode == int(test["expect_exit_code"]), report
    else:
        assert result.returncode == 0, f"the job failed\n{report}"
    for stream, content in (("stdout", result.stdout), ("stderr", result.stderr)):
        if test.get(stream):
            verify_assertions(content, test[stream])
    if test.get("expect_failure"):
        return
    produced = {name: ds for name, ds in result.outputs.items() if Path(ds.file_name).exists()}
    if test.get("expect_num_outputs") is not None:
        assert len(produced) == int(test["expect_num_outputs"]), f"outputs {sorted(produced)}\n{report}"
    formats = {elem.get("name"): elem.get("format") for elem in output_elems}
    for output in test["outputs"]:
        name, attributes = output["name"], output["attributes"]
        assert name in produced, f"output {name} was not written\n{report}"
        ftype = attributes.get("ftype")
        assert ftype in (None, formats[name]), f"output {name}: format {formats[name]}, test expects {ftype}"
        content = Path(produced[name].file_name).read_bytes()
        verify(
            f"{job.id} output {name}",
            content,
            attributes,
            filename=output.get("value"),
            get_filename=lambda f: str(TEST_DATA / f),
        )


# --------------------------------------------------------------------------- pytest items


def all_jobs() -> list[Job]:
    return [Job(xml, i) for xml in TOOL_XMLS for i in range(len(load_tool(xml)[3]))]


@pytest.fixture(scope="session")
def job_home(tmp_path_factory) -> Path:
    """One HOME for all jobs (as Galaxy gives each job one), kept so font and torch caches stay warm."""
    return tmp_path_factory.mktemp("galaxy_home")


def test_every_tool_has_tests():
    names = {x.stem for x in TOOL_XMLS}
    assert {"dnacnn_encode", "dnacnn_train", "dnacnn_evaluate", "dnacnn_predict"} <= names
    for xml in TOOL_XMLS:
        _, _, _, tests = load_tool(xml)
        assert any(t.get("expect_failure") for t in tests), f"{xml.name} has no expect_failure test"
        assert any(not t.get("expect_failure") for t in tests), f"{xml.name} has no passing test"


@pytest.mark.parametrize("job", all_jobs(), ids=lambda j: j.id)
def test_tool(job: Job, tmp_path: Path, job_home: Path):
    result = run_job(job, tmp_path / "job", job_home)
    check_result(job, result)


@pytest.mark.parametrize("xml", TOOL_XMLS, ids=lambda x: x.stem)
def test_lint(xml: Path):
    """No lint error or warning: the linters ``planemo lint`` runs (galaxy-tool-util's), in-process."""
    context = get_lint_context_for_tool_source(get_tool_source(str(xml)), name=xml.name)
    problems = [str(m) for m in context.error_messages + context.warn_messages]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("xml", TOOL_XMLS, ids=lambda x: x.stem)
def test_command_quotes_every_parameter(xml: Path):
    """House style: every Cheetah placeholder outside a directive sits inside single quotes."""
    for line in load_tool(xml)[0].parse_command().splitlines():
        code = line.strip()
        if code.startswith("#"):  # Cheetah directives (#if, #set) and comments
            continue
        unquoted = re.sub(r"'[^']*'", "", code)
        assert not re.search(r"(?<!\\)\$[{(]?[A-Za-z_]", unquoted), f"{xml.name}: unquoted parameter in: {code}"


@pytest.mark.parametrize(
    "tool, overrides",
    [
        ("dnacnn_train", {"store": "linked_ids_store.tar"}),
        ("dnacnn_evaluate", {"store": "linked_ids_store.tar"}),
        ("dnacnn_evaluate", {"baseline|source": "other", "baseline|train_store": "linked_ids_store.tar"}),
        ("dnacnn_motifs", {"data|input": "linked_ids_store.tar"}),
    ],
    ids=["train", "evaluate", "evaluate-train-store", "motifs"],
)
def test_a_store_archive_never_points_outside(tool: str, overrides: dict, tmp_path: Path, job_home: Path):
    """Issue 17's file disclosure: a store tar whose ids.txt is a symbolic link to /etc/passwd.
    dnacnn reads the tar itself (no shell untar) and refuses the link with one line; no line of
    the linked file reaches stderr, stdout or any file of the job."""
    xml = GALAXY_DIR / f"{tool}.xml"
    index = next(i for i, t in enumerate(load_tool(xml)[3]) if not t.get("expect_failure"))
    result = run_job(Job(xml, index, overrides=overrides), tmp_path / "job", job_home)
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "member store/ids.txt is a symbolic link" in lines[0], stderr
    assert "tar -x" not in result.command and "unpack" not in result.command
    written = [p for p in result.job_dir.root.rglob("*") if p.is_file() and not p.is_symlink()]
    assert not any(b"root:" in p.read_bytes() for p in written if "datasets" not in p.parts)
    assert b"root:" not in result.stdout + result.stderr


def test_shell_injection(tmp_path: Path, job_home: Path):
    """A dataset name and a text parameter holding shell code stay inert (sanitizer off)."""
    xml = GALAXY_DIR / "dnacnn_encode.xml"
    _, _, _, tests = load_tool(xml)
    index = next(i for i, t in enumerate(tests) if any(v["value"] == "rest_AC.seq" for v in t["inputs"]))
    job = Job(xml, index, overrides={"input_type|id_col": INJECTION}, names={"input_type|input": INJECTION})
    result = run_job(job, tmp_path / "job", job_home)
    assert not list(result.job_dir.root.rglob("pwned")), result.command
    assert result.returncode == 1, result.stderr
    # The value reached dnacnn as one argument, quote and all, and the input kept a safe name.
    assert f'no column "{INJECTION}"' in result.stderr.decode(), result.stderr
    assert "inputs/x___touch_pwned___" in result.command
    assert (result.job_dir.working / "inputs" / "x___touch_pwned___").is_symlink()


def test_quote_helper_round_trips_any_text(tmp_path: Path):
    """'$q(value)' gives back exactly the value in bash, whatever quotes, spaces or $ it holds."""
    tricky = ["plain", "x'; touch pwned; '", "a'b''c", "$(touch pwned)", "`touch pwned`", "' || touch pwned #", "\\'"]
    source = get_tool_source(str(GALAXY_DIR / "dnacnn_encode.xml")).parse_command()
    helpers = source[: source.index("export OMP_NUM_THREADS")]
    for value in tricky:
        line = render_command(helpers + "printf '%s' '$q($value)'", {"value": value})
        out = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
        assert out == value
    assert not list(tmp_path.rglob("pwned"))


@pytest.mark.parametrize(
    "name, expected",
    [
        ("REST_AC.seq.gz", "REST_AC.seq.gz"),
        (INJECTION, "x___touch_pwned___"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..", "input"),
        ("", "input"),
        ("a b/c", "a_b_c"),
    ],
)
def test_safe_name(name: str, expected: str):
    source = get_tool_source(str(GALAXY_DIR / "dnacnn_encode.xml")).parse_command()
    helpers = source[: source.index("export OMP_NUM_THREADS")]
    assert render_command(helpers + "$safe_name($name)", {"name": name}) == expected


def test_train_tool_offers_every_shipped_preset():
    """The preset choices come from dnacnn/models/presets through scripts/galaxy_presets.py."""
    from dnacnn.models.spec import list_presets

    script = GALAXY_DIR.parent / "scripts" / "galaxy_presets.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    source = get_tool_source(str(GALAXY_DIR / "dnacnn_train.xml"))
    preset = source.root.find(".//param[@name='preset']")
    assert [o.get("value") for o in preset.findall("option")] == list_presets()
