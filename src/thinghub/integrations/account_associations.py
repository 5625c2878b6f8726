"""Account associations: one end user's link between a customer and a third-party cloud.

API (spec 3.3, 3.4, 3.9): Create (201), Get, Update (204; Name and Description), Delete,
List and StartAccountAssociationRefresh. The OAuth flow finishes at thinghub's callback page
(`oauth_callback`), the tokens are kept sealed and refreshed (`association_tokens`) by a
background pass (`association_worker`). How an association is stored: `association_records`.

For other modules (device discovery, commands, connector events):

- ``await access_token(hub, scope, association_id)``: a valid access token, refreshed first
  when it expired; ResourceNotFoundException / ConflictException (or the code passed as
  `unusable`) / ServiceUnavailableException otherwise;
- ``await connector_auth(hub, scope, association_id)``: the keyword arguments for
  `connectors.envelope.envelope` (``token=`` for OAuth, ``auth=`` for General Authorization);
- ``association_of_user(store, scope, connector_id, user_id)``: the associations whose
  AWS.ActivateUser answered that user id for that connector;
- ``DELETION_GUARDS``: append ``guard(store, scope, association_id) -> str | None``; a
  returned reason refuses DeleteAccountAssociation with a ValidationException (e.g. managed
  things still registered, spec 3.9);
- the constants ``KIND``, ``RESOURCE_TYPE``, ``ATTR_*``, ``TOKEN_*`` and the states.

[CHOICE]s: StartAccountAssociationRefresh is accepted in every state but ASSOCIATION_DELETING
(ConflictException), including ASSOCIATION_IN_PROGRESS (a new URL; the old one stops
working); while relinking the old tokens stay stored (so a deletion can still deactivate the
user) but are not handed out. An OAuth association needs the destination's secret to build
its URL, so Create and StartAccountAssociationRefresh read it: a missing or malformed secret
is a ValidationException, a refused read UnauthorizedException (Create) or
AccessDeniedException (Refresh), an unreachable Secrets Manager ServiceUnavailableException.
A General Authorization association uses the material named by ``GeneralAuthorization``
(or the destination's only material) and is activated in the background (spec 11.7).
UpdateAccountAssociation during deletion is a ConflictException.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.integrations import association_schedule, notifications, oauth_state
from thinghub.integrations.association_activation import activate_general, deactivate
from thinghub.integrations.association_records import (
    ATTR_CONNECTOR,
    ATTR_DESCRIPTION,
    ATTR_DESTINATION,
    ATTR_ERROR,
    ATTR_FLOW,
    ATTR_GENERAL_AUTHORIZATION,
    ATTR_NAME,
    ATTR_STATE,
    ATTR_TOKENS,
    ATTR_URL,
    ATTR_USER_ID,
    DELETING,
    FAILED,
    IN_PROGRESS,
    KIND,
    REFRESH_TOKEN_EXPIRED,
    RESOURCE_TYPE,
    STATES,
    SUCCEEDED,
    TOKEN_ACCESS,
    TOKEN_EXPIRES_AT,
    TOKEN_OBTAINED_AT,
    TOKEN_REFRESH,
    TOKEN_REFRESH_EXPIRES_AT,
    TOKEN_SCOPE,
    TOKEN_TYPE,
    association_arn,
    index_of,
    state_notifications,
    transition,
    with_state,
)
from thinghub.integrations.association_runtime import (
    CALLBACK_PATH,
    COMPONENT,
    AssociationRuntime,
    runtime,
)
from thinghub.integrations.association_tokens import access_token, client_credentials
from thinghub.integrations.association_worker import start_pass_driver
from thinghub.integrations.connector_destinations import (
    auth_materials,
    get_destination,
    oauth_config,
)
from thinghub.integrations.errors import existing, invalid, not_found
from thinghub.integrations.listing import list_page
from thinghub.integrations.oauth_callback import callback_page
from thinghub.integrations.oauth_client import OAuthEndpoints, authorization_url
from thinghub.integrations.secrets import SecretError
from thinghub.store import Resource, ResourceStore, Scope, new_id
from thinghub.wire.errors import ServiceError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from thinghub.hub import Hub

__all__ = [
    "ATTR_CONNECTOR",
    "ATTR_DESCRIPTION",
    "ATTR_DESTINATION",
    "ATTR_ERROR",
    "ATTR_FLOW",
    "ATTR_GENERAL_AUTHORIZATION",
    "ATTR_NAME",
    "ATTR_STATE",
    "ATTR_TOKENS",
    "ATTR_URL",
    "ATTR_USER_ID",
    "DELETING",
    "DELETION_GUARDS",
    "FAILED",
    "IN_PROGRESS",
    "KIND",
    "REFRESH_TOKEN_EXPIRED",
    "RESOURCE_TYPE",
    "STATES",
    "SUCCEEDED",
    "TOKEN_ACCESS",
    "TOKEN_EXPIRES_AT",
    "TOKEN_OBTAINED_AT",
    "TOKEN_REFRESH",
    "TOKEN_REFRESH_EXPIRES_AT",
    "TOKEN_SCOPE",
    "TOKEN_TYPE",
    "access_token",
    "association_of_user",
    "connector_auth",
    "register",
    "start",
]

log = logging.getLogger("thinghub.oauth")

SERVICE = "iot-managed-integrations"

DeletionGuard = Callable[[ResourceStore, Scope, str], str | None]
DELETION_GUARDS: list[DeletionGuard] = []


# --- for other modules ---------------------------------------------------------------------------


def association_of_user(
    store: ResourceStore, scope: Scope, connector_id: str, user_id: str
) -> list[Resource]:
    """The associations (any state) whose connector answered `user_id` to AWS.ActivateUser."""
    found: list[Resource] = []
    token: str | None = None
    while True:
        page, token = store.list_page(
            scope,
            KIND,
            max_results=1000,
            next_token=token,
            filters={ATTR_CONNECTOR: connector_id, ATTR_USER_ID: user_id},
            binding="association_of_user",
        )
        found.extend(page)
        if token is None:
            return found


async def connector_auth(
    hub: Hub, scope: Scope, association_id: str, *, unusable: str = "ConflictException"
) -> dict[str, Any]:
    """``{"token": ...}`` (OAuth) or ``{"auth": {"secretsManager": ...}}`` (General
    Authorization): what `envelope(...)` needs to speak for the association's user."""
    resource = existing(hub.store, scope, KIND, association_id, RESOURCE_TYPE)
    general = resource.attrs.get(ATTR_GENERAL_AUTHORIZATION)
    if general is None:
        return {"token": await access_token(hub, scope, association_id, unusable=unusable)}
    if resource.attrs.get(ATTR_STATE) != SUCCEEDED:
        raise ServiceError(
            unusable, f"AccountAssociation {association_id} is {resource.attrs.get(ATTR_STATE)}"
        )
    destination = get_destination(hub.store, scope, resource.attrs[ATTR_DESTINATION])
    for material in auth_materials(destination):
        if material["AuthMaterialName"] == general["AuthMaterialName"]:
            return {"auth": {"secretsManager": material["SecretsManager"]}}
    raise invalid(f"AuthMaterialName {general['AuthMaterialName']} no longer exists")


