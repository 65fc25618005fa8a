"""Interactive graph drawings with pyvis, self-contained: vis-network is inlined and no CDN link is left."""

from __future__ import annotations

import re
from typing import Any

import networkx as nx

__all__ = ["graph_html", "strip_cdn"]

_CDN_TAG = re.compile(r"<(link|script)\b[^>]*(cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|unpkg\.com)[^>]*>"
                      r"(\s*</script>)?",
                      re.IGNORECASE)


def strip_cdn(html: str) -> str:
    """Remove every ``<link>``/``<script>`` tag that loads from a public CDN (pyvis always adds bootstrap's)."""
    return _CDN_TAG.sub("", html)


def graph_html(
    graph: nx.Graph, *, height: int = 420, node_color: dict[Any, str] | None = None,
    node_title: dict[Any, str] | None = None, max_nodes: int = 400, seed: int = 0, physics: bool = True,
) -> tuple[str, int]:
    """Draw ``graph`` with pyvis as one self-contained HTML string.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        A DiGraph is drawn with arrows.
    height : int
        Pixel height of the canvas.
    node_color, node_title : dict, optional
        Per-node colour and hover text.
    max_nodes : int
        Above this many nodes a connected random sample of about ``max_nodes`` nodes (BFS from a seeded start) is
        drawn instead; the second return value says how many nodes were drawn.
    seed : int
        Seed of the subsample.
    physics : bool
        Let vis-network lay out the graph with its physics simulation.

    Returns
    -------
    html : str
    n_drawn : int
    """
    from pyvis.network import Network

    g = graph
    if g.number_of_nodes() > max_nodes:
        import numpy as np

        rng = np.random.default_rng(seed)
        nodes = list(g.nodes)
        start = nodes[int(rng.integers(len(nodes)))]
        keep = [n for n, _ in zip(nx.bfs_tree(g, start), range(max_nodes))]
        g = g.subgraph(keep).copy()
    net = Network(height=f"{height}px", width="100%", cdn_resources="in_line", notebook=False,
                  directed=g.is_directed())  # a DiGraph gets arrows
    net.toggle_physics(physics)
    for n in g.nodes:
        net.add_node(str(n), label=str(n), color=(node_color or {}).get(n, "#56B4E9"),
                     title=(node_title or {}).get(n, str(n)), size=8)
    for u, v, data in g.edges(data=True):
        net.add_edge(str(u), str(v), value=float(data.get("weight", 1.0)))
    return strip_cdn(net.generate_html()), g.number_of_nodes()
