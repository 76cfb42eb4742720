"""The experiment contract over the registry, and the layer rule over the whole package.

The layer rule (CONTRIBUTING.md): codes -> kernels -> nets / data -> distances, regions,
encoding, binary geometry -> experiments -> cli; a module imports only from its own layer
or below, no import circle exists, and no function imports hamgeo's own modules (only
heavy optional dependencies may be imported inside functions).
"""

import ast
import importlib
from pathlib import Path

import pytest

import hamgeo
from hamgeo.experiments import REGISTRY
from hamgeo.experiments.protocol import check_experiment

PACKAGE = Path(hamgeo.__file__).parent

# lower number = lower layer; a module may import modules of its own layer or below
LAYERS = {
    "hamgeo._checks": 0,
    "hamgeo._version": 0,
    "hamgeo._io": 0,
    "hamgeo._blocks": 0,
    "hamgeo.codes": 1,
    "hamgeo.hamming": 2,
    "hamgeo.data": 3,
    "hamgeo.nets": 3,
    "hamgeo.transport": 4,
    "hamgeo.mmd": 4,
    "hamgeo.gaussian": 4,
    "hamgeo._samples": 4,
    "hamgeo.regions": 4,
    "hamgeo.encoding": 4,
    "hamgeo.binary_geometry": 4,
    "hamgeo.experiments": 5,
    "hamgeo": 7,  # the package's __init__ re-exports everything
    "hamgeo.bench": 8,  # the benchmark suites time the public API (`import hamgeo`)
    "hamgeo.cli": 9,  # the `hamgeo` command; it loads the layers below with importlib
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> int:
    best = None
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    assert best is not None, f"{module} has no layer in LAYERS: add it"
    return best[1]


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    is_package = (PACKAGE.parent / Path(*base) / "__init__.py").exists()
    keep = len(base) - node.level + (1 if is_package else 0)
    return ".".join(base[:keep] + ([node.module] if node.module else []))


def _imports() -> dict[str, list[tuple[str, bool, int]]]:
    """Per module: (imported hamgeo module, inside a function?, line)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = []
        func_lines = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        func_lines.add(inner.lineno)
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, node)
                # `from hamgeo import nets` imports the sub-package hamgeo.nets, not hamgeo
                subs = [f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}")]
                targets = subs if len(subs) == len(node.names) else [base, *subs]
            for target in targets:
                if target == "hamgeo" or target.startswith("hamgeo."):
                    edges.append((target, node.lineno in func_lines, node.lineno))
        found[module] = edges
    return found


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_no_upward_import_and_no_import_in_functions():
    problems = []
    for module, edges in _imports().items():
        for target, in_function, line in edges:
            if target == "hamgeo" and module != "hamgeo":
                if in_function:
                    continue  # `import hamgeo` for __version__ only; checked below
            if in_function and target != "hamgeo":
                problems.append(f"{module}:{line} imports {target} inside a function")
            elif _layer(target) > _layer(module):
                problems.append(f"{module}:{line} imports {target} from a higher layer")
    assert not problems, "\n".join(problems)


def test_no_import_circle():
    graph = {m: {t for t, _, _ in e if t != m} for m, e in _imports().items()}
    nodes = set(graph)

    def owner(target):  # the module file an import resolves to
        while target and target not in nodes:
            target = target.rpartition(".")[0]
        return target

    adjacency = {m: {owner(t) for t in ts} - {m, ""} for m, ts in graph.items()}
    # a package's __init__ re-exporting its children is not a circle with them
    for m in adjacency:
        adjacency[m] = {t for t in adjacency[m] if not t.startswith(m + ".")}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in adjacency.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(adjacency):
        if v not in index:
            visit(v)
    assert not cycles, f"import circles: {cycles}"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registry_experiments_follow_the_protocol(name):
    module = importlib.import_module(REGISTRY[name])
    check_experiment(module)
    assert module.NAME == name
    config = module.Config.quick()
    assert config.n_seeds >= 1
    with pytest.raises((TypeError, ValueError)):
        type(config)(n_seeds=0)