# --- helpers ------------------------------------------------------------------------------------


def _get(ctx: RequestContext, association_id: str) -> Resource:
    resource = existing(ctx.hub.store, ctx.scope, KIND, association_id, RESOURCE_TYPE)
    return resource


def _secret_error(exc: SecretError, refused: str) -> ServiceError:
    if exc.problem == "access_denied":
        return ServiceError(refused, exc.message)
    if exc.problem == "unavailable":
        return ServiceError("ServiceUnavailableException", exc.message)
    return invalid(f"The client credentials secret is unusable: {exc.message}")


def _material_name(destination: Resource, params: Params) -> str | None:
    """The General Authorization material the association uses; None: it uses OAuth."""
    materials = [m["AuthMaterialName"] for m in auth_materials(destination)]
    wanted = (params.get("GeneralAuthorization") or {}).get("AuthMaterialName")
    if wanted is not None:
        if wanted not in materials:
            raise invalid(f"The connector destination has no AuthMaterialName {wanted}")
        return str(wanted)
    if oauth_config(destination) is not None:
        return None
    if len(materials) == 1:
        return materials[0]
    raise invalid("GeneralAuthorization.AuthMaterialName must name one of the destination's")


async def _start_oauth_flow(
    ctx: RequestContext, rt: AssociationRuntime, destination: Resource, refused: str
) -> Callable[[str, Connection], tuple[str, str]]:
    """Read the client id (network: before any transaction), then return the function that
    issues a state and builds the URL inside the caller's transaction."""
    oauth = oauth_config(destination)
    assert oauth is not None
    try:
        credentials = await client_credentials(rt, destination)
    except SecretError as exc:
        raise _secret_error(exc, refused) from None
    redirect_uri = rt.redirect_uri

    def issue(association_id: str, conn: Connection) -> tuple[str, str]:
        state, digest = oauth_state.issue(
            ctx.hub.store,
            ctx.scope,
            association_id,
            redirect_uri,
            now=ctx.now,
            ttl=rt.settings.authorization_ttl_seconds,
            conn=conn,
        )
        url = authorization_url(
            OAuthEndpoints.of(oauth), credentials.client_id, redirect_uri, state
        )
        return url, digest

    return issue


