//! `/api/v1/`: the unified view as JSON, item for item what the CLI's `--json` prints
//! (the same [`crate::view`] types), lists as `{"items": [...], "next_cursor": ...}`.

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{Admin, Reader};
use super::error::ApiError;
use super::ServerState;
use crate::admin::{self, CensusApproval, Decision};
use crate::flows::{self, Plan};
use crate::store::{ConflictRow, RunRow};
use crate::view::connectors::{self, ConnectorStatus};
use crate::view::{self, Card, ClientQuery, ClientView, ListPage, RunQuery, TaskQuery, TaskView};

/// Query parameters, refused with the parameter's name when malformed or unknown.
#[derive(Debug)]
pub(super) struct Params<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// A JSON body, refused with a clear message when it is not JSON of the right shape.
#[derive(Debug)]
pub(super) struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Body(v))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// `GET /api/v1/clients`.
#[utoipa::path(get, path = "/api/v1/clients", params(ClientQuery), security(("bearer" = [])),
    responses((status = 200, body = ListPage<ClientView>), (status = 400, body = super::error::ErrorBody),
               (status = 401, body = super::error::ErrorBody)))]
pub(super) async fn clients(
    _: Reader,
    State(state): State<ServerState>,
    Params(q): Params<ClientQuery>,
) -> Result<Json<ListPage<ClientView>>, ApiError> {
    Ok(Json(view::query::clients(state.store(), &q, false).await?))
}

/// `GET /api/v1/clients/{id}`.
#[utoipa::path(get, path = "/api/v1/clients/{id}", params(("id" = String, Path, description = "client id")),
    security(("bearer" = [])),
    responses((status = 200, body = Card), (status = 404, body = super::error::ErrorBody)))]
pub(super) async fn client(
    _: Reader,
    State(state): State<ServerState>,
    Path(id): Path<String>,
) -> Result<Json<Card>, ApiError> {
    view::query::card(state.store(), &id, &state.view_time())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no client {id:?}")))
}

/// `GET /api/v1/tasks`.
#[utoipa::path(get, path = "/api/v1/tasks", params(TaskQuery), security(("bearer" = [])),
    responses((status = 200, body = ListPage<TaskView>), (status = 400, body = super::error::ErrorBody)))]
pub(super) async fn tasks(
    _: Reader,
    State(state): State<ServerState>,
    Params(q): Params<TaskQuery>,
) -> Result<Json<ListPage<TaskView>>, ApiError> {
    Ok(Json(view::query::tasks(state.store(), &q, &state.view_time(), false).await?))
}

/// `GET /api/v1/runs`.
#[utoipa::path(get, path = "/api/v1/runs", params(RunQuery), security(("bearer" = [])),
    responses((status = 200, description = "runs, newest first: {items, next_cursor}")))]
pub(super) async fn runs(
    _: Reader,
    State(state): State<ServerState>,
    Params(q): Params<RunQuery>,
) -> Result<Json<ListPage<RunRow>>, ApiError> {
    Ok(Json(view::query::runs(state.store(), &q).await?))
}

/// `GET /api/v1/connectors`: every configured connector's state (not paginated: a
/// deployment has a handful).
#[utoipa::path(get, path = "/api/v1/connectors", security(("bearer" = [])),
    responses((status = 200, body = ListPage<ConnectorStatus>)))]
pub(super) async fn connectors(
    _: Reader,
    State(state): State<ServerState>,
) -> Result<Json<ListPage<ConnectorStatus>>, ApiError> {
    let items = connectors::statuses(state.store(), &state.0.connectors, state.0.clock.now()).await?;
    Ok(Json(ListPage { items, next_cursor: None }))
}

/// `POST /api/v1/admin/link` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LinkRequest {
    /// A record, `connector:kind:external_id` or `connector:external_id` (a client).
    a: String,
    /// Another record of the same kind.
    b: String,
}

/// `POST /api/v1/admin/unlink` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UnlinkRequest {
    /// The record to stand alone.
    source: String,
}

/// `POST /api/v1/admin/census/approve` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CensusApproveRequest {
    /// The connector whose census is held.
    connector: String,
    /// `client`, `contact` or `task`.
    kind: String,
}

pub(super) fn resolver(state: &ServerState) -> Result<&crate::resolve::Resolver, ApiError> {
    state.0.resolver.as_ref().ok_or_else(|| ApiError::Unavailable("identity resolution is not running here".into()))
}

/// `POST /api/v1/admin/link`: two records are one client (or contact), for good.
#[utoipa::path(post, path = "/api/v1/admin/link", request_body = LinkRequest, security(("bearer" = [])),
    responses((status = 200, body = Decision), (status = 403, body = super::error::ErrorBody),
               (status = 404, body = super::error::ErrorBody)))]
pub(super) async fn link(
    _: Admin,
    State(state): State<ServerState>,
    Body(req): Body<LinkRequest>,
) -> Result<Json<Decision>, ApiError> {
    let decision = admin::link(resolver(&state)?, &req.a, &req.b).await?;
    tracing::info!(records = ?decision.records, "linked through the API");
    Ok(Json(decision))
}

