"""MkDocs hook: the catalogue page, generated from the installed plugins' specs at build time."""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

from ganbench.registry import HOOKS, default_registry, plural, spec_details

INTRO = (
    "# Catalogue\n\n"
    "Every component the installed plugins register, generated from their specs when this site was built "
    "(`ganbench plugins --verbose` prints the same on any machine, with the plugins installed there).\n"
)


TABLE_HEAD = "| name | description | details | from |\n|---|---|---|---|"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def catalogue() -> str:
    registry = default_registry()
    sections = [INTRO]
    for kind in HOOKS:
        sections += [f"## {plural(kind).capitalize()}\n", TABLE_HEAD]
        for name, entry in sorted(registry.entries(kind).items()):
            details = "<br>".join(f"**{key}**: {_cell(value)}" for key, value in spec_details(entry.spec).items())
            sections.append(f"| `{name}` | {_cell(entry.spec.description)} | {details} | {_cell(entry.source)} |")
        sections.append("")
    return "\n".join(sections)


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "catalogue.md", content=catalogue()))
    return files
