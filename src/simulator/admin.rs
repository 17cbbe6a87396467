//! Test-only control API under `/__admin/`: state dump, call log, seeding, console edits,
//! simulated logins, knobs and faults. Plain JSON; never shows the credentials.
//!
//! | Method and path | Body | Effect |
//! |---|---|---|
//! | `GET /__admin/state` | | the account as JSON |
//! | `GET /__admin/calls`, `DELETE /__admin/calls` | | call log; reset it |
//! | `GET /__admin/reads` | | `{"whole": n, "filtered": m}`: `getuserdata` answered since start |
//! | `POST /__admin/users` | `[SeedUser]` | create users as in the console; returns ids |
//! | `PATCH /__admin/users/{username}` | `ConsoleEdit` | console edit (name, disable, groups) |
//! | `DELETE /__admin/users/{username}` | | console delete |
//! | `POST /__admin/users/{username}/login` | | the user logs in |
//! | `GET /__admin/knobs`, `PUT /__admin/knobs` | `Knobs` | read or replace the knobs |
//! | `POST /__admin/faults` | `[PendingFault]` | queue faults for the next calls |

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};

use super::knobs::{Knobs, PendingFault};
use super::state::SimState;
use super::store::{ConsoleEdit, SeedUser};

/// The admin routes, to be nested under `/__admin`.
pub(crate) fn routes() -> Router<SimState> {
    Router::new()
        .route("/state", get(state))
        .route("/calls", get(calls).delete(clear_calls))
        .route("/reads", get(reads))
        .route("/users", post(seed))
        .route("/users/{username}", patch(edit).delete(delete))
        .route("/users/{username}/login", post(login))
        .route("/knobs", get(knobs).put(set_knobs))
        .route("/faults", post(faults))
}

async fn state(State(s): State<SimState>) -> Response {
    Json(s.store()).into_response()
}

async fn calls(State(s): State<SimState>) -> Response {
    Json(s.calls()).into_response()
}

async fn reads(State(s): State<SimState>) -> Response {
    Json(s.read_counts()).into_response()
}

async fn clear_calls(State(s): State<SimState>) -> StatusCode {
    s.clear_calls();
    StatusCode::NO_CONTENT
}

async fn seed(State(s): State<SimState>, Json(users): Json<Vec<SeedUser>>) -> Response {
    Json(s.seed(&users)).into_response()
}

fn found(ok: bool) -> StatusCode {
    if ok {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn edit(
    State(s): State<SimState>,
    Path(u): Path<String>,
    Json(e): Json<ConsoleEdit>,
) -> StatusCode {
    found(s.edit(&u, &e))
}

async fn delete(State(s): State<SimState>, Path(u): Path<String>) -> StatusCode {
    found(s.delete_user(&u))
}

async fn login(State(s): State<SimState>, Path(u): Path<String>) -> StatusCode {
    found(s.login(&u))
}

async fn knobs(State(s): State<SimState>) -> Response {
    Json(s.knobs()).into_response()
}

async fn set_knobs(State(s): State<SimState>, Json(k): Json<Knobs>) -> StatusCode {
    s.set_knobs(k);
    StatusCode::NO_CONTENT
}

async fn faults(State(s): State<SimState>, Json(f): Json<Vec<PendingFault>>) -> StatusCode {
    for fault in f {
        s.push_fault(fault);
    }
    StatusCode::NO_CONTENT
}
