"""Latent bank and PCA of the latent primitives (paper card §2.3, §6): hand-made sequences and sklearn as oracles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodyn.multitask.primitives import LATENT_NAMES, PCA, fit_pca, latent_bank

torch.set_num_threads(1)


def _sequence() -> torch.Tensor:
    """One trial of 6 steps: modality 1 shows (0.6, 0.8) at t = 1-2, a weak (0.1, 0.1) at t = 4; modality 2 shows
    (0, -0.5) at t = 3 and (0.2, 0) at t = 5 (below threshold); fixation 1 until t = 4."""
    x = torch.zeros(1, 6, 5, dtype=torch.float64)
    x[0, :4, 0] = 1.0
    x[0, 1:3, 1:3] = torch.tensor([0.6, 0.8], dtype=torch.float64)
    x[0, 4, 1:3] = torch.tensor([0.1, 0.1], dtype=torch.float64)
    x[0, 3, 3:5] = torch.tensor([0.0, -0.5], dtype=torch.float64)
    x[0, 5, 3:5] = torch.tensor([0.2, 0.0], dtype=torch.float64)
    return x


def _v(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_latent_names():
    assert len(LATENT_NAMES) == 13 and len(set(LATENT_NAMES)) == 13
    assert LATENT_NAMES[0] == "fixation input"
    assert "modality 2" in LATENT_NAMES[7] and "remembered" in LATENT_NAMES[3]


def test_latent_bank_on_a_hand_made_sequence():
    bank = latent_bank(_sequence())[0]
    assert bank.shape == (6, 13) and bank.dtype == torch.float64
    expected = torch.zeros(6, 13, dtype=torch.float64)
    expected[:4, 0] = 1.0
    # modality 1: current, memory (held after t = 2; the weak t = 4 stimulus is not stored), 0.1 x running sum
    expected[1:3, 1:3] = _v(0.6, 0.8)
    expected[4, 1:3] = _v(0.1, 0.1)
    expected[1:, 3:5] = _v(0.6, 0.8)
    expected[1, 5:7] = _v(0.06, 0.08)
    expected[2:4, 5:7] = _v(0.12, 0.16)
    expected[4:, 5:7] = _v(0.13, 0.17)
    # modality 2: memory 0 until t = 3, then (0, -0.5) held (the t = 5 stimulus has length 0.2 < 0.3)
    expected[3, 7:9] = _v(0.0, -0.5)
    expected[5, 7:9] = _v(0.2, 0.0)
    expected[3:, 9:11] = _v(0.0, -0.5)
    expected[3:5, 11:13] = _v(0.0, -0.05)
    expected[5, 11:13] = _v(0.02, -0.05)
    torch.testing.assert_close(bank, expected, atol=1e-12, rtol=0)
    low = latent_bank(_sequence(), threshold=0.1)[0]  # now the t = 5 stimulus of modality 2 is stored
    torch.testing.assert_close(low[5, 9:11], torch.tensor([0.2, 0.0], dtype=torch.float64), atol=0, rtol=0)


def test_latent_bank_is_per_trial_and_vectorised():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(7, 11, 5, generator=gen) * 0.4
    bank = latent_bank(x)
    for i in range(7):
        torch.testing.assert_close(bank[i:i + 1], latent_bank(x[i:i + 1]), atol=0, rtol=0)
    # a plain loop over time as a second oracle for the memory
    for start, col in ((1, 3), (3, 9)):
        memory = torch.zeros(7, 2)
        for t in range(11):
            stim = x[:, t, start:start + 2]
            memory = torch.where((stim.norm(dim=-1) > 0.3)[:, None], stim, memory)
            torch.testing.assert_close(bank[:, t, col:col + 2], memory, atol=0, rtol=0)


def test_latent_bank_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        latent_bank(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="threshold"):
        latent_bank(torch.zeros(2, 3, 5), threshold=-1.0)


def _corpus() -> torch.Tensor:
    """Correlated samples of unequal variances: 2000 x 6, float32."""
    gen = torch.Generator().manual_seed(1)
    mixing = torch.randn(6, 6, generator=gen) * torch.tensor([3.0, 2.0, 1.5, 1.0, 0.5, 0.1])[:, None]
    return torch.randn(2000, 6, generator=gen) @ mixing + torch.tensor([1.0, -2.0, 0.0, 5.0, 0.5, 3.0])


def test_pca_invariants():
    samples = _corpus()
    pca = fit_pca(samples)
    assert isinstance(pca, PCA) and pca.components.dtype == torch.float64
    eye = torch.eye(6, dtype=torch.float64)
    torch.testing.assert_close(pca.components @ pca.components.T, eye, atol=1e-6, rtol=0)
    assert pca.explained_variance_ratio.sum().item() == pytest.approx(1.0, abs=1e-12)
    assert bool((pca.explained_variance_ratio[:-1] >= pca.explained_variance_ratio[1:]).all())
    pivots = pca.components.gather(1, pca.components.abs().argmax(dim=1, keepdim=True))
    assert bool((pivots > 0).all())  # the documented sign convention
    z = pca.transform(samples.double(), 6)
    corr = torch.corrcoef(z.T)
    assert (corr - torch.diag(torch.diagonal(corr))).abs().max().item() < 1e-6
    torch.testing.assert_close(z @ pca.components + pca.mean, samples.double(), atol=1e-9, rtol=0)
    variance = z.var(dim=0, correction=0)
    torch.testing.assert_close(variance / variance.sum(), pca.explained_variance_ratio, atol=1e-12, rtol=0)
    assert pca.transform(samples, 2).shape == (2000, 2) and pca.transform(samples, 2).dtype == torch.float32
    assert pca.transform(samples.view(40, 50, 6), 3).shape == (40, 50, 3)


def test_pca_matches_sklearn():
    sklearn_decomposition = pytest.importorskip("sklearn.decomposition")
    samples = _corpus()
    pca = fit_pca(samples)
    ref = sklearn_decomposition.PCA(svd_solver="full").fit(samples.double().numpy())
    np.testing.assert_allclose(pca.explained_variance_ratio.numpy(), ref.explained_variance_ratio_, atol=1e-10)
    np.testing.assert_allclose(pca.mean.numpy(), ref.mean_, atol=1e-10)
    np.testing.assert_allclose(np.abs(pca.components.numpy()), np.abs(ref.components_), atol=1e-8)


def test_pca_of_the_latent_bank_and_few_samples():
    gen = torch.Generator().manual_seed(2)
    bank = latent_bank(torch.randn(20, 15, 5, generator=gen) * 0.5).reshape(-1, 13)
    pca = fit_pca(bank)
    assert pca.components.shape == (13, 13)
    z = pca.transform(bank, 8)
    corr = torch.corrcoef(z.double().T)
    assert (corr - torch.eye(8, dtype=torch.float64)).abs().max().item() < 1e-6
    few = fit_pca(torch.randn(3, 5, generator=gen))  # S < D: still D orthonormal rows, zero trailing ratios
    torch.testing.assert_close(few.components @ few.components.T, torch.eye(5, dtype=torch.float64), atol=1e-6,
                               rtol=0)
    assert few.explained_variance_ratio[2:].max().item() < 1e-20  # centred rank 2


def test_pca_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        fit_pca(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="zero variance"):
        fit_pca(torch.ones(10, 3))
    with pytest.raises(ValueError, match="finite"):
        fit_pca(torch.tensor([[0.0, 1.0], [float("nan"), 2.0]]))
    pca = fit_pca(_corpus())
    with pytest.raises(ValueError, match="k"):
        pca.transform(torch.zeros(3, 6), 7)
    with pytest.raises(ValueError, match="dimension"):
        pca.transform(torch.zeros(3, 5), 2)


def test_pca_of_a_long_corpus_uses_the_thin_svd():
    # 10^5 rows: the full SVD's left factor alone would need 80 GB; the thin one is a (S, D) matrix
    g = torch.Generator().manual_seed(3)
    x = torch.randn(100_000, 13, generator=g, dtype=torch.float64) * torch.linspace(1.0, 3.0, 13, dtype=torch.float64)
    pca = fit_pca(x)
    assert pca.components.shape == (13, 13)
    torch.testing.assert_close(pca.components @ pca.components.T, torch.eye(13, dtype=torch.float64), atol=1e-10,
                               rtol=0)
    assert int(pca.components[0].abs().argmax()) == 12  # the widest axis comes first
