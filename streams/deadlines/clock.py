"""The deadline logic's clock is the contract layer's one clock (:mod:`seabus.schemas.clock`)."""

from __future__ import annotations

from seabus.schemas.clock import Clock, ManualClock, SystemClock

__all__ = ["Clock", "ManualClock", "SystemClock"]
