"""The gateway's OpenAPI 3.1 document, assembled from what each route module adds.

Routes live in small modules (allegations today; responses and dashboard views
later); each one registers its handler *and* its OpenAPI operation, so the
document served at ``/openapi.json`` cannot forget a route.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from seabus.connectors.gateway.problems import PROBLEM_CONTENT_TYPE, PROBLEM_SCHEMA

__all__ = ["OpenApiDocument", "flat_object", "json_answer", "problem_responses", "query_parameter"]

_REF = "#/components/schemas/{model}"


class OpenApiDocument:
    """A mutable OpenAPI 3.1 document; :meth:`as_dict` gives a copy to serve."""

    def __init__(self, *, title: str, version: str, description: str) -> None:
        self._doc: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version, "description": description},
            "paths": {},
            "components": {
                "schemas": {"Problem": PROBLEM_SCHEMA},
                "securitySchemes": {
                    "agencyToken": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "A per-agency token; see `seabus gateway token`.",
                    }
                },
            },
        }

    def add_operation(self, path: str, method: str, operation: dict[str, Any]) -> None:
        """Describe ``method path``; adding the same operation twice is an error."""
        item = self._doc["paths"].setdefault(path, {})
        key = method.lower()
        if key in item:
            raise ValueError(f"OpenAPI operation {method.upper()} {path} is already described")
        item[key] = operation

    def add_schema(self, name: str, schema: dict[str, Any]) -> str:
        """Add a named schema under components and return its ``$ref``."""
        self._doc["components"]["schemas"][name] = schema
        return _REF.format(model=name)

    def add_security_scheme(self, name: str, scheme: dict[str, Any]) -> None:
        """Describe a way to authenticate (the same name twice keeps the first: route modules share them)."""
        self._doc["components"]["securitySchemes"].setdefault(name, scheme)

    def add_model(self, model: type[BaseModel]) -> str:
        """Add a pydantic model (and the models it uses) and return its ``$ref``."""
        schema = model.model_json_schema(ref_template=_REF, mode="validation")
        for name, sub in schema.pop("$defs", {}).items():
            self._doc["components"]["schemas"].setdefault(name, sub)
        return self.add_schema(model.__name__, schema)

    def operations(self) -> list[tuple[str, str]]:
        """Every ``(METHOD, path)`` described."""
        return [(m.upper(), p) for p, item in self._doc["paths"].items() for m in item]

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._doc)

    async def handle(self, request: web.Request) -> web.Response:
        """``GET /openapi.json``."""
        return web.json_response(self._doc)


def flat_object(**types: str) -> dict[str, Any]:
    """An object schema whose properties are all required, each of a plain JSON ``type``."""
    return {
        "type": "object",
        "properties": {name: {"type": t} for name, t in types.items()},
        "required": list(types),
    }


def json_answer(status: int, description: str, ref: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry: ``status`` with a JSON body of schema ``ref``."""
    return {
        str(status): {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}
    }


def query_parameter(
    name: str, description: str | None, schema: dict[str, Any], **style: Any
) -> dict[str, Any]:
    """An optional query parameter (``style``: its serialisation, ``style``/``explode``)."""
    described = {} if description is None else {"description": description}
    return {"name": name, "in": "query", "required": False, **described, **style, "schema": schema}


def problem_responses(*statuses: int, described: Mapping[int, str] | None = None) -> dict[str, Any]:
    """OpenAPI ``responses`` entries for problem-details answers with these statuses.

    ``described`` words some statuses for one route (a reply's 403 is not an event's).
    """
    descriptions = {
        400: "The body is not JSON, or events break the contract (every problem listed in `errors`).",
        401: "No bearer token, or a token this gateway does not know.",
        403: "An event's reporting_entity is not the agency of the token.",
        409: "A request with this Idempotency-Key is still being processed.",
        413: "The body (or the number of events) exceeds the configured limit, or Kafka refused an event as "
        "larger than the topic accepts (`not_accepted` lists it; resending it unchanged fails again).",
        415: "The body is not application/json.",
        422: "This Idempotency-Key was used with a different body.",
        429: "This client sent too many requests; wait Retry-After seconds.",
        500: "The gateway failed on this request; sending it again is safe.",
        503: "Kafka did not acknowledge in time; nothing listed in `not_accepted` was accepted. Retry.",
        **(described or {}),
    }
    statuses = (*statuses, *(s for s in (429, 500) if s not in statuses))  # every /v1/ route can answer them
    return {
        str(status): {
            "description": descriptions.get(status, "Problem details (RFC 9457)."),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": _REF.format(model="Problem")}}},
        }
        for status in statuses
    }
