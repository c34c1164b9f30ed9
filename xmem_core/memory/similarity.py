"""Anisotropic L2 similarity (paper Eq. 2 with the code's 1/sqrt(C^k)), softmax variants and readout.

All functions are pure tensor maths. Layout: memory along L, query pixels along M; the similarity
matrix is B×L×M so that the softmax runs along the memory axis (dim 1).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def get_similarity(
    mem_key: Tensor,
    mem_shrinkage: Tensor | None,
    query_key: Tensor,
    query_selection: Tensor | None,
) -> Tensor:
    """Decomposed anisotropic L2 similarity (appendix I).

    mem_key: B×Ck×L, mem_shrinkage: B×1×L (or None), query_key: B×Ck×M, query_selection: B×Ck×M (or None).
    Returns S: B×L×M with S_ij = -s_i * sum_c e_cj (k_ci - q_cj)^2 / sqrt(Ck).
    Without selection the query-norm term is dropped (constant per query, STCN form).
    """
    ck = mem_key.shape[1]
    mk_t = mem_key.transpose(1, 2)  # B×L×Ck
    if query_selection is not None:
        a = (mk_t * mk_t) @ query_selection  # B×L×M
        b = 2 * (mk_t @ (query_key * query_selection))  # B×L×M
        c = (query_selection * query_key * query_key).sum(1, keepdim=True)  # B×1×M
        sim = b - a - c
    else:
        a = (mem_key * mem_key).sum(1).unsqueeze(2)  # B×L×1
        b = 2 * (mk_t @ query_key)  # B×L×M
        sim = b - a
    if mem_shrinkage is not None:
        sim = sim * mem_shrinkage.transpose(1, 2)  # B×L×1 broadcast over M
    return sim / math.sqrt(ck)


def naive_similarity(
    mem_key: Tensor,
    mem_shrinkage: Tensor | None,
    query_key: Tensor,
    query_selection: Tensor | None,
) -> Tensor:
    """Direct formula of Eq. 2 (memory-hungry: B×Ck×L×M); used by tests to check `get_similarity`."""
    diff = mem_key.unsqueeze(3) - query_key.unsqueeze(2)  # B×Ck×L×M
    sq = diff * diff
    if query_selection is not None:
        sq = sq * query_selection.unsqueeze(2)
    sim = -sq.sum(1)  # B×L×M
    if mem_shrinkage is not None:
        sim = sim * mem_shrinkage.transpose(1, 2)
    return sim / math.sqrt(mem_key.shape[1])


def full_softmax(sim: Tensor) -> Tensor:
    """Numerically stable softmax over the memory axis. sim: B×L×M -> B×L×M."""
    return torch.softmax(sim, dim=1)


def topk_softmax(sim: Tensor, top_k: int) -> Tensor:
    """Top-k softmax over the memory axis, max-subtracted, k clamped to L (fixes spec §4.2).

    sim: B×L×M. Returns a dense B×L×M affinity whose columns sum to 1 with at most k non-zeros.
    """
    k = min(top_k, sim.shape[1])
    values, indices = torch.topk(sim, k=k, dim=1)  # B×k×M, sorted descending: values[:, :1] is the max
    weights = torch.exp(values - values[:, :1]).float()
    weights = weights / weights.sum(dim=1, keepdim=True)
    affinity = torch.zeros_like(sim, dtype=weights.dtype)
    affinity.scatter_(1, indices, weights)
    return affinity


def readout(affinity: Tensor, mem_value: Tensor) -> Tensor:
    """Weighted sum of memory values. affinity: B×L×M, mem_value: B×N×Cv×L -> B×N×Cv×M."""
    b, n, cv, length = mem_value.shape
    flat = mem_value.reshape(b, n * cv, length)
    out = flat @ affinity.to(flat.dtype)
    return out.view(b, n, cv, -1)
