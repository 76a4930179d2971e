"""Principals and ACLs as data: who may read and write what on the bus's cluster.

Why data: the rights of every recipient and every agency follow from recipients.yaml and
the reporting-entity list alone, so they are computed (pure, tested without Kafka), shown
as a diff (``seabus access plan``) and applied idempotently (``seabus access apply``),
like the topics. Everything the bus itself does runs as its own principal, a super user,
so no ACL names it; the cluster denies whatever no ACL allows
(``allow.everyone.if.no.acl.found=false``), which is what keeps ``allegations``,
``responses``, ``deadletter``, ``audit``, ``escalations``, ``obligations``, ``owners``
and the Faust changelogs closed to everyone else.

Each principal is named by its ID (``FRA``, ``MINUSCA``) and gets exactly:

* a recipient: READ and DESCRIBE ``<prefix>.notify.<ID>``, READ on consumer groups
  prefixed ``<ID>.``, WRITE and DESCRIBE ``<prefix>.inbound.<ID>`` (its replies);
* a reporting entity: WRITE and DESCRIBE ``<prefix>.inbound.<ID>`` (its events), READ
  and DESCRIBE ``<prefix>.notify.<ID>`` (its own feed), READ on groups prefixed ``<ID>.``.

An ID that is both (OIOS) gets the union. ``credentials`` creates or rotates a
principal's SCRAM secret; the secret is returned to the caller once and stored nowhere.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    UserScramCredentialUpsertion,
)
from kafka.errors import SecurityDisabledError
from pydantic import SecretStr

from seabus.deploy.topics import connect_admin
from seabus.schemas.errors import ConfigError, ProvisioningError
from seabus.streams.config.settings import Settings
from seabus.streams.kafka_connection import KafkaConnection, KafkaSecurity
from seabus.streams.origin import reporting_entities
from seabus.streams.retry import poll_until

log = structlog.get_logger(__name__)

__all__ = [
    "BUS_ONLY_TOPICS",
    "AccessPlan",
    "Grant",
    "apply",
    "desired_grants",
    "managed_principals",
    "observe",
    "plan",
    "rotate_credentials",
]

#: Topics only the bus's own principal may touch (plus the Faust changelogs, ``<app_id>-*``).
BUS_ONLY_TOPICS = ("allegations", "responses", "deadletter", "audit", "escalations", "obligations", "owners")

#: Safe as a SCRAM user name and as an ACL principal: no ``=`` or ``,`` (SCRAM escapes them),
#: no ``*`` (the wildcard principal), no ``:``, no space; upper case, so never one of the
#: local cluster's lower-case super users (``admin``, ``seabus``).
_PRINCIPAL = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")
_RESERVED = frozenset({"ANONYMOUS"})  # Kafka's principal for unauthenticated connections

_SCRAM_ITERATIONS = 8192  # Kafka accepts 4096 to 16384


@dataclass(frozen=True, order=True, kw_only=True)
class Grant:
    """One ACL as plain data (kafka-python's ACL objects are converted at the edge)."""

    principal: str  # "User:FRA"
    resource: str  # TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, ...
    pattern: str  # LITERAL or PREFIXED
    name: str
    operation: str  # READ, WRITE, DESCRIBE, ...
    permission: str = "ALLOW"
    host: str = "*"

    @property
    def user(self) -> str | None:
        """The principal's name when it is a ``User:`` principal."""
        kind, _, name = self.principal.partition(":")
        return name if kind == "User" else None

    def describe(self) -> str:
        pattern = "" if self.pattern == "LITERAL" else f" ({self.pattern.lower()})"
        host = "" if self.host == "*" else f" from {self.host}"
        return (
            f"{self.permission} {self.principal} {self.operation} {self.resource.lower()} "
            f"{self.name}{pattern}{host}"
        )


@dataclass(kw_only=True)
class AccessPlan:
    add: list[Grant] = field(default_factory=list)
    remove: list[Grant] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.add or self.remove)

    def describe(self) -> list[str]:
        return [f"add    {g.describe()}" for g in self.add] + [f"remove {g.describe()}" for g in self.remove]


def _check_principal(name: str, source: str) -> None:
    if not _PRINCIPAL.match(name) or name in _RESERVED:
        raise ConfigError(
            f"{name!r} from {source} cannot be a Kafka principal: use upper-case letters, digits and "
            "hyphens, 2 to 32 characters, not ANONYMOUS"
        )


def managed_principals(settings: Settings, recipients: Iterable[str]) -> tuple[list[str], list[str]]:
    """The recipients and the reporting entities (each checked to be a safe principal name)."""
    recipient_ids = sorted(set(recipients))
    entity_ids = sorted(reporting_entities(settings))
    for r in recipient_ids:
        _check_principal(r, f"recipients file {settings.recipients_file}")
    for e in entity_ids:
        _check_principal(e, "the reporting-entity list")
    return recipient_ids, entity_ids


