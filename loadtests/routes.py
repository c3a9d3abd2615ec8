"""Where each endpoint lives: endpoint name -> HTTP method and path template.

Defaults: the reference platform's paths (docs/api.md), overridden by the scenario's
``platform.endpoints`` (which name the same endpoints), overridden in turn by a route-map
file for a staging system whose paths differ. A route-map file is YAML or JSON::

    login: {method: POST, path: /sso/v2/login}
    test_submit: {method: POST, path: "/exam/{course_id}/answers"}
    campaign_page: /study/home          # a bare string keeps the default method

A template may use only the placeholders the journeys fill for that endpoint (``FILLED``):
``{campaign}`` anywhere (the scenario's name); once signed in, ``{teacher_id}`` (the
account's, or the sign-in answer's) and ``{user_id}`` (the sign-in answer's ``user_id``, else
its ``teacher_id``); ``{course_id}`` in tests and heartbeats; ``{resource_id}`` in heartbeats.
Any other placeholder is refused when the file is loaded, in one line naming the entry, so a
run never finds out at its first request. The request's *name* in Locust's statistics stays
the endpoint name, so the numbers line up with the model's whatever the paths are.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path

import yaml

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BEFORE_SIGN_IN = frozenset({"campaign"})
SIGNED_IN = BEFORE_SIGN_IN | {"teacher_id", "user_id"}
# what the journeys know when they send each endpoint's request
FILLED: dict[str, frozenset[str]] = {
    "sms_send": BEFORE_SIGN_IN, "school_search": BEFORE_SIGN_IN, "register": BEFORE_SIGN_IN,
    "login": BEFORE_SIGN_IN, "password_reset": BEFORE_SIGN_IN, "health": BEFORE_SIGN_IN,
    "profile": SIGNED_IN, "enrol": SIGNED_IN, "campaign_page": SIGNED_IN, "certificate": SIGNED_IN,
    "admin_progress": SIGNED_IN,
    "heartbeat": SIGNED_IN | {"resource_id", "course_id"},
    "test_fetch": SIGNED_IN | {"course_id"}, "test_submit": SIGNED_IN | {"course_id"},
}
PLACEHOLDERS = frozenset().union(*FILLED.values())

DEFAULTS: dict[str, tuple[str, str]] = {
    "sms_send": ("POST", "/api/v1/sms/send"),
    "school_search": ("GET", "/api/v1/schools"),
    "register": ("POST", "/api/v1/auth/register"),
    "login": ("POST", "/api/v1/auth/login"),
    "password_reset": ("POST", "/api/v1/auth/reset-password"),
    "profile": ("GET", "/api/v1/me"),
    "enrol": ("POST", "/api/v1/campaigns/{campaign}/enrol"),
    "campaign_page": ("GET", "/api/v1/campaign"),
    "heartbeat": ("POST", "/api/v1/progress/heartbeat"),
    "test_fetch": ("GET", "/api/v1/tests/{course_id}"),
    "test_submit": ("POST", "/api/v1/tests/{course_id}/attempts"),
    "certificate": ("GET", "/api/v1/certificate"),
    "admin_progress": ("GET", "/api/v1/admin/progress"),
    "health": ("GET", "/healthz"),
}


class RouteError(ValueError):
    """A route map that cannot be used; str() names the file and entry."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    def url(self, **values: object) -> str:
        return self.path.format(**values) if "{" in self.path else self.path

    @property
    def placeholders(self) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(self.path) if f is not None}


def route_table(scenario_endpoints=(), route_map: str | Path | None = None) -> dict[str, Route]:
    """Defaults, then the scenario's endpoints, then the route-map file."""
    table = {name: Route(m, p) for name, (m, p) in DEFAULTS.items()}
    for endpoint in scenario_endpoints:
        table[endpoint.name] = Route(endpoint.method.upper(), endpoint.path)
    if route_map:
        table.update(load_route_map(route_map, table))
    return table


def load_route_map(path: str | Path, known: dict[str, Route]) -> dict[str, Route]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise RouteError(f"--route-map: cannot read {path}: {exc.strerror}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise RouteError(f"--route-map: {path}: not valid {path.suffix[1:] or 'YAML'}: "
                         f"{str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise RouteError(f"--route-map: {path}: expected a mapping of endpoint name to route")
    return {str(name): _route(path, str(name), entry, known) for name, entry in data.items()}


def _route(path: Path, name: str, entry: object, known: dict[str, Route]) -> Route:
    where = f"--route-map: {path}: {name}"
    if name not in known:
        raise RouteError(f"{where}: unknown endpoint (known: {', '.join(sorted(known))})")
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict) or set(entry) - {"method", "path"} or "path" not in entry:
        raise RouteError(f"{where}: expected a path or {{method, path}}")
    method = str(entry.get("method", known[name].method)).upper()
    if method not in METHODS:
        raise RouteError(f"{where}: method {method!r} is not one of {', '.join(METHODS)}")
    template = str(entry["path"])
    if not template.startswith("/"):
        raise RouteError(f"{where}: path {template!r} must start with /")
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise RouteError(f"{where}: path {template!r}: {exc}") from None
    filled = FILLED.get(name, BEFORE_SIGN_IN)
    if fields - filled:
        unknown = ", ".join("{" + f + "}" for f in sorted(fields - filled))
        raise RouteError(f"{where}: path {template!r}: placeholder {unknown} is not filled for this endpoint "
                         f"(filled here: {', '.join('{' + f + '}' for f in sorted(filled))})")
    return Route(method, template)
