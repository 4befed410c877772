"""IMRNet's network: a Point-MAE-style masked patch autoencoder whose masked patches are asked for at query points.

Shapes: ``B`` clouds, ``G`` patches of ``K`` points, ``C`` token width, ``n`` masked patches.
"""

from __future__ import annotations

import torch
from torch import nn

from anomalygen.detect.imrnet.config import IMRNetConfig
from anomalygen.detect.pointops import index_points, square_distance

__all__ = ["MiniPointNet", "Block", "Stack", "MaskedPointAutoencoder", "hidden_points"]


class MiniPointNet(nn.Module):
    """Patch embedding (Point-MAE's two-stage PointNet): (B, G, K, 3) -> (B, G, C).

    Stage 1 embeds each point, stage 2 sees each point beside its patch's max-pooled feature,
    a final max-pool makes the token invariant to the order of the K points. LayerNorm rather
    than BatchNorm: batches of a few clouds would make batch statistics noisy and train/eval
    behaviour different.
    """

    def __init__(self, width: int, hidden: int = 32):
        super().__init__()
        self.first = nn.Sequential(nn.Linear(3, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Linear(hidden, 2 * hidden))
        self.second = nn.Sequential(nn.Linear(4 * hidden, 4 * hidden), nn.LayerNorm(4 * hidden), nn.GELU(),
                                    nn.Linear(4 * hidden, width))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        f = self.first(patches)                                          # (B, G, K, 2h)
        pooled = f.max(dim=2, keepdim=True).values.expand_as(f)
        f = self.second(torch.cat([pooled, f], dim=-1))                  # (B, G, K, C)
        return f.max(dim=2).values                                       # (B, G, C)


class Block(nn.Module):
    """Pre-norm Transformer block: x + MHSA(LN(x)), then x + MLP(LN(x)); (B, L, C) -> (B, L, C)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class Stack(nn.Module):
    """Blocks with the positional embedding added before each (as Point-MAE does)."""

    def __init__(self, width: int, depth: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.blocks = nn.ModuleList(Block(width, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x + pos)
        return self.norm(x)


class MaskedPointAutoencoder(nn.Module):
    """Point-MAE-style masked patch autoencoder with query points and local context for the masked patches.

    ``forward(patches (B, G, K, 3) relative to their centres, centres (B, G, 3), mask (B, G)
    bool with the same number n of True per row, queries (B, n, 3) or None, hidden (B, G, K)
    bool or None)`` -> predicted masked patches (B, n, K, 3) relative to their queries, in the
    order of the masked indices.

    A masked patch is asked for at its query point (default: its centre). Training moves the
    query off the surface (``query_noise``) while the target stays the true surface patch, so
    the decoder must find the surface from the visible context, not copy the query: at test
    time a patch centred on a bump is rebuilt where the surrounding normal surface runs.

    Context: besides attending to the visible tokens, each masked token starts from an
    embedding of the ``context_points`` visible points nearest its query (relative to the
    query). kNN patches overlap, so points of a masked patch also sit in visible patches;
    ``hidden`` marks them and they are left out, else the answer would leak into the context.
    """

    def __init__(self, c: IMRNetConfig):
        super().__init__()
        self.group_size = c.group_size
        self.embed = MiniPointNet(c.width, c.embed_hidden)
        self.pos = nn.Sequential(nn.Linear(3, 128), nn.GELU(), nn.Linear(128, c.width))
        self.encoder = Stack(c.width, c.depth, c.heads, c.mlp_ratio)
        self.decoder = Stack(c.width, c.decoder_depth, c.heads, c.mlp_ratio)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c.width))
        self.context_points = c.context_points
        self.context = MiniPointNet(c.width, c.embed_hidden) if c.context_points else None
        self.head = nn.Linear(c.width, 3 * c.group_size)
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def encode(self, patches: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
        """Encoder features of all patches, none masked: (B, G, K, 3), (B, G, 3) -> (B, G, C)."""
        return self.encoder(self.embed(patches), self.pos(centres))

    def forward(self, patches: torch.Tensor, centres: torch.Tensor, mask: torch.Tensor,
                queries: torch.Tensor | None = None, hidden: torch.Tensor | None = None) -> torch.Tensor:
        B, G, K, _ = patches.shape
        n = int(mask[0].sum())
        visible = ~mask
        vis_patches, vis_centres = patches[visible].view(B, G - n, K, 3), centres[visible].view(B, G - n, 3)
        pos_vis = self.pos(vis_centres)
        encoded = self.encoder(self.embed(vis_patches), pos_vis)                    # (B, G-n, C)
        if queries is None:
            queries = centres[mask].view(B, n, 3)
        start = self.mask_token.expand(B, n, -1)
        if self.context is not None:
            start = start + self.context(self._context(vis_patches, vis_centres, queries, hidden, visible))
        x = torch.cat([encoded, start], dim=1)
        decoded = self.decoder(x, torch.cat([pos_vis, self.pos(queries)], dim=1))[:, -n:]   # (B, n, C)
        return self.head(decoded).view(B, n, K, 3)

    def _context(self, vis_patches: torch.Tensor, vis_centres: torch.Tensor, queries: torch.Tensor,
                 hidden: torch.Tensor | None, visible: torch.Tensor) -> torch.Tensor:
        """The ``context_points`` visible points nearest each query, relative to it: (B, n, k, 3)."""
        B = vis_patches.shape[0]
        points = (vis_patches + vis_centres.unsqueeze(2)).reshape(B, -1, 3)          # (B, (G-n)K, 3)
        d2 = square_distance(queries, points)                                        # (B, n, (G-n)K)
        if hidden is not None:
            d2 = d2.masked_fill(hidden[visible].view(B, 1, -1), float("inf"))
        k = min(self.context_points, points.shape[1])
        idx = d2.topk(k, dim=-1, largest=False).indices                              # (B, n, k)
        return index_points(points, idx) - queries.unsqueeze(2)


def hidden_points(member: torch.Tensor, mask: torch.Tensor, m: int) -> torch.Tensor:
    """(B, G, K) bool: which patch points also belong to a masked patch, from ``member`` (B, G, K)
    indices into the M=``m`` down-sampled points and ``mask`` (B, G)."""
    B = member.shape[0]
    in_masked = torch.zeros(B, m, dtype=torch.bool, device=member.device)
    in_masked.scatter_(1, member[mask].view(B, -1), True)          # every row masks the same number of patches
    return in_masked.gather(1, member.reshape(B, -1)).view_as(member)
