"""Upload validators: good files parse, every bad file gets an UploadError naming the problem."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurodyn.udemd import UnbalancedDiffusionEMD
from neurodyn.udemd.io import (
    MAX_FILE_BYTES,
    UploadError,
    check_work,
    exact_comparison_allowed,
    parse_adjacency_npz,
    parse_edge_list,
    parse_h5ad,
    parse_signals_csv,
    prepare,
)

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "udemd"
EDGES = b"src,dst,weight\na,b,1\nb,c,2\nc,d,1\nd,a,0.5\n"
SIGNALS = b"id,label,a,b,c,d\ns1,x,1,0,0,0\ns2,x,0,1,0,0\ns3,y,0,0,2,1\n"


def _npz(mat) -> bytes:
    buf = io.BytesIO()
    sp.save_npz(buf, sp.csr_matrix(mat))
    return buf.getvalue()


def test_edge_list_and_wide_signals_produce_embedding():
    g = parse_edge_list(EDGES)
    assert g.node_ids == ["a", "b", "c", "d"] and g.adjacency[1, 2] == 2.0 == g.adjacency[2, 1]
    s = parse_signals_csv(SIGNALS, g.node_ids)
    assert s.labels == ["x", "x", "y"] and s.signals[2].tolist() == [0, 0, 2, 1]
    data = prepare(g, s)
    e = UnbalancedDiffusionEMD(max_scale=4, device="cpu").fit(data.adjacency).transform(data.signals)
    assert e.shape == (3, 4 * 5)


def test_shipped_example_uploads_parse():
    g = parse_edge_list((ASSETS / "example_edges.csv").read_bytes())
    s = parse_signals_csv((ASSETS / "example_signals.csv").read_bytes(), g.node_ids)
    data = prepare(g, s)
    assert len(data.signal_ids) >= 10 and data.labels is not None


def test_long_form_signals_sum_repeats_and_keep_labels():
    s = parse_signals_csv(b"signal_id,node_id,value,label\np1,a,1,x\np1,a,2,x\np2,c,1,y\n", ["a", "b", "c"])
    assert s.signals.tolist() == [[3, 0, 0], [0, 0, 1]] and s.labels == ["x", "y"]
    assert "summed" in s.warnings[0]


def test_missing_graph_nodes_are_zero_and_reported():
    s = parse_signals_csv(b"id,a,b\ns1,1,2\n", ["a", "b", "c"])
    assert s.signals.tolist() == [[1, 2, 0]] and "'c'" in s.warnings[0]


def test_duplicate_edges_keep_max_and_self_loops_dropped_with_warnings():
    g = parse_edge_list(b"src,dst,weight\na,b,1\nb,a,3\nb,b,1\nb,c,1\n")
    assert g.adjacency[0, 1] == 3.0 and g.adjacency[1, 1] == 0
    assert any("duplicate" in w for w in g.warnings) and any("self-loop" in w for w in g.warnings)


def test_npz_adjacency_with_nodes_csv_and_symmetrisation():
    a = np.array([[0, 1, 0], [2, 0, 1], [0, 1, 0]], dtype=float)
    g = parse_adjacency_npz(_npz(a), b"node\nx\ny\nz\n")
    assert g.node_ids == ["x", "y", "z"] and g.adjacency[0, 1] == 1.5 and "symmetrised" in g.warnings[0]
    buf = io.BytesIO()
    np.savez(buf, adjacency=np.ones((3, 3)) - np.eye(3))
    assert parse_adjacency_npz(buf.getvalue()).node_ids == ["0", "1", "2"]


def test_npz_with_pickled_objects_is_refused():
    buf = io.BytesIO()
    np.savez(buf, adjacency=np.array([{"a": 1}], dtype=object))
    with pytest.raises(UploadError, match="pickle"):
        parse_adjacency_npz(buf.getvalue())


def test_largest_component_only_reports_dropped_mass():
    g = parse_edge_list(b"src,dst\na,b\nb,c\nx,y\n")
    s = parse_signals_csv(b"id,a,b,c,x,y\ns1,1,0,0,2,0\ns2,0,1,1,0,0\n", g.node_ids)
    with pytest.raises(UploadError, match="disconnected"):
        prepare(g, s)
    d = prepare(g, s, largest_component_only=True)
    assert d.node_ids == ["a", "b", "c"] and d.dropped_mass.tolist() == [2.0, 0.0]
    assert any("dropped mass" in line for line in d.report)


def test_h5ad_genes_on_cell_graph_and_scaled_data_rejected(tmp_path):
    import anndata  # a runtime requirement: never skipped
    rng = np.random.default_rng(0)
    x = rng.poisson(1.0, size=(60, 12)).astype(float)
    ad = anndata.AnnData(x)
    ad.obs_names = [f"cell{i}" for i in range(60)]
    ad.var_names = [f"g{j}" for j in range(12)]
    path = tmp_path / "a.h5ad"
    ad.write_h5ad(path)
    g, s = parse_h5ad(path.read_bytes())
    assert g.adjacency.shape == (60, 60) and s.signals.shape == (12, 60)
    d = prepare(g, s, largest_component_only=True)
    assert UnbalancedDiffusionEMD(max_scale=4, device="cpu").fit(d.adjacency).transform(d.signals).shape[0] == 12
    ad.X = x - x.mean(0)  # z-scored-like
    ad.write_h5ad(path)
    with pytest.raises(UploadError, match="scaled"):
        parse_h5ad(path.read_bytes())


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b"from,to\na,b\n", "header"),
        (b"src,dst,weight\na,b,nan\n", "line 2.*NaN"),
        (b"src,dst,weight\na,b,-1\n", "line 2.*> 0"),
        (b"src,dst,weight\na,b,abc\n", "line 2.*not a number"),
        (b"src,dst\na,b,c\n", "line 2.*columns"),
        (b"src,dst\na,a\n", "no edges"),
    ],
)
def test_bad_edge_lists_rejected_with_location(data, fragment):
    with pytest.raises(UploadError, match=fragment):
        parse_edge_list(data)


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"name,a,b\ns1,1,2\n", "'id'"),
        (b"id,a,b\ns1,1,nan\n", "line 2, column 'b'.*NaN"),
        (b"id,a,b\ns1,1,-2\n", "line 2, column 'b'.*negative"),
        (b"id,a,b\ns1,1,2\ns1,0,1\n", "duplicate signal id.*'s1'"),
        (b"id,a,zz\ns1,1,2\n", "'zz'.*not nodes"),
        (b"id,a,a\ns1,1,2\n", "duplicate node column"),
        (b"signal_id,node_id,value\np,zz,1\n", "line 2.*'zz'"),
        (b"signal_id,node_id,value\np,a,-1\n", "line 2.*negative"),
        (b"id,a,b\n", "no signal rows"),
    ],
)
def test_bad_signal_files_rejected_with_location(data, fragment):
    with pytest.raises(UploadError, match=fragment):
        parse_signals_csv(data, ["a", "b", "c"])


@pytest.mark.parametrize(
    "mat, fragment",
    [
        (np.ones((2, 3)), "square"),
        (np.array([[0, -1.0], [-1.0, 0]]), "negative"),
        (np.array([[0, np.inf], [np.inf, 0]]), "NaN or infinite"),
    ],
)
def test_bad_npz_rejected(mat, fragment):
    with pytest.raises(UploadError, match=fragment):
        parse_adjacency_npz(_npz(mat))


def test_isolated_node_and_zero_mass_and_size_guards():
    g = parse_adjacency_npz(_npz(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float)), b"p\nq\nr\n")
    s = parse_signals_csv(b"id,p,q,r\ns1,1,0,0\ns2,0,0,0\n", g.node_ids)
    with pytest.raises(UploadError, match="isolated.*'r'"):
        prepare(g, s)
    g2 = parse_edge_list(b"src,dst\np,q\nq,r\n")
    s2 = parse_signals_csv(b"id,p,q,r\ns1,1,0,0\ns2,0,0,0\n", g2.node_ids)
    with pytest.raises(UploadError, match="'s2'.*zero mass"):
        prepare(g2, s2, balanced=True)
    assert any("zero mass" in line for line in prepare(g2, s2).report)
    with pytest.raises(UploadError, match="m\\*N\\*S"):
        check_work(20_000, 100_000, 20_000, n_scales=6)
    with pytest.raises(UploadError, match="flops"):
        check_work(15_000, 1_500_000, 5_000, max_scale=12, n_scales=1)
    with pytest.raises(UploadError, match="200 MB"):
        parse_edge_list(b"x" * (MAX_FILE_BYTES + 1))
    assert exact_comparison_allowed(500, 300) and not exact_comparison_allowed(1500, 10)


# ---------------------------------------------------------------------------------------------- property tests
_fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_ids = st.sampled_from(["a", "b", "c", "d", "zz", "", "a b", "1", "é"])
_vals = st.sampled_from(["1", "0", "-1", "nan", "NaN", "inf", "-inf", "", "x", "1e400", "2.5", "1,2"])


def _only_upload_errors(fn, *args):
    try:
        fn(*args)
    except UploadError:
        pass  # the only exception type allowed out


@_fast
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_upload_error(data):
    _only_upload_errors(parse_edge_list, data)
    _only_upload_errors(parse_signals_csv, data, ["a", "b", "c"])
    _only_upload_errors(parse_adjacency_npz, data)
    _only_upload_errors(parse_h5ad, data)


@_fast
@given(
    st.lists(st.sampled_from(["src", "dst", "weight", "from", "", "w"]), min_size=0, max_size=4),
    st.lists(st.tuples(_ids, _ids, _vals), max_size=8),
)
def test_malformed_edge_lists_only_raise_upload_error(header, rows):
    text = ",".join(header) + "\n" + "\n".join(",".join(r) for r in rows)
    try:
        g = parse_edge_list(text.encode())
        s = parse_signals_csv(("id," + ",".join(g.node_ids) + "\ns," + ",".join("1" for _ in g.node_ids)).encode(),
                              g.node_ids)
        prepare(g, s)
    except UploadError:
        pass


@_fast
@given(
    st.lists(_ids, min_size=0, max_size=5),
    st.lists(st.tuples(_ids, st.lists(_vals, min_size=0, max_size=6)), max_size=6),
    st.booleans(),
)
def test_malformed_signal_files_only_raise_upload_error(cols, rows, long_form):
    head = "signal_id,node_id,value" if long_form else "id," + ",".join(cols)
    body = "\n".join(",".join([rid, *vals]) for rid, vals in rows)
    _only_upload_errors(parse_signals_csv, (head + "\n" + body).encode(), ["a", "b", "c", "d"])


@_fast
@given(st.integers(2, 8), st.integers(0, 10_000), st.booleans())
def test_random_graphs_disconnected_or_not_only_raise_upload_error(n, seed, lcc):
    rng = np.random.default_rng(seed)
    a = (rng.random((n, n)) < 0.3).astype(float)
    a = np.triu(a, 1)
    a = a + a.T
    g = parse_adjacency_npz(_npz(a)) if a.any() else None
    if g is None:
        return
    s = parse_signals_csv(("id," + ",".join(g.node_ids) + "\ns1," + ",".join("1" for _ in g.node_ids)
                           + "\ns2," + ",".join("0" for _ in g.node_ids)).encode(), g.node_ids)
    try:
        d = prepare(g, s, largest_component_only=lcc)
    except UploadError:
        return
    UnbalancedDiffusionEMD(max_scale=3, device="cpu").fit(d.adjacency).transform(d.signals)