def _topic(principal: str, name: str, *operations: str) -> list[Grant]:
    return [
        Grant(principal=f"User:{principal}", resource="TOPIC", pattern="LITERAL", name=name, operation=op)
        for op in operations
    ]


def _groups(principal: str) -> Grant:
    return Grant(
        principal=f"User:{principal}",
        resource="GROUP",
        pattern="PREFIXED",
        name=f"{principal}.",
        operation="READ",
    )


def desired_grants(settings: Settings, recipients: Iterable[str]) -> list[Grant]:
    """Every ACL the configuration asks for, sorted and without repeats."""
    recipient_ids, entity_ids = managed_principals(settings, recipients)
    wanted: set[Grant] = set()
    for r in recipient_ids:
        wanted.update(_topic(r, settings.notify_topic(r), "READ", "DESCRIBE"))
        wanted.update(_topic(r, settings.inbound_topic(r), "WRITE", "DESCRIBE"))
        wanted.add(_groups(r))
    for e in entity_ids:
        wanted.update(_topic(e, settings.inbound_topic(e), "WRITE", "DESCRIBE"))
        wanted.update(_topic(e, settings.notify_topic(e), "READ", "DESCRIBE"))
        wanted.add(_groups(e))
    closed = {settings.topic(t) for t in BUS_ONLY_TOPICS}
    leaks = [g for g in wanted if g.resource == "TOPIC" and (g.name in closed or not _in_scope(g, settings))]
    if leaks:  # a programming error, never a configuration one: stop before granting it
        raise ProvisioningError("refusing ACLs on topics only the bus may use: " + ", ".join(map(str, leaks)))
    return sorted(wanted)


def _in_scope(grant: Grant, settings: Settings) -> bool:
    """True for a topic ACL that reaches this bus's topics (``<prefix>.*``), wildcards included."""
    if grant.resource != "TOPIC":
        return False
    head = f"{settings.topic_prefix}."
    if grant.pattern == "LITERAL":
        return grant.name == "*" or grant.name.startswith(head)
    if grant.pattern == "PREFIXED":
        return grant.name.startswith(head) or head.startswith(grant.name)
    return True  # an unknown pattern type on our topics: treat it as ours to judge


def _managed(grant: Grant, settings: Settings, current: frozenset[str]) -> bool:
    """Whether ``apply`` may remove this ACL when the configuration does not ask for it.

    Ours: any ACL of a current principal except topic ACLs outside this prefix (another
    deployment on the same cluster), and any ACL of an ID-shaped principal on this bus's
    topics (a recipient or entity since removed from the lists). Other principals (an
    operator's monitoring user, say) are left alone.
    """
    user = grant.user
    if user is None:
        return False
    if user in current:
        return grant.resource != "TOPIC" or _in_scope(grant, settings)
    return bool(_PRINCIPAL.match(user)) and _in_scope(grant, settings)


def plan(desired: list[Grant], observed: list[Grant], *, settings: Settings) -> AccessPlan:
    """What to add and what to remove so the managed ACLs are exactly ``desired``."""
    want = set(desired)
    have = set(observed)
    current = frozenset(g.user for g in desired if g.user)
    stale = sorted(g for g in have - want if _managed(g, settings, current))
    return AccessPlan(add=sorted(want - have), remove=stale, unchanged=len(want & have))


# -- Kafka -------------------------------------------------------------------------------


def _admin(kafka: KafkaConnection) -> KafkaAdminClient:
    return connect_admin(kafka, "seabus-access")


def _to_grant(a: ACL) -> Grant:
    pattern = a.resource_pattern
    return Grant(
        principal=a.principal,
        resource=pattern.resource_type.name,
        pattern=pattern.pattern_type.name,
        name=pattern.resource_name,
        operation=a.operation.name,
        permission=a.permission_type.name,
        host=a.host,
    )


def _to_acl(grant: Grant) -> ACL:
    return ACL(
        principal=grant.principal,
        host=grant.host,
        operation=ACLOperation[grant.operation],
        permission_type=ACLPermissionType[grant.permission],
        resource_pattern=ResourcePattern(
            ResourceType[grant.resource], grant.name, ACLResourcePatternType[grant.pattern]
        ),
    )


