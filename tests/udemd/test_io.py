"""Upload validators: good files parse, every bad file gets an UploadError naming the problem."""
from __future__ import annotations

import gzip
import importlib.util
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
    MAX_PROBLEMS,
    PrepareOptions,
    UploadError,
    _knn_graph,
    _pca,
    check_work,
    exact_comparison_allowed,
    parse_adjacency_npz,
    parse_edge_list,
    parse_h5ad,
    parse_signals_csv,
    parse_signals_for,
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
    with pytest.raises(UploadError, match="400,000,000 entries; dense signal matrices are limited to 25,000,000"):
        check_work(20_000, 100_000, 20_000, n_scales=6)
    with pytest.raises(UploadError, match="m\\*N\\*S"):
        check_work(4_000, 100_000, 6_000, n_scales=6, max_scale=5)
    with pytest.raises(UploadError, match="s of one core, over the budget"):
        check_work(15_000, 1_500_000, 1_000, max_scale=12, n_scales=1)
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


_MAGIC = st.sampled_from([b"", b"\x1f\x8b\x08\x00", b"PK\x03\x04", b"PK\x05\x06", b"\x89HDF\r\n\x1a\n",
                          b"\x93NUMPY\x01\x00", b"src,dst\n", b"id,"])


@_fast
@given(_MAGIC, st.binary(max_size=300))
def test_random_bytes_only_raise_upload_error(magic, data):
    data = magic + data  # file signatures first: gzip, zip, HDF5, .npy, CSV headers
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


# ---------------------------------------------------------------------------------------------- every problem, by line
def test_every_problem_of_an_edge_list_is_reported_by_line():
    """Issue 13 item 5: a bad id on line 3 and bad weights on lines 4 and 5 are all named, each by its line."""
    data = b"src,dst,weight\na,b,1\n,c,1\nc,d,abc\nd,e,-2\ne,f,1\n"
    with pytest.raises(UploadError) as err:
        parse_edge_list(data)
    msg = str(err.value)
    assert msg.startswith("edge list: 3 problems:")
    assert err.value.problems == [
        "line 3, column 'src': empty node id; expected a non-empty id",
        "line 4, column 'weight': 'abc' is not a number",
        "line 5, column 'weight': weight '-2' must be > 0 (an affinity, not a length)",
    ]
    assert all(f"- {p}" in msg for p in err.value.problems)


def test_every_problem_of_a_signals_file_is_reported_by_line_and_column():
    data = b"id,label,C0,C1\npatient0,a,1,oops\npatient1,b,-2,1\n,c,1,1\npatient0,d,1,1\n"
    with pytest.raises(UploadError) as err:
        parse_signals_csv(data, ["C0", "C1"])
    assert err.value.problems == [
        "line 2, column 'C1': 'oops' is not a number",
        "line 3, column 'C0': value '-2' is negative; expected >= 0",
        "line 4, column 'id': empty signal id; expected a non-empty id",
    ]
    with pytest.raises(UploadError, match=r"signals CSV: 2 problems:\n- line 3: duplicate signal id 'p1' \(first on "):
        parse_signals_csv(b"id,C0\np1,1\np1,2\np2,1\np2,3\n", ["C0"])
    with pytest.raises(UploadError) as err:
        parse_signals_csv(b"signal_id,node_id,value\np,zz,1\np,C0,-1\nq,C0,x\n", ["C0"])
    assert [p.split(":")[0] for p in err.value.problems] == ["line 2, column 'node_id'", "line 3, column 'value'",
                                                              "line 4, column 'value'"]


def test_problems_beyond_the_cap_are_counted_and_reading_stops_at_a_thousand():
    bad = b"src,dst,weight\n" + b"".join(b"a%d,b%d,x\n" % (i, i) for i in range(30))
    with pytest.raises(UploadError) as err:
        parse_edge_list(bad)
    assert len(err.value.problems) == MAX_PROBLEMS == 20
    assert str(err.value).startswith("edge list: 30 problems (the first 20 are listed):")
    assert err.value.problems[-1].startswith("line 21,")
    worse = b"src,dst,weight\n" + b"".join(b"a%d,b%d,x\n" % (i, i) for i in range(5000))
    with pytest.raises(UploadError, match=r"1000\+ problems \(the first 20 are listed; reading stopped at line 1001"):
        parse_edge_list(worse)


def test_gzip_compressed_csv_parses_like_the_plain_file():
    g, gz = parse_edge_list(EDGES), parse_edge_list(gzip.compress(EDGES))
    assert g.node_ids == gz.node_ids and abs(g.adjacency - gz.adjacency).max() == 0 and g.digest == gz.digest
    s = parse_signals_csv(gzip.compress(SIGNALS), g.node_ids)
    assert s.signals.tolist() == parse_signals_csv(SIGNALS, g.node_ids).signals.tolist()
    with pytest.raises(UploadError, match="compressed stream is broken"):
        parse_edge_list(gzip.compress(EDGES)[:-12])


# ---------------------------------------------------------------------------------------------- AnnData against anndata
def _pbmc_path() -> Path:
    spec = importlib.util.find_spec("scanpy")
    return Path(spec.origin).parent / "datasets" / "10x_pbmc68k_reduced.h5ad"


