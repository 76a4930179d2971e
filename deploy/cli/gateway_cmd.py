"""``seabus gateway``: run the HTTP gateway; ``seabus gateway token ENTITY|--recipient XXX``: issue a token."""

from __future__ import annotations

from pathlib import Path

import click

from seabus.connectors.gateway.auth import new_token, token_sha256
from seabus.connectors.gateway.config import gateway_config_path
from seabus.connectors.gateway.server import serve_gateway
from seabus.deploy.cli.common import JSON_OPTION, connection_or_local, echo_json, settings
from seabus.deploy.cli.publish_cmd import known_entities
from seabus.schemas.errors import ConfigError
from seabus.streams.config import Settings
from seabus.streams.config.recipients import load_recipients

__all__ = ["gateway"]


@click.group("gateway", invoke_without_command=True)
@click.option("--host", default=None, help="Address to listen on (default: gateway.yaml, 127.0.0.1).")
@click.option(
    "--port", default=None, type=click.IntRange(0, 65535), help="Port (default: gateway.yaml, 8080)."
)
@click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gateway configuration file (default: gateway.yaml beside the main configuration).",
)
@click.pass_context
def gateway(ctx: click.Context, host: str | None, port: int | None, config_path: Path | None) -> None:
    """Run the HTTP gateway (allegations in, replies in) until Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    from seabus.connectors.gateway.responses import response_routes
    from seabus.connectors.gateway.webhook_replies import webhook_reply_routes
    from seabus.deploy.services import standalone_view_routes
    from seabus.streams.config.recipients import load_recipients

    s = settings()
    directory = load_recipients(s.resolve(s.recipients_file))
    kafka = connection_or_local(s)
    serve_gateway(
        settings=s,
        kafka=kafka,
        host=host,
        port=port,
        config_path=config_path,
        extra_routes=(
            response_routes(directory=directory),
            webhook_reply_routes(directory=directory),
            # The on-call view and a state's own view in this process (issue 16; view.in_worker).
            *standalone_view_routes(settings=s, kafka=kafka, directory=directory),
        ),
    )


@gateway.command("token")
@click.argument("entity", required=False)
@click.option(
    "--recipient",
    default=None,
    help="Make a reply token for this Member State or office (POST /v1/responses) instead.",
)
@JSON_OPTION
def token(entity: str | None, recipient: str | None, as_json: bool) -> None:
    """Make a new bearer token for agency ENTITY (or --recipient XXX) and print the gateway.yaml lines."""
    if (entity is None) == (recipient is None):
        raise click.UsageError("name either an agency ENTITY or --recipient XXX (not both)")
    s = settings()
    if recipient is not None:
        recipient = recipient.upper()
        directory = load_recipients(s.resolve(s.recipients_file))
        if directory.get(recipient) is None:
            raise ConfigError(
                f"{recipient} is not in the recipients directory ({s.resolve(s.recipients_file)}); add it there "
                "first, then make its reply token."
            )
        _print_token(s, "recipient", recipient, as_json=as_json)
        return
    assert entity is not None
    entity = entity.upper()
    if entity not in known_entities(s):
        raise ConfigError(
            f"{entity} is not a configured reporting entity; use a code from the reporting entities list "
            f"(schemas/reporting_entities.yaml or SEABUS_REPORTING_ENTITIES)."
        )
    _print_token(s, "entity", entity, as_json=as_json)


def _print_token(s: Settings, key: str, name: str, *, as_json: bool) -> None:
    """A new token, shown once, and the gateway.yaml entry that holds only its hash."""
    value = new_token()
    section = "recipients" if key == "recipient" else "agencies"
    if as_json:
        echo_json(
            {
                key: name,
                "token": value,
                "token_sha256": token_sha256(value),
                "section": section,
                "config_file": str(gateway_config_path(s)),
            }
        )
        return
    if key == "recipient":
        click.echo(
            f"reply token for {name} (give it to its focal point over a secure channel; shown only once):"
        )
    else:
        click.echo(f"token for {name} (give it to the agency over a secure channel; it is shown only once):")
    click.echo(f"  {value}")
    click.echo(f"\nadd under `{section}:` in {gateway_config_path(s)}, then restart the gateway:")
    click.echo(f"  - {key}: {name}")
    click.echo(f"    token_sha256: {token_sha256(value)}")
