"""What `seabus run` starts next to the Faust worker, in one place.

Two extension points, each filled by the part of the bus it belongs to:
``worker_services`` (long-running services: delivery, views) and
``gateway_routes`` (HTTP routes added to the gateway's one aiohttp app and its
one OpenAPI document).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mode
from aiohttp import web

from seabus.connectors.gateway import GatewayState, RouteModule
from seabus.streams.config import Settings
from seabus.streams.config.recipients import RecipientsDirectory
from seabus.streams.context import BusContext
from seabus.streams.kafka_connection import KafkaConnection

if TYPE_CHECKING:
    from seabus.streams.views import ViewService


def delivery_services(
    *, settings: Settings, kafka: KafkaConnection, context: BusContext
) -> list[mode.Service]:
    """Webhook and e-mail delivery of notifications (Member State side)."""
    from seabus.connectors.delivery import DeliveryService, build_delivery

    delivery = build_delivery(
        settings=settings,
        kafka=kafka,
        directory=context.directory,
        codec=context.codec,
        clock=context.clock.now,
    )
    return [] if delivery is None else [DeliveryService(delivery=delivery)]


def view_services(
    *, settings: Settings, kafka: KafkaConnection, context: BusContext, gateway: bool = True
) -> list[mode.Service]:
    """Read models for the on-call dashboard and timelines, wherever ``view`` in seabus.yaml puts them.

    Reading the topics back costs the worker CPU per routed event (issue 16): by default
    the view runs in a child process (:class:`~seabus.deploy.view_process.ViewProcess`,
    served through this gateway, so only with one); ``in_worker: true`` in this process;
    ``child_process: false`` nowhere here (``seabus gateway`` runs it instead).
    """
    if settings.view.in_worker:
        from seabus.streams.views import ViewService

        return [ViewService(settings=settings, kafka=kafka)]
    if settings.view.in_child and gateway:
        from seabus.deploy.view_process import ViewProcess

        return [ViewProcess(settings=settings)]
    return []


def gateway_routes(
    *,
    settings: Settings,
    context: BusContext,
    services: list[mode.Service],
    kafka: KafkaConnection | None = None,
) -> tuple[RouteModule, ...]:
    """Routes beyond POST /v1/allegations (replies, dashboard, timeline, metrics, a state's own view)."""
    from seabus.connectors.gateway.responses import response_routes
    from seabus.connectors.gateway.webhook_replies import webhook_reply_routes

    replies = (
        response_routes(directory=context.directory),
        webhook_reply_routes(directory=context.directory),
    )
    from seabus.connectors.dashboard import dashboard_routes
    from seabus.connectors.gateway.recipients import recipient_routes
    from seabus.deploy.view_process import ViewProcess, proxy_routes
    from seabus.streams.views import ViewService

    children = [s for s in services if isinstance(s, ViewProcess)]
    if children:
        # The view in its child process: /metrics and /readyz here (with the child's figures), and
        # every other path forwarded to it, last so that the worker's own routes match first.
        child = children[0]
        dashboard = dashboard_routes(view=None, settings=settings, view_status=child.status)
        described = _described_only(settings=settings, kafka=kafka, directory=context.directory)
        return (*replies, *dashboard, *described, *proxy_routes(child))
    views = [s for s in services if isinstance(s, ViewService)]
    # Without a view here (view.child_process: false) the worker's gateway keeps /metrics and /readyz.
    dashboard = dashboard_routes(
        view=views[0] if views else None, settings=settings, stats=views[0].stats if views else None
    )
    # A state's own view (its obligations, its topic) with the same reply tokens as the replies.
    own_view = (recipient_routes(view=views[0], directory=context.directory),) if views else ()
    return (*replies, *dashboard, *own_view)


def _described_only(
    *, settings: Settings, kafka: KafkaConnection | None, directory: RecipientsDirectory
) -> tuple[RouteModule, ...]:
    """The view process's routes in this gateway's OpenAPI document, their handlers left out.

    They register on a throwaway app (its start-up hooks never run, so no view starts
    here); their operations land in the one document, as when the view ran here.
    """
    if kafka is None:
        return ()
    from seabus.connectors.dashboard import ops

    # /metrics and /readyz are this gateway's own, already described.
    modules = [
        m
        for m in standalone_view_routes(settings=settings, kafka=kafka, directory=directory)
        if m is not ops.register
    ]

    def describe(app: web.Application, gw: GatewayState) -> None:
        shadow = web.Application()
        for register in modules:
            register(shadow, gw)

    return (describe,)


def worker_services(
    *, settings: Settings, kafka: KafkaConnection, context: BusContext, gateway: bool = True
) -> list[mode.Service]:
    return [
        *delivery_services(settings=settings, kafka=kafka, context=context),
        *view_services(settings=settings, kafka=kafka, context=context, gateway=gateway),
    ]


def standalone_view_routes(
    *,
    settings: Settings,
    kafka: KafkaConnection,
    directory: RecipientsDirectory,
    view: ViewService | None = None,
) -> tuple[RouteModule, ...]:
    """``seabus gateway`` on its own: the on-call view in the gateway's process, off the worker's CPU.

    The dashboard, ``/v1/overdue`` (and its summary), ``/v1/stats``, timelines and a
    state's own view, from a :class:`ViewService` that starts and stops with the
    gateway's app and rebuilds from the topics at each start. Meant for
    ``view.in_worker: false``, where ``seabus run``'s gateway serves none of them
    itself (its view process serves them through these routes, with its own ``view``).
    """
    from seabus.connectors.dashboard import dashboard_routes
    from seabus.connectors.gateway.recipients import recipient_routes
    from seabus.streams.views import ViewService

    if view is None:
        view = ViewService(settings=settings, kafka=kafka)

    def lifecycle(app: web.Application, gw: GatewayState) -> None:
        async def start(_: web.Application) -> None:
            await view.start()

        async def stop(_: web.Application) -> None:
            await view.stop()

        app.on_startup.append(start)
        app.on_cleanup.append(stop)

    dashboard = dashboard_routes(view=view, settings=settings, stats=view.stats, worker_here=False)
    return (lifecycle, *dashboard, recipient_routes(view=view, directory=directory, kafka=kafka))