/// `POST /api/v1/admin/unlink`: a record stands alone, for good.
#[utoipa::path(post, path = "/api/v1/admin/unlink", request_body = UnlinkRequest, security(("bearer" = [])),
    responses((status = 200, body = Decision), (status = 403, body = super::error::ErrorBody)))]
pub(super) async fn unlink(
    _: Admin,
    State(state): State<ServerState>,
    Body(req): Body<UnlinkRequest>,
) -> Result<Json<Decision>, ApiError> {
    let decision = admin::unlink(resolver(&state)?, &req.source).await?;
    tracing::info!(records = ?decision.records, "unlinked through the API");
    Ok(Json(decision))
}

/// `POST /api/v1/admin/census/approve`: a held census's deletions are real; tombstone them.
#[utoipa::path(post, path = "/api/v1/admin/census/approve", request_body = CensusApproveRequest,
    security(("bearer" = [])),
    responses((status = 200, body = CensusApproval), (status = 403, body = super::error::ErrorBody),
               (status = 404, body = super::error::ErrorBody)))]
pub(super) async fn approve_census(
    _: Admin,
    State(state): State<ServerState>,
    Body(req): Body<CensusApproveRequest>,
) -> Result<Json<CensusApproval>, ApiError> {
    let approval = admin::approve_census(resolver(&state)?, &req.connector, &req.kind).await?;
    tracing::info!(connector = %approval.connector, kind = %approval.kind, tombstoned = approval.tombstoned,
        "held census approved through the API");
    Ok(Json(approval))
}

/// Every configured flow's current plan, in config order (computed from the store now).
pub(super) async fn plans(state: &ServerState) -> Result<Vec<Plan>, ApiError> {
    let mut plans = Vec::new();
    for flow in &state.0.flows {
        plans.push(flows::load::plan_now(state.store(), flow).await?);
    }
    Ok(plans)
}

/// Settles open conflict `id` for `take` (`source` or `target`).
pub(super) async fn resolve_conflict(state: &ServerState, id: i64, take: &str) -> Result<ConflictRow, ApiError> {
    if !matches!(take, "source" | "target") {
        return Err(ApiError::BadRequest(format!("take must be \"source\" or \"target\", not {take:?}")));
    }
    let row = state.store().resolve_conflict(id, take).await?;
    let row = row.ok_or_else(|| ApiError::NotFound(format!("no open conflict {id}")))?;
    tracing::info!(conflict = id, flow = %row.flow, field = %row.field, take, "conflict settled");
    Ok(row)
}

/// `GET /api/v1/admin/flows/plan`: what `zveno plan --json` prints.
#[utoipa::path(get, path = "/api/v1/admin/flows/plan", security(("bearer" = [])),
    responses((status = 200, description = "every configured write-back flow's current plan, as `zveno plan --json` \
        prints it: {items: [{flow, ops: [{op_id, group, action, connector, kind, external_id, from, \
        changes: [{field, before, after}], client}], conflicts, unmapped, agreements}], next_cursor: null}"),
        (status = 403, body = super::error::ErrorBody)))]
pub(super) async fn flow_plans(_: Admin, State(state): State<ServerState>) -> Result<Json<ListPage<Plan>>, ApiError> {
    Ok(Json(ListPage { items: plans(&state).await?, next_cursor: None }))
}

/// `GET /api/v1/admin/conflicts`: the open conflicts, as `zveno conflicts --json` prints them.
#[utoipa::path(get, path = "/api/v1/admin/conflicts", security(("bearer" = [])),
    responses((status = 200, description = "the open conflicts: {items: [{id, flow, group, field, source, \
        source_value, target, target_value, state, taken}], next_cursor: null}"),
        (status = 403, body = super::error::ErrorBody)))]
pub(super) async fn conflicts(
    _: Admin,
    State(state): State<ServerState>,
) -> Result<Json<ListPage<ConflictRow>>, ApiError> {
    Ok(Json(ListPage { items: state.store().conflicts(false).await?, next_cursor: None }))
}

/// `POST /api/v1/admin/conflicts/resolve` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConflictResolveRequest {
    /// The conflict's id.
    id: i64,
    /// Whose value wins: `source` or `target`.
    take: String,
}

/// `POST /api/v1/admin/conflicts/resolve`: a conflict takes one side's value; the next
/// apply writes it.
#[utoipa::path(post, path = "/api/v1/admin/conflicts/resolve", request_body = ConflictResolveRequest,
    security(("bearer" = [])),
    responses((status = 200, description = "the conflict, now resolved (`state`, `taken`)"),
        (status = 400, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody)))]
pub(super) async fn conflicts_resolve(
    _: Admin,
    State(state): State<ServerState>,
    Body(req): Body<ConflictResolveRequest>,
) -> Result<Json<ConflictRow>, ApiError> {
    Ok(Json(resolve_conflict(&state, req.id, &req.take).await?))
}

/// Any other path.
pub(super) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route {}", uri.path()))
}
