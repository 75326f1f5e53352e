"""The engine's modules depend on each other as a DAG: graph at the bottom, ops on top.

The package's `__init__` gathers the public API from every module, so it is not counted as a
dependency of the modules under it (Python imports it first, whatever a module asks for).
"""

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

import engine

ENGINE_DIR = Path(engine.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ENGINE_DIR.rglob("*.py"))}


def _engine_imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """The engine modules `source` imports anywhere in it, function bodies included."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from . import x`, `from .graph import Node`
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from engine import ops` imports the module engine.ops; `from engine import add`
            # imports the package.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        found.update(name for name in names if name in MODULES)
    return found - {module}


def _import_graph() -> dict[str, set[str]]:
    return {
        name: _engine_imports(path.read_text(), name, is_package=path.name == "__init__.py")
        for name, path in MODULES.items()
    }


def test_the_parser_sees_imports_in_function_bodies_and_relative_imports():
    source = "def f():\n    from engine import ops\n    from . import kernels\n    import engine\n"
    assert _engine_imports(source, "engine.graph") == {"engine.ops", "engine.kernels", "engine"}
    assert _engine_imports("from engine import add, train", "engine.x") == {
        "engine",
        "engine.train",
    }


def test_the_engine_modules_import_each_other_without_cycles():
    graph = _import_graph()
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle among engine modules: {' -> '.join(error.args[1])}")
    assert order.index("engine.graph") < order.index("engine.gradients") < order.index("engine.ops")


def test_graph_and_kernels_import_nothing_from_the_engine():
    graph = _import_graph()
    assert graph["engine.graph"] == set()
    assert graph["engine.kernels"] == set()
    assert graph["engine.ops"] == {"engine.graph", "engine.gradients", "engine.kernels"}


def test_importing_the_graph_does_not_import_the_ops():
    """In a fresh interpreter, with the package's `__init__` (which imports every module)
    replaced by a bare package, `import engine.graph` loads graph alone; engine.ops then
    installs the operators on Node."""
    script = f"""
import sys, types
package = types.ModuleType("engine")
package.__path__ = [{str(ENGINE_DIR)!r}]
sys.modules["engine"] = package
import engine.graph
print(sorted(name for name in sys.modules if name.startswith("engine.")))
print(hasattr(engine.graph.Node, "__add__"))
import engine.ops
print(hasattr(engine.graph.Node, "__add__"))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:3] == ["['engine.graph']", "False", "True"]
