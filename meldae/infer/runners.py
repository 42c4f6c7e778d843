"""Running batches of windows through the model.

``WindowRunner`` feeds whole windows to ``model.prepare`` and ``model(...)``: it works with
any object that has the MELDAE interface. ``CachedEncoderRunner`` exploits the structure of
``meldae.model.MELDAE``: the frame encoder (the ViT, by far the most expensive part) sees
each frame on its own, so its outputs are computed once per frame and reused by every
window that overlaps the frame (twice fewer encoder passes at the default stride of half a
window); only the window-level parts (Bi-LSTM, enhancer, fusion, heads) run per window. The
encoder outputs live in a ring on the model's device sized like the crop ring. The test
suite checks that both runners give the same scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from meldae.infer.buffer import CropRing
from meldae.infer.device import autocast_context

Outputs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _to_numpy(out: Any, grid: int) -> Outputs:
    """Model outputs -> loc, state ``(B, T)`` probabilities, attention ``(B, T, G, G)`` and
    the clip-level ME probability ``(B,)`` (NaN for a model without an ME head)."""
    import torch

    loc = torch.sigmoid(out.loc_logits.float())                       # (B, T)
    state = torch.sigmoid(out.state_logits.float())                   # (B, T)
    if out.attention is not None:
        att = out.attention.float().mean(dim=1)                       # (B, T, G, G)
    else:
        att = loc.new_zeros((*loc.shape, grid, grid))                 # (B, T, G, G)
    me_logit = getattr(out, "me_logit", None)
    if me_logit is not None:
        me = torch.sigmoid(me_logit.float())                          # (B,)
    else:
        me = loc.new_full(loc.shape[:1], float("nan"))                # (B,)
    return (loc.cpu().double().numpy(), state.cpu().double().numpy(),
            att.cpu().double().numpy(), me.cpu().double().numpy())


def _window_index(starts: list[int], length: int, n: int) -> np.ndarray:
    """Frame indices of each window ``(B, T)``; past the last frame ``n - 1`` repeats."""
    idx = np.asarray(starts)[:, None] + np.arange(length)[None, :]    # (B, T)
    return np.minimum(idx, n - 1)


class WindowRunner:
    """Scores whole windows: ``model(model.prepare(crops))``."""

    def __init__(self, model: Any, device: Any) -> None:
        self.model = model
        self.device = device
        self.grid = int(model.cfg.region_grid)
        self.num_frames = int(model.cfg.num_frames)

    def run(self, ring: CropRing, starts: list[int]) -> Outputs:
        """Score the windows starting at ``starts`` (frames from ``ring``)."""
        import torch

        windows = np.stack([ring.window(s, self.num_frames) for s in starts])  # (B, T, S, S, 3)
        with torch.inference_mode(), autocast_context(self.device):
            out = self.model(self.model.prepare(torch.from_numpy(windows)))    # (B, T, 3, S, S) in
        return _to_numpy(out, self.grid)


class CachedEncoderRunner(WindowRunner):
    """Encodes every frame once; windows reuse the encoder outputs of their frames."""

    def __init__(self, model: Any, device: Any, capacity: int) -> None:
        super().__init__(model, device)
        self.capacity = int(capacity)
        self._cls: Any = None      # (C, E) tensor on the device
        self._grid: Any = None     # (C, E, h, w) tensor on the device
        self.encoded_upto = 0      # frames [0, encoded_upto) have been encoded

    @staticmethod
    def supports(model: Any) -> bool:
        """Whether ``model`` has the parts this runner drives (``meldae.model.MELDAE``)."""
        return all(hasattr(model, a) for a in ("encoder", "temporal", "enhancer",
                                               "forward_head", "prepare"))

    def _encode(self, ring: CropRing, stop: int) -> None:
        """Encode frames ``[encoded_upto, stop)`` into the feature ring."""
        import torch

        start = max(self.encoded_upto, ring.base)
        if stop <= start:
            return
        crops = ring.window(start, stop - start)                                 # (M, S, S, 3)
        x = self.model.prepare(torch.from_numpy(crops)[None])[0]                 # (M, 3, S, S)
        cls, grid = self.model.encoder(x)                                        # (M, E), (M, E, h, w)
        if self._cls is None:
            self._cls = cls.new_zeros((self.capacity, *cls.shape[1:]))           # (C, E)
            self._grid = grid.new_zeros((self.capacity, *grid.shape[1:]))        # (C, E, h, w)
        slots = torch.as_tensor(np.arange(start, stop) % self.capacity, device=cls.device)
        self._cls[slots] = cls.to(self._cls.dtype)
        self._grid[slots] = grid.to(self._grid.dtype)
        self.encoded_upto = stop

    def run(self, ring: CropRing, starts: list[int]) -> Outputs:
        """Score the windows starting at ``starts``, encoding only frames not seen yet."""
        import torch

        from meldae.model.network import MELDAEFeatures

        n, t = ring.end, self.num_frames
        idx = _window_index(starts, t, n)                                        # (B, T)
        with torch.inference_mode(), autocast_context(self.device):
            self._encode(ring, int(idx.max()) + 1)
            slots = torch.as_tensor(idx % self.capacity, device=self._cls.device)
            cls = self._cls[slots]                                               # (B, T, E)
            grid = self._grid[slots]                                             # (B, T, E, h, w)
            flow = self._flow(ring, starts)                                      # (B, T, G*G, C) or None
            f_global = self.model.temporal(cls, flow)                            # (B, T, D)
            f_enhanced, attention, evidence = self.model.enhancer(grid, need_attention=True, flow=flow)  # (B,N,D), (B,N,T,G,G), (B,T,D)
            out = self.model.forward_head(MELDAEFeatures(f_global, f_enhanced, attention, evidence))
        return _to_numpy(out, self.grid)


    def _flow(self, ring: CropRing, starts: list[int]) -> Any:
        """The windows' region flow (``meldae.model.flow``), or None when the model has none.

        Flow is a property of the window (its references are clamped to the window's
        edges), so it is computed from the window's frames, as ``WindowRunner`` does.
        """
        import torch

        if getattr(self.model, "flow", None) is None:
            return None
        windows = np.stack([ring.window(s, self.num_frames) for s in starts])  # (B, T, S, S, 3)
        return self.model.flow(self.model.prepare(torch.from_numpy(windows)))  # (B, T, G*G, C)


def make_runner(model: Any, device: Any, capacity: int) -> WindowRunner:
    """The fastest runner ``model`` supports.

    A model that brings its own runner (``make_window_runner()``, e.g. the ONNX engine's
    ``meldae.infer.onnx_engine.OnnxWindowModel``) gets that one.
    """
    own = getattr(model, "make_window_runner", None)
    if own is not None:
        return own()
    if CachedEncoderRunner.supports(model):
        return CachedEncoderRunner(model, device, capacity)
    return WindowRunner(model, device)
