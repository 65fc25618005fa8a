"""Reading altair charts and preset runs in the paper tests: the rows each layer of a chart carries, every title it
shows, and the records of a preset run on one thread."""

from __future__ import annotations

from typing import Any, Iterator

import torch

from neurodyn.core import registry
from neurodyn.core.config import fields_of
from neurodyn.core.loop import Record, run


def layer_rows(spec: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Rows of every layer of a chart dict (``chart.to_dict()``; a single chart is one layer), in layer order."""
    layers = spec.get("layer", [spec])
    return [spec["datasets"][layer.get("data", spec.get("data"))["name"]] for layer in layers]


def titles(node: Any) -> Iterator[str]:
    """Every title string in a chart dict: chart, axis and legend titles."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "title":
                if isinstance(value, str):
                    yield value
                elif isinstance(value, dict) and isinstance(value.get("text"), str):
                    yield value["text"]
                elif isinstance(value, list):
                    yield from (v for v in value if isinstance(v, str))
            yield from titles(value)
    elif isinstance(node, list):
        for item in node:
            yield from titles(item)


def preset_records(name: str, preset: str = "small", **overrides: Any) -> tuple[list[Record], Any]:
    """Records of a whole run of experiment ``name`` at ``preset`` with ``overrides``, on the CPU with one torch
    thread (as a worker trains), and its config."""
    if "device" in {f.name for f in fields_of(registry.get(name).config_cls)}:
        overrides.setdefault("device", "cpu")  # the tests' numbers are CPU numbers
    cfg = registry.make_config(name, preset, **overrides)
    exp = registry.get(name).build(cfg)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return list(run(exp)), cfg
    finally:
        torch.set_num_threads(threads)


def assert_container_and_words(spec: dict[str, Any], metric_names: set[str], label_keys: tuple[str, ...] = (),
                               *, rows_required: bool = False) -> None:
    """A chart dict fills its container, has a title, shows no metric name or underscore in any title, and carries
    words (no underscore) in the data columns ``label_keys``; with ``rows_required`` every layer has rows."""
    inner = spec["layer"][0] if "layer" in spec else spec
    assert spec.get("width", inner.get("width")) == "container"
    shown = list(titles(spec))
    assert shown, "every chart has a title"
    for title in shown:
        assert title not in metric_names and "_" not in title, title
    for rows in layer_rows(spec):
        assert rows or not rows_required
        for row in rows:
            for key in label_keys:
                assert "_" not in str(row.get(key, "")), row