def _expected_graph(a) -> np.ndarray:
    a = sp.csr_matrix(a, dtype=np.float64)
    a = (a - sp.diags(a.diagonal())).toarray()
    return (a + a.T) / 2 if np.abs(a - a.T).max() > 1e-8 else a


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore:.*(old version|encoding metadata).*")
def test_h5ad_reader_matches_anndata_on_scanpys_older_layout():
    import anndata

    path = _pbmc_path()
    ad = anndata.read_h5ad(path)  # the oracle: anndata's own reader (moves uns['neighbors'] into obsp)
    g, s = parse_h5ad(path.read_bytes())
    assert g.node_ids == list(ad.obs_names) and s.signal_ids == list(ad.raw.var_names)
    np.testing.assert_array_equal(s.signals, ad.raw.X.toarray().T.astype(np.float64))
    np.testing.assert_array_equal(g.adjacency.toarray(), _expected_graph(ad.obsp["connectivities"]))
    assert g.warnings == ["graph: uns['neighbors']", "signals: the 765 genes of .raw.X"]


@pytest.mark.parametrize("layout", ["dense", "csr", "csc"])
def test_h5ad_reader_matches_anndata_on_the_current_layout(tmp_path, layout):
    import anndata

    rng = np.random.default_rng(5)
    x = rng.poisson(0.7, size=(80, 30)).astype(np.float32)
    ad = anndata.AnnData({"dense": x, "csr": sp.csr_matrix(x), "csc": sp.csc_matrix(x)}[layout])
    ad.obs_names = [f"cell{i}" for i in range(80)]
    ad.var_names = [f"g{j}" for j in range(30)]
    conn = sp.random(80, 80, density=0.1, random_state=5, format="csr")
    ad.obsp["connectivities"] = conn + conn.T
    path = tmp_path / "a.h5ad"
    ad.write_h5ad(path)
    g, s = parse_h5ad(path.read_bytes())
    back = anndata.read_h5ad(path)
    np.testing.assert_array_equal(s.signals, np.asarray(sp.csr_matrix(back.X).toarray(), dtype=np.float64).T)
    np.testing.assert_allclose(g.adjacency.toarray(), _expected_graph(back.obsp["connectivities"]), rtol=0, atol=0)
    assert g.node_ids == list(back.obs_names) and s.signal_ids == list(back.var_names)


def test_pca_matches_the_full_svd_and_knn_matches_brute_force():
    rng = np.random.default_rng(2)
    low = rng.normal(size=(400, 6)) * np.array([50, 30, 20, 10, 5, 3.0])
    x = low @ rng.normal(size=(6, 120)) + 0.01 * rng.normal(size=(400, 120))
    ours = _pca(x, 5)
    c = x - x.mean(0)
    u, sv, _ = np.linalg.svd(c, full_matrices=False)
    exact = u[:, :5] * sv[:5]
    signs = np.sign((ours * exact).sum(0))
    np.testing.assert_allclose(ours * signs, exact, rtol=0, atol=1e-6 * np.abs(exact).max())
    feats = rng.normal(size=(300, 7))
    a = _knn_graph(feats, 4, "t").toarray()
    d = ((feats[:, None, :] - feats[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :4]
    want = np.zeros((300, 300))
    want[np.repeat(np.arange(300), 4), nn.ravel()] = 1
    np.testing.assert_array_equal(a, ((want + want.T) > 0).astype(float))


# ---------------------------------------------------------------------------------------------- checks in the parser
def test_prepare_done_in_the_parser_is_reused_only_with_the_same_settings():
    g = parse_edge_list(EDGES)
    opts = PrepareOptions(n_scales=4, max_scale=4)
    s = parse_signals_for(SIGNALS, graph=g, options=opts)
    assert s.prepared is not None and prepare(g, s, **opts.kwargs()) is s.prepared
    other = prepare(g, s, n_scales=3, max_scale=4)
    assert other is not s.prepared and np.array_equal(other.signals, s.prepared.signals)
    g2 = parse_edge_list(b"src,dst\na,b\nb,c\nx,y\n")
    sig = b"id,a,b,c,x,y\ns1,1,0,0,2,0\ns2,0,1,1,0,0\n"
    with pytest.raises(UploadError, match="disconnected"):
        parse_signals_for(sig, graph=g2, options=PrepareOptions())
    ok = parse_signals_for(sig, graph=g2, options=PrepareOptions(largest_component_only=True))
    assert ok.prepared.node_ids == ["a", "b", "c"]
    assert parse_signals_for(sig, graph=g2).prepared is None


def test_csv_caps_stop_while_streaming():
    with pytest.raises(UploadError, match=r"line 1 has 20,003 columns; the limit is 20,002"):
        parse_signals_csv(b"id," + b",".join(b"n%d" % i for i in range(20_002)) + b"\n", ["n0"])
    with pytest.raises(UploadError, match=r"more than 20,000 nodes; the limit is 20,000"):
        parse_edge_list(b"src,dst\n" + b"".join(b"a%d,b%d\n" % (i, i) for i in range(10_001)))
    nodes = [f"n{i}" for i in range(20_000)]  # 1250 signals x 20,000 nodes fill the 25,000,000-entry dense cap
    with pytest.raises(UploadError, match=r"line 1252: more than 1,250 signals; the limit is 1,250 \(20,000 signals"):
        parse_signals_csv(b"id,n0\n" + b"".join(b"s%d,1\n" % i for i in range(1251)), nodes)
    with pytest.raises(UploadError, match=r"column 'src': node id of 300 characters; ids may have at most 256"):
        parse_edge_list(b"src,dst\n" + b"a" * 300 + b",b\n")
