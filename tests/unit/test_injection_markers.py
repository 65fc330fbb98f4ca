"""Every ``Provided["..."]`` / ``Provide[...]`` marker names a provider of the container, in a wired module.

A typo in a marker is otherwise found by the first request that needs it, as
a 500. This reads the source (no app, no database), so it fails in CI instead.
"""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from containers import WORKER_WIRED_MODULES, Container

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", "tests", "bench", "migrations", ".git"}
MARKERS = {"Provide", "Provided"}


@dataclass(frozen=True)
class Marker:
    module: str
    line: int
    provider: str


def markers_in(source: str, *, module: str) -> Iterator[Marker]:
    """``Provide["name"]``, ``Provided["name"]`` and ``Provide[Container.name]`` in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Subscript):
            continue
        base = node.value
        name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
        if name not in MARKERS:
            continue
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            yield Marker(module, node.lineno, key.value.split(".")[0])
        elif isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name) and key.value.id == "Container":
            yield Marker(module, node.lineno, key.attr)


def project_markers() -> list[Marker]:
    found = []
    for path in sorted(PROJECT_ROOT.rglob("*.py")):
        relative = path.relative_to(PROJECT_ROOT)
        if SKIPPED_DIRS & set(relative.parts):
            continue
        module = ".".join(relative.with_suffix("").parts)
        found.extend(markers_in(path.read_text(encoding="utf-8"), module=module))
    return found


def unknown(markers: list[Marker]) -> list[Marker]:
    return [marker for marker in markers if marker.provider not in Container.providers]


def test_the_scan_finds_the_markers_of_the_routes_and_tasks() -> None:
    modules = {marker.module for marker in project_markers()}

    assert {"user.interface.dependencies", "note.interface.dependencies", "web.operations"} <= modules
    assert "mail.infra.task_dependencies" in modules


def test_every_marker_names_a_provider_of_the_container() -> None:
    assert unknown(project_markers()) == []


def test_every_module_with_markers_is_wired() -> None:
    wired = set(Container.wiring_config.modules) | set(WORKER_WIRED_MODULES)
    unwired = {marker.module for marker in project_markers()} - wired

    assert unwired == set()


def test_a_typo_in_a_marker_is_reported() -> None:
    source = 'A = Depends(Provided["user_servce"])\nB = Provide[Container.note_servce]\nC = Provided["note_service"]\n'

    reported = unknown(list(markers_in(source, module="example")))

    assert sorted((m.line, m.provider) for m in reported) == [(1, "user_servce"), (2, "note_servce")]
