"""The package's shape: no import cycle inside crepetool (module- or function-level), no
function over 80 lines, no module over 450 lines, each listed constant typed in one place, the
top-level API importable (and visible to type checkers), and one command per CLI module."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "crepetool"
MAX_LINES = 80


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every crepetool module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
    return {name for name in found if name in modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def test_no_import_runs_back_up() -> None:
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    assert "crepetool.prediction.pipeline" in graph["crepetool.prediction.recording"]  # the graph sees imports
    assert _cycles(graph) == []
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_function_is_over_80_lines() -> None:
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


MAX_MODULE_LINES = 450


def test_no_module_is_over_450_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): count
        for path in PACKAGE.rglob("*.py")
        if (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def _code(path: Path) -> str:
    """``path``'s code without comments and docstrings (string literals other than docstrings stay)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                body[0] = ast.Pass()
    return ast.unparse(tree)


#: Each idea's literal and where it may be typed (module: times); anywhere else is a second home.
ONE_HOME: list[tuple[str, dict[str, int]]] = [
    (r"\b16000\b", {"units.py": 1}),  # the sample rate
    (r"\b1024\b", {"units.py": 1}),  # the window
    (r"(?<!\(\d, )(?<!\(\d\d, )\b360\b", {"units.py": 1}),  # the pitch bins (not the steps of the schedule)
    (r"1997\.379", {"units.py": 1}),  # bin 0 in cents
    (r"\b32\.7\b|1975\.5", {"units.py": 2}),  # CREPE's range, for the training frames
    (r"\b160\b", {}),  # the default hop: names.DEFAULT_HOP, from the step in ms
    (r"\b2048\b", {"training/recovery/options.py": 1, "training/frames/sources.py": 1}),  # calibration; context
    # verify's bar; a line width
    (r"\b0\.9\b", {"names.py": 1, "prediction/plotting.py": 1}),
    (r"'CREPETOOL_", {"names.py": 5}),  # every environment variable crepetool reads
    (r"'(viterbi|weighted-argmax|argmax|viterbi-torchcrepe)'", {"names.py": 4}),  # the decoders
    (r"1 \+ \w+ // \w+", {"prediction/framing.py": 1}),  # the frame count
    (r"\.std\(dim=", {"network/span.py": 1, "training/frames/oscillators.py": 1}),  # frames; synthesis
    (r"\(\(4, 360\), \(8, 540\)", {"names.py": 1}),  # the default steps by capacity
    (r"=\s*17\b", {"names.py": 1}),  # the ONNX opset (cli/export.py and network/export.py read it)
    (r"=\s*20\.0\b", {"names.py": 1}),  # the stream's block (cli/stream.py and prediction/stream.py)
    (r"=\s*0\.99\b", {"names.py": 1}),  # the dereverberating front end's forgetting factor
    (r"choose from|is not one of", {"errors.py": 1}),  # the unknown-choice check (errors.check_choice)
]


def test_each_constant_is_typed_once() -> None:
    import re

    code = {str(path.relative_to(PACKAGE)): _code(path) for path in PACKAGE.rglob("*.py")}
    for pattern, homes in ONE_HOME:
        found = {name: n for name, text in code.items() if (n := len(re.findall(pattern, text)))}
        assert found == homes, pattern
    # the check can fail: a second copy of the sample rate is found
    assert len(re.findall(r"\b16000\b", code["units.py"] + "\nRATE = 16000")) == 2


def test_the_top_level_names_import_without_torch_until_used() -> None:
    import subprocess
    import sys

    code = (
        "import sys, crepetool; assert 'torch' not in sys.modules, 'import crepetool imported torch'; "
        "missing = [n for n in crepetool.__all__ if getattr(crepetool, n, None) is None]; "
        "assert not missing, missing; assert 'torch' in sys.modules; print(len(crepetool.__all__))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 10


def _listed(init: Path) -> set[str]:
    """The names a package's ``__init__`` imports under ``if TYPE_CHECKING:``."""
    tree = ast.parse(init.read_text())
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }


def test_every_package_lists_its_public_names_one_way() -> None:
    """Each package's ``__init__`` (the top level and every part) has the one style: ``__all__``,
    the lazy table ``_PUBLIC`` and the TYPE_CHECKING imports name the same things, and each
    name imports."""
    import importlib

    inits = sorted(PACKAGE.rglob("__init__.py"))
    styled = [init for init in inits if "_PUBLIC" in init.read_text()]
    assert len(styled) >= 7  # crepetool, network, prediction, evaluation, training (recovery, frames)
    for init in styled:
        name = ".".join(init.parent.relative_to(PACKAGE.parent).parts)
        package = importlib.import_module(name)
        assert _listed(init) == set(package.__all__) == set(package._PUBLIC), name
        assert [n for n in package.__all__ if getattr(package, n, None) is None] == [], name
    # the CLI's imports are eager (its ``main`` is a module and a function) and torch-free
    assert [init.parent.name for init in inits if init not in styled] == ["cli"]


def _registered(module_name: str) -> list[str]:
    """The commands one CLI module's ``register`` adds to an empty app."""
    import importlib

    import typer

    app = typer.Typer()
    importlib.import_module(module_name).register(app)
    return [info.name for info in app.registered_commands]


def _misregistered(modules: list[str]) -> list[str]:
    """The command modules that do not register exactly one command named after the module
    (``crepetool/cli/NAME.py`` registers NAME; ``import_keras.py``, ``import-keras``)."""
    return [name for name in modules if _registered(name) != [name.rsplit(".", 1)[-1].replace("_", "-")]]


def test_each_cli_module_registers_one_command_named_after_it() -> None:
    modules = [
        name
        for name, path in _modules().items()
        if name.startswith("crepetool.cli.") and "def register" in path.read_text()
    ]
    assert len(modules) >= 12
    assert _misregistered(modules) == []


def test_the_command_check_fails_for_a_module_with_two_commands(tmp_path, monkeypatch) -> None:
    (tmp_path / "two.py").write_text(
        "def register(app):\n    app.command('two')(lambda: None)\n    app.command('three')(lambda: None)\n"
    )
    (tmp_path / "one.py").write_text("def register(app):\n    app.command('one')(lambda: None)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _misregistered(["one", "two"]) == ["two"]


def test_the_tests_mirror_the_package() -> None:
    """``tests/prediction/test_decode.py`` tests ``crepetool/prediction/decode.py``: every folder of
    tests is a part of the package, and the tests of a part are in its folder."""
    tests = Path(__file__).resolve().parent
    folders = {path.parent.relative_to(tests) for path in tests.rglob("test_*.py")} - {Path(".")}
    assert folders >= {Path("network"), Path("prediction"), Path("training"), Path("evaluation"), Path("cli")}
    assert [folder for folder in folders if not (PACKAGE / folder / "__init__.py").is_file()] == []
