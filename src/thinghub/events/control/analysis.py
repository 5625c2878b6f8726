"""Detector model analysis (spec §9.4): StartDetectorModelAnalysis and its results.

The analyzer is quick and deterministic, so an analysis completes within the request that starts
it; its results are kept for 24 hours like AWS's.
"""

from __future__ import annotations

import uuid
from typing import Any

from thinghub.api import Handlers, Params, RequestContext, Result
from thinghub.events.control.analyzer import analyze
from thinghub.events.control.errors import invalid_request, not_found
from thinghub.events.control.kinds import ANALYSIS, SERVICE
from thinghub.events.control.quotas import quotas_of
from thinghub.events.control.validation import StoreResources
from thinghub.store import Resource

COMPLETE = "COMPLETE"
DEFAULT_PAGE_SIZE = 50
_PURGE_BATCH = 10


def start_detector_model_analysis(ctx: RequestContext, params: Params) -> Result:
    store = ctx.hub.store
    quotas = quotas_of(ctx.hub.settings)
    findings = analyze(
        params["detectorModelDefinition"], StoreResources(store, ctx.scope), quotas
    ).findings
    _purge_expired(ctx, quotas.analysis_retention_seconds)
    analysis_id = str(uuid.uuid4())
    store.create(
        ctx.scope,
        ANALYSIS,
        analysis_id,
        attrs={"status": COMPLETE, "results": [finding.result() for finding in findings]},
        now=ctx.now,
    )
    return {"analysisId": analysis_id}


def _purge_expired(ctx: RequestContext, retention: float) -> None:
    # The oldest analyses come first: dropping a few expired ones per new analysis keeps the
    # store from growing without a sweeper.
    store = ctx.hub.store
    oldest, _ = store.list_page(ctx.scope, ANALYSIS, max_results=_PURGE_BATCH, next_token=None)
    for analysis in oldest:
        if ctx.now - analysis.created_at <= retention:
            break
        store.delete(ctx.scope, ANALYSIS, analysis.id)


def _analysis(ctx: RequestContext, analysis_id: str) -> Resource:
    store = ctx.hub.store
    resource = store.get(ctx.scope, ANALYSIS, analysis_id)
    retention = quotas_of(ctx.hub.settings).analysis_retention_seconds
    if resource is not None and ctx.now - resource.created_at > retention:
        store.delete(ctx.scope, ANALYSIS, analysis_id)  # expired: forget it now
        resource = None
    if resource is None:
        raise not_found(f"Analysis {analysis_id} does not exist")
    return resource


def describe_detector_model_analysis(ctx: RequestContext, params: Params) -> Result:
    return {"status": _analysis(ctx, params["analysisId"]).attrs["status"]}


def get_detector_model_analysis_results(ctx: RequestContext, params: Params) -> Result:
    analysis = _analysis(ctx, params["analysisId"])
    max_results = params.get("maxResults", DEFAULT_PAGE_SIZE)
    if max_results < 1:
        raise invalid_request("maxResults must be at least 1")
    results: list[dict[str, Any]] = analysis.attrs["results"]
    # The results never change, so an offset is a stable cursor.
    tokens = ctx.hub.store.page_tokens
    binding = f"{ctx.scope.account_id}|{ctx.scope.region}|{ctx.operation}|{analysis.id}"
    start = tokens.decode(params["nextToken"], binding) if params.get("nextToken") else 0
    end = start + max_results
    answer: dict[str, Any] = {"analysisResults": results[start:end]}
    if end < len(results):
        answer["nextToken"] = tokens.encode(end, binding)
    return answer


def register(handlers: Handlers) -> None:
    for operation, handler in (
        ("StartDetectorModelAnalysis", start_detector_model_analysis),
        ("DescribeDetectorModelAnalysis", describe_detector_model_analysis),
        ("GetDetectorModelAnalysisResults", get_detector_model_analysis_results),
    ):
        handlers.register(SERVICE, operation)(handler)
