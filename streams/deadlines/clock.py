"""The deadline logic's clock is the contract layer's one clock (:mod:`schemas.clock`)."""

from __future__ import annotations

from schemas.clock import Clock, ManualClock, SystemClock

__all__ = ["Clock", "ManualClock", "SystemClock"]
