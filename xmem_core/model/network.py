"""XMem network: a stateless nn.Module with encode_key / encode_value / read_memory / segment (docs/ARCHITECTURE.md)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from xmem_core.config import ModelConfig
from xmem_core.memory.similarity import full_softmax, get_similarity, readout, topk_softmax
from xmem_core.model.aggregate import aggregate
from xmem_core.model.decoder import Decoder
from xmem_core.model.encoders import KeyEncoder, KeyProjection, ValueEncoder


@dataclass
class KeyFeatures:
    """Output of `XMem.encode_key` for one batch of frames."""

    key: Tensor  # B×Ck×h×w
    shrinkage: Tensor | None  # B×1×h×w, (·)²+1 >= 1; only if need_sk
    selection: Tensor | None  # B×Ck×h×w, sigmoid in (0,1); only if need_ek
    f16: Tensor  # B×C16×h×w
    f8: Tensor  # B×C8×2h×2w
    f4: Tensor  # B×C4×4h×4w


class XMem(nn.Module):
    """The XMem network (spec §2). Submodules: key_encoder, value_encoder, key_proj, decoder (state-dict order)."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else ModelConfig.xmem()
        cfg = self.config
        self.key_encoder = KeyEncoder(cfg.key_backbone)
        feat_dims = self.key_encoder.channels
        self.value_encoder = ValueEncoder(cfg, feat_dims[0])
        self.key_proj = KeyProjection(feat_dims[0], cfg.key_dim)
        self.decoder = Decoder(feat_dims, cfg.value_dim, cfg.hidden_dim, cfg.decoder_dims)

    def encode_key(self, image: Tensor, need_sk: bool = True, need_ek: bool = True) -> KeyFeatures:
        """image: B×3×H×W (ImageNet-normalised, H, W multiples of 16) -> KeyFeatures at h = H/16, w = W/16."""
        f16, f8, f4 = self.key_encoder(image)
        key, shrinkage, selection = self.key_proj(f16, need_sk, need_ek)
        return KeyFeatures(key, shrinkage, selection, f16, f8, f4)

    def encode_value(self, image: Tensor, f16: Tensor, hidden: Tensor | None, masks: Tensor,
                     is_deep_update: bool = True) -> tuple[Tensor, Tensor | None]:
        """image: B×3×H×W, f16: B×C16×h×w, hidden: B×N×Ch×h×w | None, masks: B×N×H×W (soft or hard).

        Returns (value B×N×Cv×h×w, hidden B×N×Ch×h×w | None). "others" = sum of the other objects' masks (zeros
        when N == 1; absent in single-object configs). The hidden state changes only with is_deep_update; a None
        hidden is treated as zeros for the deep update.
        """
        others = None
        if not self.config.single_object:
            others = masks.sum(1, keepdim=True) - masks if masks.shape[1] > 1 else masks.new_zeros(masks.shape)
        return self.value_encoder(image, f16, hidden, masks, others, is_deep_update)

    def read_memory(self, query_key: Tensor, query_selection: Tensor | None, memory_key: Tensor,
                    memory_shrinkage: Tensor | None, memory_value: Tensor, top_k: int | None = None) -> Tensor:
        """Affinity-weighted readout.

        query_key/query_selection: B×Ck×h×w, memory_key: B×Ck×L, memory_shrinkage: B×1×L, memory_value: B×N×Cv×L
        (trailing memory dims beyond L are flattened). top_k=None -> full softmax (training); else top-k softmax.
        Returns B×N×Cv×h×w.
        """
        b, _, h, w = query_key.shape
        qe = query_selection.flatten(2) if query_selection is not None else None
        ms = memory_shrinkage.flatten(2) if memory_shrinkage is not None else None
        sim = get_similarity(memory_key.flatten(2), ms, query_key.flatten(2), qe)  # B×L×M
        affinity = full_softmax(sim) if top_k is None else topk_softmax(sim, top_k)
        out = readout(affinity, memory_value.flatten(3))  # B×N×Cv×M
        return out.view(b, out.shape[1], out.shape[2], h, w)

    def segment(self, features: KeyFeatures, readout: Tensor, hidden: Tensor | None, h_out: bool = True,
                selector: Tensor | None = None, strip_bg: bool = True) -> tuple[Tensor | None, Tensor, Tensor]:
        """Decode per-object logits and aggregate.

        readout: B×N×Cv×h×w, hidden: B×N×Ch×h×w | None (None = zeros), selector: B×N 0/1 (zeroes padded slots).
        Returns (hidden B×N×Ch×h×w | None (None unless h_out and sensory memory exists),
                 logits B×(N+1)×H×W (aggregated log-odds, bg first),
                 prob B×N×H×W if strip_bg else B×(N+1)×H×W).
        """
        hidden, logits = self.decoder(features.f16, features.f8, features.f4, hidden, readout, h_out=h_out)
        prob = logits.float().sigmoid()  # aggregation in fp32 (1 - 1e-7 is 1.0 in bf16)
        if selector is not None:
            prob = prob * selector.view(*selector.shape[:2], 1, 1).to(prob.dtype)
        logits, prob = aggregate(prob, dim=1)
        if strip_bg:
            prob = prob[:, 1:]
        return hidden, logits, prob
