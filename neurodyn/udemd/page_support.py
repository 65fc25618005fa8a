"""What the UDEMD page shows besides its figures: the tabs' settings, the upload run's config and the page's texts.

Pure functions of a config or of a run's records (no streamlit), so the tests can check them; the page
(``pages/udemd.py``) only draws what they return. ``docs/papers/udemd.md §5``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from neurodyn.udemd.datasets import GraphSignals
from neurodyn.udemd.experiment import METHOD_LABELS, Config, pipeline_steps

__all__ = ["TAB_OVERRIDES", "PBMC_MAX_SCALE", "tab_config", "upload_config", "patients_text", "layout_title",
           "has_areas", "pbmc_text"]

#: K of the PBMC tab: the setting planned for these genes (the automatic rule gives 7 on this graph of hop
#: diameter 11); at K = 10 the mass block dominates UDEMD (``docs/papers/udemd.md §6``).
PBMC_MAX_SCALE = 6

#: Overrides that turn the sidebar's config into the other tabs' runs (see :func:`tab_config`).
TAB_OVERRIDES: dict[str, dict[str, Any]] = {
    # 765 genes on the 700-cell PBMC graph, 5-NN accuracy on the clearly typed genes, exact EMD on 30 pairs
    "pbmc": {"dataset": "pbmc", "knn_k": 5, "n_steps": 9, "pairs_per_step": 10, "max_scale": PBMC_MAX_SCALE},
    # N = 500 random geometric graph, 200 bump signals, exact EMD on 300 pairs in batches of 10
    "geometric": {"dataset": "geometric", "graph_nodes": 500, "n_signals": 200, "pairs_per_step": 10,
                  "n_steps": 36},
    "modules": {"dataset": "modules", "n_signals": 300, "n_steps": 6},
}


def tab_config(config: Config, tab: str, **changes: Any) -> Config:
    """The config of tab ``tab``: the sidebar's ``config`` with the tab's overrides and then ``changes``.

    Parameters
    ----------
    config : Config
        The sidebar's config.
    tab : str
        A key of :data:`TAB_OVERRIDES`.
    **changes
        Further field values (e.g. the tab's own K).

    Returns
    -------
    Config
    """
    if tab not in TAB_OVERRIDES:
        raise KeyError(f"unknown tab {tab!r}; valid: {', '.join(TAB_OVERRIDES)}")
    return replace(config, **{**TAB_OVERRIDES[tab], **changes})


def upload_config(config: Config, data: GraphSignals, *, exact_pairs: int = 30) -> Config:
    """The config of a run over uploaded ``data``: the sidebar's settings with ``n_steps`` sized for the pipeline.

    All six stages, then exact EMD on up to ``exact_pairs`` pairs when the graph has <= 1000 nodes (at most 500
    pairs; see :func:`neurodyn.udemd.experiment.pipeline_steps`).

    Parameters
    ----------
    config : Config
        The sidebar's config.
    data : GraphSignals
        The uploaded graph (N, N) and signals (m, N).
    exact_pairs : int, default 30

    Returns
    -------
    Config
    """
    return replace(config, n_steps=pipeline_steps(data.adjacency.shape[0], config.pairs_per_step, exact_pairs))


def patients_text(config: Config) -> str:
    """The sentence that introduces tab A's patients, with the numbers of the config it describes.

    Parameters
    ----------
    config : Config

    Returns
    -------
    str
        Markdown.
    """
    n_nodes = sum(config.branching**d for d in range(config.depth + 1))
    return (f"{config.n_signals} synthetic patients are bags of concept mentions on an is-a tree of {n_nodes:,} "
            f"concepts ({config.branching} children per concept, depth {config.depth}): 4 disease areas × 2 "
            f"severities. A severe patient mentions {config.severity:g}× as many concepts as a mild one, and a share "
            f"ε = {config.eps:g} of the mentions falls anywhere in the tree, so *how much* matters as well as "
            "*where*.")


def layout_title(records: Sequence[Any]) -> str:
    """Title of the run's 2-D layout in words: which layout of which method's embeddings.

    Parameters
    ----------
    records : sequence of Record

    Returns
    -------
    str
    """
    for r in reversed(list(records)):
        if "umap" in r.artifacts:
            shown = METHOD_LABELS.get(str(r.artifacts.get("shown", "udemd")), "UDEMD")
            how = "UMAP" if r.artifacts.get("layout", "umap") == "umap" else "Spectral layout"
            return f"{how} of the {shown} embeddings"
    return ""


def has_areas(records: Sequence[Any]) -> bool:
    """True when the run's data has disease areas (the ontology patients): the page then shows area accuracies.

    Parameters
    ----------
    records : sequence of Record

    Returns
    -------
    bool
    """
    return bool(records) and "area" in records[0].artifacts


def pbmc_text(config: Config) -> str:
    """Tab B's "how to read this", honest about where UDEMD stands on these genes.

    Parameters
    ----------
    config : Config
        The PBMC run's config.

    Returns
    -------
    str
        Markdown.
    """
    return (f"How to read this: marker genes of one type (e.g. GNLY/NKG7/CCL5 for NK and cytotoxic cells) should "
            f"fall together. Accuracy: {config.knn_k}-NN on the clearly typed half of the genes. **On these genes "
            "UDEMD shows only part of the paper's effect.** Up to K = 6 it beats the two baselines that ignore the "
            "graph (L1 and cosine on the raw vectors), but from K = 4 on it trails balanced DEMD: a gene's total "
            "expression (its mass) "
            "says little about which cell type prefers it, so the mass block UDEMD adds blurs the types. From K = 7 "
            "(the automatic choice on this graph) the mass block weighs more, and at K = 10 UDEMD is the worst of "
            "the four methods. Without the mass block (γ = 0, our extension, not the paper's method) it is the best "
            f"of the four at K = 6 to 8. This tab runs K = {config.max_scale} (docs/papers/udemd.md §6).")
