"""A YAML SafeLoader whose mappings remember their lines, so an error in a kubeconfig's
structure (not only in its syntax) names the line."""

from __future__ import annotations

from typing import Any

import yaml


class LineMap(dict):
    """A mapping with the line it starts on and the line of each key's value."""

    line: int = 0
    lines: dict[Any, int]


class LineLoader(yaml.SafeLoader):
    """yaml.SafeLoader building LineMaps."""


def _mapping(loader: LineLoader, node: yaml.MappingNode) -> LineMap:
    mapping = LineMap(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {}
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            mapping.lines[key_node.value] = value_node.start_mark.line + 1
    return mapping


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def line_of(mapping: Any, key: str | None = None) -> int:
    """The line of ``mapping`` (or of its ``key``'s value); 0 when unknown."""
    if not isinstance(mapping, LineMap):
        return 0
    return mapping.lines.get(key, mapping.line) if key is not None else mapping.line
