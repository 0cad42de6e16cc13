//! The OpenAPI 3.0 document served at `/api/v1/openapi.json`: its paths are the route
//! table's (`super::routes`), each route's path item written beside its handler.

use serde_json::{json, Map, Value};

use super::route::Route;

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}
            }}}
        }}}
    })
}

/// The document of `routes` (the paths under `/api/v1`).
pub fn document(routes: &[Route]) -> Value {
    let paths: Map<String, Value> = routes
        .iter()
        .map(|r| (format!("/api/v1{}", r.path), r.doc.clone()))
        .collect();
    json!({
        "openapi": "3.0.3",
        "info": {"title": "synctel query API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": error_response(
                "{\"error\": {\"code\", \"message\"}}"
            ), "TooMany": {
                "description": "429 too_many_exports: the tenant's export slots are busy; retry after Retry-After seconds",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": error_response("")["content"]
            }}
        }
    })
}
