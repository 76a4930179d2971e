"""``with`` for the connectors' objects whose exit is only their ``close()``.

The publisher, the subscriber's seen store and the webhook deliverer each wrote the
same ``__enter__``/``__exit__`` pair around their own ``close``; here it is once. The
exception of the block, if any, propagates: closing never swallows it.
"""

from __future__ import annotations

from typing import Self

__all__ = ["AsyncClosesOnExit", "ClosesOnExit"]


class ClosesOnExit:
    """``with x:`` calls ``x.close()`` when the block ends."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()


class AsyncClosesOnExit:
    """``async with x:`` awaits ``x.close()`` when the block ends."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        await self.close()
