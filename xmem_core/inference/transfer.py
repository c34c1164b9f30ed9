"""Host↔device transfers without stalling the propagation loop: frames go up (resized on the host, uploaded and
normalised on a side stream), index masks come down (asynchronous copy into pinned memory, waited for by whoever
reads the mask). On the CPU both are plain function calls."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from xmem_core.inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, Geometry, prepare_image, resize_frame


class HostMask:
    """An H×W uint8 mask on the host, possibly still being copied from the GPU.

    `result()` waits for that copy only (a CUDA event, not the whole device) and returns the array (in ordinary
    memory; the pinned buffer goes back to the allocator); it may be called from any thread (e.g. a mask writer),
    and more than once (the same array each time).
    """

    def __init__(self, host: Tensor | np.ndarray | None, event: torch.cuda.Event | None = None) -> None:
        self._host = host
        self._event = event
        self._array: np.ndarray | None = host if isinstance(host, np.ndarray) else None
        self._lock = threading.Lock()

    @classmethod
    def ready(cls, array: np.ndarray) -> HostMask:
        return cls(array)

    @classmethod
    def copy_of(cls, index: Tensor) -> HostMask:
        """Start copying an H×W uint8 device tensor to the host. On the CPU the tensor itself is the result."""
        if index.device.type != "cuda":
            return cls(index.numpy())
        host = torch.empty(index.shape, dtype=index.dtype, pin_memory=True)
        host.copy_(index, non_blocking=True)  # the caching host allocator keeps the block until the copy is done
        event = torch.cuda.Event()
        event.record(torch.cuda.current_stream(index.device))
        return cls(host, event)

    def done(self) -> bool:
        """True when `result()` would not wait."""
        return self._event is None or self._event.query()

    def result(self) -> np.ndarray:
        with self._lock:
            if self._array is None:
                if self._event is not None:
                    self._event.synchronize()
                assert isinstance(self._host, Tensor)
                # an ordinary copy: page-locked memory is scarce, and callers may keep masks for a whole clip
                self._array = self._host.numpy().copy()
                self._host, self._event = None, None
            return self._array


@dataclass
class _Uploaded:
    image: Tensor  # 1×3×Hp×Wp on the device
    event: torch.cuda.Event  # recorded on the upload stream after the image was written


class Upload:
    """Frame preparation for one session geometry: `prepare` (in the prefetch thread, or in the propagating thread
    just before) and `receive` (in the propagating thread).

    On CUDA, `prepare` resizes on the host (the same resize as the CPU path), copies the small uint8 frame from
    pinned memory on a side stream, normalises and pads it there, and records an event; `receive` makes the
    compute stream wait for that event (on the GPU, not the host).
    """

    def __init__(self, device: torch.device, geometry: Geometry, channels_last: bool = True) -> None:
        self.device = device
        self.geometry = geometry
        self.channels_last = channels_last
        self._stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        if self._stream is not None:  # made once: a tensor built from a list per frame would be a synchronous copy
            self._mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
            self._std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def prepare(self, frame: np.ndarray) -> Tensor | _Uploaded:
        """Source frame -> 1×3×Hp×Wp normalised tensor (CPU) or an upload in flight (CUDA)."""
        if self._stream is None:
            return prepare_image(frame, self.geometry, "cpu")
        small = torch.from_numpy(resize_frame(frame, self.geometry)).pin_memory()
        with torch.cuda.stream(self._stream):
            x = small.to(self.device, non_blocking=True).permute(2, 0, 1)[None].float() / 255.0
            image = F.pad((x - self._mean) / self._std, self.geometry.pad)
            if self.channels_last:
                image = image.contiguous(memory_format=torch.channels_last)
            event = torch.cuda.Event()
            event.record(self._stream)
        return _Uploaded(image, event)

    def receive(self, item: Tensor | _Uploaded) -> Tensor:
        """The prepared image, usable on the compute stream."""
        if not isinstance(item, _Uploaded):
            return item
        current = torch.cuda.current_stream(self.device)
        current.wait_event(item.event)
        item.image.record_stream(current)  # its memory is not reused by the upload stream before compute is done
        return item.image