# --- handlers ------------------------------------------------------------------------------------


async def create_account_association(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    rt = runtime(ctx.hub)
    destination = get_destination(store, ctx.scope, params["ConnectorDestinationId"])
    material = _material_name(destination, params)
    association_id = new_id("alnum_lower")
    arn = association_arn(ctx.scope, association_id)
    attrs: dict[str, Any] = {
        ATTR_DESTINATION: destination.id,
        ATTR_CONNECTOR: destination.attrs["CloudConnectorId"],
        ATTR_STATE: IN_PROGRESS,
    }
    for member in (ATTR_NAME, ATTR_DESCRIPTION):
        if member in params:
            attrs[member] = params[member]
    issue = None
    if material is None:
        issue = await _start_oauth_flow(ctx, rt, destination, "UnauthorizedException")
    else:
        attrs[ATTR_GENERAL_AUTHORIZATION] = {"AuthMaterialName": material}
        attrs[ATTR_URL] = ""
        attrs[ATTR_FLOW] = secrets.token_hex(32)
    with store.transaction() as conn:
        # The secret read above awaited: make sure the destination is still there.
        get_destination(store, ctx.scope, destination.id, conn)
        if issue is not None:
            attrs[ATTR_URL], attrs[ATTR_FLOW] = issue(association_id, conn)
        created = store.create(
            ctx.scope,
            KIND,
            association_id,
            attrs=attrs,
            now=ctx.now,
            arn=arn,
            index=index_of(attrs),
            tags=params.get("Tags") or {},
            conn=conn,
        )
        notifications.notify(
            ctx.hub, ctx.scope, state_notifications(ctx.scope, created), ctx.now, conn
        )
    if material is not None:
        rt.spawn(
            activate_general(ctx.hub, ctx.scope, association_id, attrs[ATTR_FLOW]),
            f"activate {association_id}",
        )
    return {
        "OAuthAuthorizationUrl": attrs[ATTR_URL],
        "AccountAssociationId": association_id,
        "AssociationState": IN_PROGRESS,
        "Arn": arn,
    }


def _summary(resource: Resource) -> dict[str, Any]:
    attrs = resource.attrs
    item: dict[str, Any] = {
        "AccountAssociationId": resource.id,
        "AssociationState": attrs[ATTR_STATE],
        "ConnectorDestinationId": attrs[ATTR_DESTINATION],
        "Arn": resource.arn,
    }
    for member in (ATTR_ERROR, ATTR_NAME, ATTR_DESCRIPTION):
        if member in attrs:
            item[member] = attrs[member]
    return item


def get_account_association(ctx: RequestContext, params: Params) -> Result:
    resource = _get(ctx, params["AccountAssociationId"])
    result = _summary(resource)
    result["OAuthAuthorizationUrl"] = resource.attrs.get(ATTR_URL, "")
    if ATTR_GENERAL_AUTHORIZATION in resource.attrs:
        result["GeneralAuthorization"] = resource.attrs[ATTR_GENERAL_AUTHORIZATION]
    assert resource.arn is not None
    tags = ctx.hub.store.list_tags(ctx.scope, resource.arn)
    if tags:
        result["Tags"] = tags
    return result


def update_account_association(ctx: RequestContext, params: Params) -> Result:
    association_id = params["AccountAssociationId"]

    def update(attrs: dict[str, Any]) -> dict[str, Any] | None:
        if attrs[ATTR_STATE] == DELETING:
            raise ServiceError(
                "ConflictException", f"AccountAssociation {association_id} is being deleted"
            )
        for member in (ATTR_NAME, ATTR_DESCRIPTION):
            if member in params:
                attrs[member] = params[member]
        return attrs

    resource, _ = transition(ctx.hub, ctx.scope, association_id, update, ctx.now)
    if resource is None:
        raise not_found(RESOURCE_TYPE, association_id)
    return None


async def delete_account_association(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    association_id = params["AccountAssociationId"]
    _get(ctx, association_id)
    for guard in DELETION_GUARDS:
        reason = guard(store, ctx.scope, association_id)
        if reason:
            raise invalid(reason)
    flows: list[str] = []

    def deleting(attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get(ATTR_FLOW):
            flows.append(attrs.pop(ATTR_FLOW))
        return with_state(attrs, DELETING)

    resource, _ = transition(ctx.hub, ctx.scope, association_id, deleting, ctx.now)
    if resource is None:
        raise not_found(RESOURCE_TYPE, association_id)
    for digest in flows:
        oauth_state.discard(store, digest)
    association_schedule.clear(store, ctx.scope, association_id)
    await deactivate(ctx.hub, ctx.scope, resource)
    store.delete(ctx.scope, KIND, association_id)
    return None


def list_account_associations(ctx: RequestContext, params: Params) -> Result:
    filters = {}
    if "ConnectorDestinationId" in params:
        filters[ATTR_DESTINATION] = params["ConnectorDestinationId"]
    return list_page(ctx, KIND, params, filters, _summary)


async def start_account_association_refresh(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    rt = runtime(ctx.hub)
    association_id = params["AccountAssociationId"]
    resource = _get(ctx, association_id)
    if resource.attrs[ATTR_STATE] == DELETING:
        raise ServiceError(
            "ConflictException", f"AccountAssociation {association_id} is being deleted"
        )
    destination = get_destination(store, ctx.scope, resource.attrs[ATTR_DESTINATION])
    general = ATTR_GENERAL_AUTHORIZATION in resource.attrs
    issue = None
    if not general:
        if oauth_config(destination) is None:
            raise invalid("The connector destination no longer has an oAuth configuration")
        issue = await _start_oauth_flow(ctx, rt, destination, "AccessDeniedException")
    superseded: list[str] = []
    with store.transaction() as conn:
        if issue is not None:
            url, digest = issue(association_id, conn)
        else:
            url, digest = "", secrets.token_hex(32)

        def relink(attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs[ATTR_STATE] == DELETING:
                raise ServiceError(
                    "ConflictException", f"AccountAssociation {association_id} is being deleted"
                )
            if attrs.get(ATTR_FLOW):
                superseded.append(attrs[ATTR_FLOW])
            attrs[ATTR_FLOW] = digest
            attrs[ATTR_URL] = url
            return with_state(attrs, IN_PROGRESS)

        updated, _ = transition(ctx.hub, ctx.scope, association_id, relink, ctx.now, conn=conn)
        if updated is None:
            raise not_found(RESOURCE_TYPE, association_id)
        for old in superseded:
            oauth_state.discard(store, old, conn=conn)
    if general:
        rt.spawn(activate_general(ctx.hub, ctx.scope, association_id, digest), "reactivate")
    return {"OAuthAuthorizationUrl": url}


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("CreateAccountAssociation", create_account_association),
        ("GetAccountAssociation", get_account_association),
        ("UpdateAccountAssociation", update_account_association),
        ("DeleteAccountAssociation", delete_account_association),
        ("ListAccountAssociations", list_account_associations),
        ("StartAccountAssociationRefresh", start_account_association_refresh),
    ):
        handlers.register(SERVICE, operation)(handler)


def start(hub: Hub) -> None:
    """Run-time wiring: the runtime component, the OAuth callback page, the background pass."""
    rt = AssociationRuntime(hub)
    hub.components[COMPONENT] = rt
    hub.add_async_closer(rt.close)
    hub.add_route("GET", CALLBACK_PATH, callback_page(hub))
    start_pass_driver(hub)
    if hub.database_url.startswith(("postgresql", "postgres")) and not rt.settings.key_configured:
        log.warning(
            "tokens are encrypted with the key file %s; nodes sharing this PostgreSQL "
            "database must all be configured with the same [security] token_key",
            rt.settings.token_key_file,
        )
