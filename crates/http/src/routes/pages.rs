//! The hosted pages' shared parts: the stylesheet.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use utoipa_axum::routes;

use super::Routes;
use crate::render::Renderer;
use crate::state::AppState;

/// The pages' stylesheet (a theme's `latchkey.css` when it has one).
/// Needs nothing.
#[utoipa::path(get, path = "/assets/latchkey.css", tag = "pages",
    responses((status = 200, description = "CSS.", content_type = "text/css")))]
pub async fn get_stylesheet(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.pages().stylesheet(),
    )
        .into_response()
}

/// The group: errors as pages.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page).add(RouteClass::Api, routes!(get_stylesheet))
}