def observe(kafka: KafkaConnection) -> list[Grant]:
    """Every ACL on the cluster (the bus's principal may describe them all)."""
    everything = ACLFilter(
        principal=None,
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    admin = _admin(kafka)
    try:
        acls, _error = admin.describe_acls(everything)
    except SecurityDisabledError as exc:
        raise ProvisioningError(
            f"the cluster at {kafka.bootstrap} has no authorizer, so it enforces no ACLs (an --insecure local "
            "cluster?); every client may read and write every topic there. Use a secured cluster."
        ) from exc
    finally:
        admin.close()
    return [_to_grant(a) for a in acls]


def _wait_until_applied(
    kafka: KafkaConnection, desired: list[Grant], settings: Settings, timeout_s: float = 30.0
) -> None:
    """Return once the broker shows exactly the desired ACLs, so the next plan (and the next
    client) sees them; ACLs reach brokers through the metadata log, not at once."""
    poll_until(
        lambda: plan(desired, observe(kafka), settings=settings),
        until=lambda left: left.empty,
        timeout_s=timeout_s,
        interval_s=0.2,
        timed_out=lambda left: ProvisioningError(
            f"ACLs were changed but the broker still shows {len(left.add)} missing and "
            f"{len(left.remove)} stale after {timeout_s:.0f}s"
        ),
    )


def apply(
    settings: Settings, recipients: Iterable[str], *, kafka: KafkaConnection, dry_run: bool = False
) -> AccessPlan:
    """Add the missing ACLs and remove the stale ones of the principals seabus manages."""
    desired = desired_grants(settings, recipients)
    result = plan(desired, observe(kafka), settings=settings)
    if dry_run or result.empty:
        return result
    admin = _admin(kafka)
    try:
        if result.add:
            created = admin.create_acls([_to_acl(g) for g in result.add])
            if created["failed"]:
                raise ProvisioningError(
                    f"the broker refused {len(created['failed'])} ACL(s): {created['failed']}"
                )
        if result.remove:
            filters = [
                ACLFilter(
                    principal=acl.principal,
                    host=acl.host,
                    operation=acl.operation,
                    permission_type=acl.permission_type,
                    resource_pattern=acl.resource_pattern,
                )
                for acl in map(_to_acl, result.remove)
            ]
            for _filter, _deleted, error in admin.delete_acls(filters):
                if error.errno != 0:
                    raise ProvisioningError(f"the broker refused to delete an ACL: {error.__name__}")
    finally:
        admin.close()
    _wait_until_applied(kafka, desired, settings)
    for line in result.describe():
        log.info("access control", change=line)
    return result


# -- credentials ---------------------------------------------------------------------------


def scram_mechanism(kafka: KafkaConnection) -> str:
    """The SCRAM mechanism principals sign in with: the bus's own, SCRAM-SHA-512 otherwise."""
    if not kafka.sasl:
        raise ConfigError(
            f"the cluster at {kafka.bootstrap} is reached with {kafka.security.security_protocol}, without "
            "SASL: a SCRAM secret would not be used. Run seabus against the cluster's SASL_SSL listener."
        )
    mechanism = kafka.security.sasl_mechanism
    return mechanism if mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512") else "SCRAM-SHA-512"


def principal_connection(kafka: KafkaConnection, principal: str, password: str) -> KafkaConnection:
    """How ``principal`` reaches the same cluster (the bus's TLS settings, its own SCRAM login)."""
    sec = kafka.security
    return KafkaConnection(
        bootstrap=kafka.bootstrap,
        security=KafkaSecurity(
            security_protocol=sec.security_protocol,
            sasl_mechanism=scram_mechanism(kafka),
            username=principal,
            password=SecretStr(password),
            ca_file=sec.ca_file,
            check_hostname=sec.check_hostname,
        ),
    )


def _signs_in(connection: KafkaConnection) -> bool:
    try:
        admin = connection.kafka_admin(client_id="seabus-access-check", bootstrap_timeout_ms=3000)
    except Exception:
        return False
    admin.close()
    return True


def rotate_credentials(
    settings: Settings,
    recipients: Iterable[str],
    principal: str,
    *,
    kafka: KafkaConnection,
    timeout_s: float = 60.0,
) -> str:
    """Create or replace ``principal``'s SCRAM secret; returns it once, after it signs in.

    The old secret stops working as soon as the broker has the new one. Waiting for a
    successful sign-in means the printed secret is known to work when the command ends.
    """
    recipient_ids, entity_ids = managed_principals(settings, recipients)
    if principal not in set(recipient_ids) | set(entity_ids):
        entities = settings.reporting_entities_file or "schemas/reporting_entities.yaml"
        raise ConfigError(
            f"{principal} is neither a recipient in {settings.resolve(settings.recipients_file)} nor a "
            f"reporting entity in {entities} (SEABUS_REPORTING_ENTITIES); add it there first"
        )
    mechanism = scram_mechanism(kafka)
    password = secrets.token_urlsafe(32)
    admin = _admin(kafka)
    try:
        errors = admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion(principal, mechanism, password, iterations=_SCRAM_ITERATIONS)]
        )
    finally:
        admin.close()
    if errors.get(principal):
        raise ProvisioningError(f"the broker refused {principal}'s new credential: {errors[principal]}")
    check = principal_connection(kafka, principal, password)
    poll_until(
        lambda: _signs_in(check),
        timeout_s=timeout_s,
        interval_s=0.5,
        timed_out=lambda _: ProvisioningError(
            f"{principal}'s new credential was stored but does not sign in after {timeout_s:.0f}s"
        ),
    )
    log.info("principal credential rotated", principal=principal, mechanism=mechanism)
    return password
