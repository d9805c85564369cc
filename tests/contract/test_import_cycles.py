"""No import cycles between shopflow's packages (issue 13, item 6; docs/architecture.md).

The graph is grimp's (the one `lint-imports` checks), type-only imports left out and imports
inside functions counted: an import moved into a function still ties two packages together. A
package is a direct child of `shopflow` (`orders`, `cli`, `target`, ...). Every elementary cycle
between packages is reported with the import lines that close it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grimp

Cycle = tuple[str, ...]  # packages in import order, starting at the alphabetically first
Edges = Mapping[str, Mapping[str, list[str]]]  # importer -> imported -> "module:line" examples


def package_imports(graph: grimp.ImportGraph, root: str = "shopflow") -> Edges:
    """Which package imports which, each with the import lines that make it so."""
    edges: dict[str, dict[str, list[str]]] = {}
    for found in graph.find_matching_direct_imports(import_expression=f"{root}.** -> {root}.**"):
        importer, imported = found["importer"], found["imported"]
        source, target = importer.split(".")[1], imported.split(".")[1]
        if source == target:
            continue
        lines = graph.get_import_details(importer=importer, imported=imported)
        where = [f"{importer}:{line['line_number']}" for line in lines] or [importer]
        edges.setdefault(source, {}).setdefault(target, []).extend(where)
    return {
        source: {target: sorted(set(where)) for target, where in targets.items()}
        for source, targets in edges.items()
    }


def elementary_cycles(edges: Edges) -> set[Cycle]:
    """Every cycle that visits no package twice, once each, starting at its first package by name.

    A depth-first walk from each package through packages named after it only, so each cycle is
    found from its first package alone; the package graph has a few dozen nodes.
    """
    found: set[Cycle] = set()

    def walk(start: str, path: list[str]) -> None:
        for following in sorted(edges.get(path[-1], {})):
            if following == start:
                found.add(tuple(path))
            elif following > start and following not in path:
                walk(start, [*path, following])

    for start in sorted(edges):
        walk(start, [start])
    return found


def described(cycles: Iterable[Cycle], edges: Edges) -> str:
    lines = []
    for cycle in sorted(cycles):
        lines.append(" -> ".join((*cycle, cycle[0])))
        for source, target in zip(cycle, (*cycle[1:], cycle[0]), strict=True):
            lines.append(f"    {source} -> {target}: {', '.join(edges[source][target])}")
    return "\n".join(lines)


def shopflow_graph() -> grimp.ImportGraph:
    return grimp.build_graph("shopflow", exclude_type_checking_imports=True, cache_dir=None)


def test_no_import_cycle_between_packages() -> None:
    edges = package_imports(shopflow_graph())
    cycles = elementary_cycles(edges)
    assert not cycles, f"import cycles between shopflow's packages:\n{described(cycles, edges)}"


def test_no_import_cycle_between_modules() -> None:
    """Inside a package too: a module that imports one importing it back (even inside a
    function) loads half-initialised or hides a dependency."""
    graph = shopflow_graph()
    cycles = sorted(
        {
            tuple(sorted((module, imported)))
            for module in graph.modules
            for imported in graph.find_modules_directly_imported_by(module)
            if graph.chain_exists(importer=imported, imported=module)
        }
    )
    assert not cycles, f"modules importing each other, directly or through others: {cycles}"


def test_a_cycle_through_any_number_of_packages_is_found_with_its_import_lines() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in (
        ("shop.a.x", "shop.b.y"),
        ("shop.b.y", "shop.c.z"),
        ("shop.c.z", "shop.a.w"),  # a -> b -> c -> a
        ("shop.b.y", "shop.a.w"),  # a -> b -> a
        ("shop.c.z", "shop.d.v"),  # d imports nothing back: no cycle
        ("shop.a.x", "shop.a.w"),  # inside one package: not a package cycle
    ):
        graph.add_import(importer=importer, imported=imported, line_number=7, line_contents="import")
    edges = package_imports(graph, root="shop")
    assert elementary_cycles(edges) == {("a", "b"), ("a", "b", "c")}
    assert "    c -> a: shop.c.z:7" in described({("a", "b", "c")}, edges)
