"""Mixed precision, a GPU option: autocast around the forward passes, and for fp16 a gradient scaler per optimizer."""

from __future__ import annotations

import torch

from ganbench.errors import ConfigError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_precision(precision: str, device: torch.device) -> None:
    """Mixed precision runs on CUDA only: anywhere else it is refused, never silently ignored."""
    if precision == "fp32":
        return
    if device.type != "cuda":
        raise ConfigError(
            f"precision = {precision} is a GPU option: mixed precision is off on {device.type} and this run's "
            "device is that. Pass --precision fp32 (the default), or train on a CUDA device."
        )
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            f"precision = bf16 is not supported by {torch.cuda.get_device_name(device)}. Pass --precision fp16."
        )


def autocast(precision: str, device: torch.device) -> torch.autocast:
    """The context for forward passes: lower precision where it is safe, a no-op at fp32."""
    return torch.autocast(device.type, dtype=DTYPES.get(precision), enabled=precision != "fp32")


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """Scales fp16 losses so that small gradients do not underflow; a pass-through otherwise (bf16 has fp32's range)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")
