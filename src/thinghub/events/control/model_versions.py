"""The store plumbing that detector models and alarm models share.

Both keep one model resource (its latest version number, key, description and the inputs its
active version routes, as index entries) and one version resource per version, and tell their
catalog's listeners about every change inside the same transaction. What a version holds, how it
is validated and what the API answers stay with each kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from thinghub.api import Params, RequestContext, Result
from thinghub.events.control.errors import already_exists, in_use, limit_exceeded, not_found
from thinghub.events.control.kinds import MODEL, ROUTES, version_id
from thinghub.events.control.paging import list_page
from thinghub.events.control.quotas import quotas_of
from thinghub.events.control.routing import all_resources
from thinghub.events.control.tags import tags_from_request
from thinghub.store import AlreadyExists, Resource, Scope, VersionConflict

__all__ = ["ModelKinds", "NewVersion", "Validate", "carry_over"]

# Checks a create or update request in its transaction; the inputs the new version reads.
Validate = Callable[[RequestContext, Params, Connection], frozenset[str]]
# The attributes of a new version (the kind's own members), called as
# `new_version(ctx, params, name=, version=, key=, inputs=, previous=)`.
NewVersion = Callable[..., dict[str, Any]]


def carry_over(
    attrs: dict[str, Any],
    params: Params,
    previous: Resource | None,
    members: tuple[str, ...],
    key: str | None,
) -> dict[str, Any]:
    """`attrs` with `members` from the request, or else (an update leaving them out) from the
    previous version, and the model's key."""
    for member in members:
        if member in params:
            attrs[member] = params[member]
        elif previous is not None and member in previous.attrs:
            attrs[member] = previous.attrs[member]
    if key is not None:
        attrs["key"] = key
    return attrs


