"""The import graph of a generated package, and the level each of its modules comes from."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from extensions.ladder import level_of

SWITCH = re.compile(r"\{%-?\s*if\s+(?:not\s+)?has\.(\w+)")


def module_name(path: Path, src: Path) -> str:
    """`churn_model.serving.app` for src/churn_model/serving/app.py."""
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(src: Path, package: str, lazy: bool = True) -> dict[str, set[str]]:
    """Each module of the package and the package's modules it imports, anywhere in it
    (at the top, inside a function, under TYPE_CHECKING); with `lazy=False`, only those it
    imports when it loads (not inside a function)."""
    modules = {module_name(path, src): path for path in (src / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges = set()
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8")), lazy):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(name, is_package, node.module, node.level)
                # `from . import x` names the submodule x when there is one
                targets = [f"{base}.{alias.name}" for alias in node.names]
                targets = [target if target in modules else base for target in targets]
            else:
                continue
            edges |= {target for target in targets if target in modules and target != name}
        graph[name] = edges
    return graph


def _import_nodes(tree: ast.Module, lazy: bool) -> list[ast.AST]:
    """Every node of the module, or, unless `lazy`, those outside its functions."""
    if lazy:
        return list(ast.walk(tree))
    nodes: list[ast.AST] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending += [
            child
            for child in ast.iter_child_nodes(node)
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
    return nodes


def _absolute(module: str, is_package: bool, target: str | None, level: int) -> str:
    if level == 0:
        return target or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, target] if target else base)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def template_levels(template_src: Path, package: str) -> dict[str, int]:
    """The level each module of the package first appears at: the highest level among the
    features its template path switches on (1 for a file every project has)."""
    levels = {}
    for path in template_src.rglob("*.jinja"):
        relative = path.relative_to(template_src)
        features = SWITCH.findall(str(relative))
        plain = re.sub(r"\{%[^%]*%\}", "", str(relative)).replace("{{ package_name }}", package)
        if not plain.endswith(".py.jinja"):
            continue
        name = module_name(Path(plain.removesuffix(".jinja")), Path())
        levels[name] = max((level_of(feature) for feature in features), default=1)
    return levels


def back_arrows(graph: dict[str, set[str]], levels: dict[str, int], hub: str) -> list[str]:
    """Imports from a module of a lower level to one of a higher level, the hub aside."""
    return sorted(
        f"{source} (level {levels[source]}) -> {target} (level {levels[target]})"
        for source, targets in graph.items()
        if source != hub
        for target in targets
        if levels[target] > levels[source]
    )
