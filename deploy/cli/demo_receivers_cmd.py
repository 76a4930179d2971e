"""``seabus demo-receivers``: the demo's webhook endpoints, printing what the bus pushes.

One local HTTP server (127.0.0.1, port 8090 by default) stands in for the demo
states' endpoints, OSC's and on-call's PagerDuty webhook, at ``/hook/<ID>`` as
``recipients.demo.yaml`` and ``delivery.demo.yaml`` name them. Every request is
verified like a real endpoint would (Standard Webhooks, the secret in
``SEABUS_DEMO_WEBHOOK_SECRET``; ``make demo-receivers`` sets the demo's) and
printed as one line: notification, escalation (level, owed by whom) or page;
a repeat of an id already seen (a retry, a restart) is marked as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from datetime import UTC, datetime

import click
from aiohttp import web

from seabus.connectors.errors import WebhookVerificationError
from seabus.connectors.webhooks import verify_webhook
from seabus.deploy.cli.common import ActionableError

__all__ = ["demo_receivers", "describe"]

SECRET_ENV = "SEABUS_DEMO_WEBHOOK_SECRET"


def describe(name: str, event_type: str | None, body: bytes) -> str:
    """One line about one request: who got what (ids, levels, recipients; never content)."""
    try:
        data = json.loads(body)
    except ValueError:
        return f"{name}: a body that is not JSON ({len(body)} bytes)"
    if "dedup_key" in data:  # PagerDuty Events v2
        payload = data.get("payload", {})
        return f"{name}: PAGE {payload.get('severity')} {payload.get('summary')}"
    if event_type == "org.seabus.Escalation":
        repeat = f" repeat {data['repeat']}" if data.get("repeat") else ""
        return (
            f"{name}: ESCALATION {data.get('level')}{repeat} {data.get('obligation')} owed by "
            f"{data.get('recipient')} on {data.get('allegation_id')} (due {data.get('due_at')})"
        )
    if event_type == "org.seabus.ReplyNotice":
        return (
            f"{name}: REPLY {data.get('kind')} from {data.get('answered_by')} on {data.get('allegation_id')}"
        )
    return f"{name}: notification {data.get('event_type')} {data.get('allegation_id')} seq {data.get('sequence')}"


@click.command("demo-receivers")
@click.option("--port", default=8090, show_default=True, type=click.IntRange(1, 65535))
def demo_receivers(port: int) -> None:
    """Serve the demo's webhook endpoints on 127.0.0.1 and print every delivery (Ctrl-C stops)."""
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        raise ActionableError(f"set {SECRET_ENV} to the bus's demo webhook secret (make demo-receivers does)")
    seen: set[tuple[str, str]] = set()

    async def hook(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        try:
            verify_webhook(request.headers, body, [secret])
        except WebhookVerificationError as exc:
            click.echo(f"{name}: REFUSED (signature: {exc})")
            return web.Response(status=401)
        key = (name, request.headers.get("webhook-id", ""))
        again = " (again: same id, already shown)" if key in seen else ""
        seen.add(key)
        at = datetime.now(UTC).strftime("%H:%M:%S")
        click.echo(f"{at} {describe(name, request.headers.get('ce-type'), body)}{again}")
        return web.Response(status=202 if name == "ONCALL" else 200)  # Events v2 answers 202

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/hook/{name}", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        click.echo(f"demo receivers on http://127.0.0.1:{port}/hook/<ID>; Ctrl-C stops")
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