@dataclass(frozen=True, slots=True)
class ModelKinds:
    """One family of versioned models: its resource kinds, names and catalog notification."""

    model_kind: str
    version_kind: str
    label: str  # "Detector model", as messages name it
    name_member: str  # "detectorModelName"
    description_member: str  # "detectorModelDescription"
    # `notify(conn, scope, name, version_or_None)` with the runtime's view of a version.
    notify: Callable[[Connection, Scope, str, Resource | None], None]

    def missing(self, name: str) -> Exception:
        return not_found(f"{self.label} {name} does not exist")

    def check_new(
        self, ctx: RequestContext, conn: Connection, name: str, arn: str, limit: int | None
    ) -> None:
        """Before creating `name`: not taken, and the account below its `limit` of models."""
        store = ctx.hub.store
        if store.get(ctx.scope, self.model_kind, name, conn=conn) is not None:
            raise already_exists(f"{self.label} {name} already exists", name, arn)
        if limit is not None and store.count(ctx.scope, self.model_kind, conn=conn) >= limit:
            raise limit_exceeded(
                f"The account already has the maximum of {limit} {self.label.lower()}s"
            )

    def create_model(
        self,
        ctx: RequestContext,
        params: Params,
        *,
        arn: str,
        limit: int | None,
        validate: Validate,
        new_version: NewVersion,
    ) -> Resource:
        """CreateXModel: a new model, its version 1 and what it routes, in one transaction;
        notify. AlreadyExists if the name is taken, also by a concurrent request."""
        name = params[self.name_member]
        tags = tags_from_request(params.get("tags"), quotas_of(ctx.hub.settings).tags_per_resource)
        store = ctx.hub.store
        with store.transaction() as conn:
            self.check_new(ctx, conn, name, arn, limit)
            inputs = validate(ctx, params, conn)
            key = params.get("key")
            attrs = new_version(
                ctx, params, name=name, version="1", key=key, inputs=inputs, previous=None
            )
            model_attrs = {
                "latestVersion": "1",
                self.description_member: params.get(self.description_member),
                "key": key,
            }
            try:
                store.create(
                    ctx.scope,
                    self.model_kind,
                    name,
                    name=name,
                    arn=arn,
                    attrs=model_attrs,
                    now=ctx.now,
                    index={ROUTES: sorted(inputs)},
                    tags=tags,
                    conn=conn,
                )
                version = store.create(
                    ctx.scope,
                    self.version_kind,
                    version_id(name, "1"),
                    attrs=attrs,
                    now=ctx.now,
                    index={MODEL: name},
                    conn=conn,
                )
            except AlreadyExists:
                # Another request created the same model between our check and our insert.
                raise already_exists(f"{self.label} {name} already exists", name, arn) from None
            self.notify(conn, ctx.scope, name, version)
            return version

    def update_model(
        self,
        ctx: RequestContext,
        params: Params,
        *,
        version_limit: int,
        validate: Validate,
        new_version: NewVersion,
        superseded: str,
    ) -> Resource:
        """UpdateXModel: the next version, in one transaction; the previous one becomes
        `superseded` (it stays describable) and the model points at the new one; notify."""
        name = params[self.name_member]
        store = ctx.hub.store
        with store.transaction() as conn:
            model = store.get(ctx.scope, self.model_kind, name, conn=conn)
            if model is None:
                raise self.missing(name)
            inputs = validate(ctx, params, conn)
            latest = model.attrs["latestVersion"]
            if int(latest) >= version_limit:
                raise limit_exceeded(
                    f"{self.label} {name} already has the maximum of {version_limit} versions"
                )
            previous = store.get(ctx.scope, self.version_kind, version_id(name, latest), conn=conn)
            assert previous is not None
            number = str(int(latest) + 1)
            attrs = new_version(
                ctx,
                params,
                name=name,
                version=number,
                key=model.attrs.get("key"),  # immutable: the original key stays
                inputs=inputs,
                previous=previous,
            )
            try:
                store.update(
                    ctx.scope,
                    self.version_kind,
                    previous.id,
                    attrs={**previous.attrs, "status": superseded, "lastUpdateTime": ctx.now},
                    now=ctx.now,
                    conn=conn,
                )
                version = store.create(
                    ctx.scope,
                    self.version_kind,
                    version_id(name, number),
                    attrs=attrs,
                    now=ctx.now,
                    index={MODEL: name},
                    conn=conn,
                )
                store.update(
                    ctx.scope,
                    self.model_kind,
                    name,
                    attrs={
                        **model.attrs,
                        "latestVersion": number,
                        self.description_member: attrs.get(self.description_member),
                    },
                    now=ctx.now,
                    index={ROUTES: sorted(inputs)},
                    expected_version=model.version,
                    conn=conn,
                )
            except (AlreadyExists, VersionConflict):
                raise in_use(f"{self.label} {name} is being updated by another request") from None
            self.notify(conn, ctx.scope, name, version)
            return version

    def delete(self, ctx: RequestContext, name: str) -> None:
        """Delete the model and all its versions in one transaction; notify (None)."""
        store = ctx.hub.store
        with store.transaction() as conn:
            if store.delete(ctx.scope, self.model_kind, name, conn=conn) is None:
                raise self.missing(name)
            for version in list(
                all_resources(store, ctx.scope, self.version_kind, {MODEL: name}, conn)
            ):
                store.delete(ctx.scope, self.version_kind, version.id, conn=conn)
            self.notify(conn, ctx.scope, name, None)

    def list_models(self, ctx: RequestContext, params: Params, member: str) -> Result:
        """One page of model summaries (name, creation time, description) under `member`."""
        items, more = list_page(ctx, self.model_kind, params)
        summaries = []
        for model in items:
            summary: dict[str, Any] = {self.name_member: model.id, "creationTime": model.created_at}
            if model.attrs.get(self.description_member) is not None:
                summary[self.description_member] = model.attrs[self.description_member]
            summaries.append(summary)
        return {member: summaries, **more}

    def list_versions(
        self,
        ctx: RequestContext,
        params: Params,
        member: str,
        summary: Callable[[Resource], dict[str, Any]],
    ) -> Result:
        """One page of `summary(version)` of the named model's versions under `member`."""
        name = params[self.name_member]
        if ctx.hub.store.get(ctx.scope, self.model_kind, name) is None:
            raise self.missing(name)
        items, more = list_page(ctx, self.version_kind, params, {MODEL: name})
        return {member: [summary(version) for version in items], **more}
