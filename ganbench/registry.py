"""Finds plugins through the entry-point group ``ganbench`` and looks their specs up by name."""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import pluggy

from ganbench import hookspecs
from ganbench.errors import PluginError

ENTRY_POINT_GROUP = "ganbench"

# kind (as a user says it) -> the registration hook that lists specs of that kind
HOOKS: dict[str, str] = {
    "model": "ganbench_models",
    "dataset": "ganbench_datasets",
    "loss": "ganbench_losses",
    "regularizer": "ganbench_regularizers",
    "feature extractor": "ganbench_feature_extractors",
    "metric": "ganbench_metrics",
}


DETAIL_FIELDS = ("conditional", "condition_image", "options", "defaults", "resolutions", "citation")


def plural(kind: str) -> str:
    return f"{kind}es" if kind.endswith("s") else f"{kind}s"


def spec_details(spec: Any) -> dict[str, Any]:
    """What a spec declares beyond its name and description (options, paper defaults, resolutions, citation,
    what a search varies), the fields it does not set left out: ``ganbench plugins -v`` and the catalogue."""
    details = {key: getattr(spec, key) for key in DETAIL_FIELDS if getattr(spec, key, None)}
    if getattr(spec, "search_space", None):
        details["searches"] = ", ".join(spec.search_space)
    return details


@dataclass(frozen=True)
class Registered:
    """A spec and the plugin it came from (``entry point name (distribution version)``)."""

    spec: Any
    source: str


class Registry:
    """Every spec of every registered plugin, by kind and name."""

    def __init__(self, manager: pluggy.PluginManager, sources: dict[str, str]) -> None:
        self._manager = manager
        self._sources = sources
        self._entries: dict[str, dict[str, Registered]] = {}

    def entries(self, kind: str) -> dict[str, Registered]:
        if kind not in self._entries:
            self._entries[kind] = self._collect(kind)
        return self._entries[kind]

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries(kind))

    def get(self, kind: str, name: str) -> Any:
        entries = self.entries(kind)
        if name in entries:
            return entries[name].spec
        known = sorted(entries)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listing = ", ".join(known) if known else "none (is a plugin package installed?)"
        raise PluginError(
            f"Unknown {kind} {name!r}.{hint} Known {plural(kind)}: {listing}. "
            "Run `ganbench plugins` to see where each comes from."
        )

    def _collect(self, kind: str) -> dict[str, Registered]:
        hook = getattr(self._manager.hook, HOOKS[kind])
        found: dict[str, Registered] = {}
        for impl in hook.get_hookimpls():
            source = self._sources.get(impl.plugin_name, impl.plugin_name)
            for spec in impl.function() or []:
                if spec.name in found:
                    raise PluginError(
                        f"Two plugins register the {kind} {spec.name!r}: {found[spec.name].source} and {source}. "
                        "Uninstall one of them, or ask its author to rename the component."
                    )
                found[spec.name] = Registered(spec, source)
        return found


def build_registry(extra_plugins: tuple[object, ...] = ()) -> Registry:
    """Load every installed plugin of the entry-point group, plus ``extra_plugins`` (objects or modules)."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    sources: dict[str, str] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if manager.has_plugin(entry.name):
            continue
        dist = f"{entry.dist.name} {entry.dist.version}" if entry.dist else "unknown distribution"
        try:
            plugin = entry.load()
        except Exception as exc:  # a broken third-party plugin must not hide which one broke
            raise PluginError(
                f"The plugin {entry.name!r} ({entry.value}, from {dist}) failed to import: {exc}. "
                f"Reinstall or uninstall that distribution."
            ) from exc
        manager.register(plugin, name=entry.name)
        sources[entry.name] = f"{entry.value} ({dist})"
    for plugin in extra_plugins:
        name = manager.register(plugin) or repr(plugin)
        sources[name] = f"{getattr(plugin, '__name__', name)} (registered in-process)"
    return Registry(manager, sources)


@functools.cache
def default_registry() -> Registry:
    """The registry of installed plugins, built once per process."""
    return build_registry()
