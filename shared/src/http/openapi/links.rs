//! OpenAPI links: which operation a response's id leads to, so clients (and schemathesis'
//! stateful phase) can follow a created resource to reading, cancelling or deciding it.

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::{OpenApi, RefOr};

/// (path, method, status) of a response, and the operations its `id` leads to:
/// (link name, operationId, description).
type Follows = (&'static str, &'static str, &'static str, &'static [(&'static str, &'static str, &'static str)]);

const LINKS: &[Follows] = &[
    (
        "/api/orders",
        "post",
        "201",
        &[
            ("GetOrder", "get_order", "Read the order just placed"),
            ("CancelOrder", "cancel_order", "Cancel the order just placed, refunding it"),
        ],
    ),
    (
        "/api/wallet/top-up-requests",
        "post",
        "201",
        &[
            ("GetTopUpRequest", "get_top_up", "Read the request just made"),
            ("ApproveTopUpRequest", "approve", "Ops: approve the (live) request just made"),
            ("RejectTopUpRequest", "reject", "Ops: reject the (live) request just made"),
        ],
    ),
    ("/api/keys", "post", "201", &[("RevokeKey", "revoke_key", "Revoke the key just made")]),
    (
        "/api/webhook-endpoints",
        "post",
        "201",
        &[
            ("GetEndpoint", "get_endpoint", "Read the endpoint just made"),
            ("RotateEndpointSecret", "rotate_secret", "Rotate the new endpoint's secret"),
            ("DeleteEndpoint", "delete_endpoint", "Delete the endpoint just made"),
        ],
    ),
];

/// A list's first item leads to reading it (the keys list leads nowhere: its first item
/// may be the very key making the calls, and revoking it is not a way to read it).
const FIRST_ITEM_LINKS: &[Follows] = &[
    ("/api/products", "get", "200", &[("GetFirstProduct", "get_product", "Read the first product listed")]),
    ("/api/orders", "get", "200", &[("GetFirstOrder", "get_order", "Read the first order listed")]),
    (
        "/api/wallet/top-up-requests",
        "get",
        "200",
        &[("GetFirstTopUpRequest", "get_top_up", "Read the first request listed")],
    ),
    (
        "/api/admin/top-up-requests",
        "get",
        "200",
        &[
            ("ApproveFirstTopUpRequest", "approve", "Approve the first request listed"),
            ("RejectFirstTopUpRequest", "reject", "Reject the first request listed"),
        ],
    ),
    ("/api/webhook-endpoints", "get", "200", &[("GetFirstEndpoint", "get_endpoint", "Read the first endpoint listed")]),
    (
        "/api/events",
        "get",
        "200",
        &[
            ("GetFirstEvent", "get_event", "Read the first event listed"),
            ("RedeliverFirstEvent", "redeliver_event", "Redeliver the first event listed"),
        ],
    ),
];

/// Adds [`LINKS`] (the response's `id`) and [`FIRST_ITEM_LINKS`] (its first item's `id`)
/// to their responses, as each target's `{id}`.
pub(super) fn apply(openapi: &mut OpenApi) {
    add(openapi, LINKS, "$response.body#/id");
    add(openapi, FIRST_ITEM_LINKS, "$response.body#/items/0/id");
    product_to_order(openapi);
}

fn add(openapi: &mut OpenApi, links: &[Follows], id: &str) {
    for (path, method, status, follows) in links {
        let Some(item) = openapi.paths.paths.get_mut(*path) else {
            debug_assert!(false, "no path {path}");
            continue;
        };
        let operation = match *method {
            "post" => item.post.as_mut(),
            "get" => item.get.as_mut(),
            _ => None,
        };
        let Some(RefOr::T(response)) = operation.and_then(|op| op.responses.responses.get_mut(*status)) else {
            debug_assert!(false, "no {status} response to {method} {path}");
            continue;
        };
        for (name, operation_id, description) in *follows {
            let link =
                LinkBuilder::new().operation_id(*operation_id).parameter("id", id).description(*description).build();
            response.links.insert((*name).to_owned(), RefOr::T(link));
        }
    }
}

fn product_to_order(openapi: &mut OpenApi) {
    // A product read leads to ordering one unit of it: the only way to an order of a
    // product that exists, since product ids are data, not part of the contract.
    if let Some(RefOr::T(response)) = openapi
        .paths
        .paths
        .get_mut("/api/products/{id}")
        .and_then(|item| item.get.as_mut())
        .and_then(|operation| operation.responses.responses.get_mut("200"))
    {
        let link = LinkBuilder::new()
            .operation_id("place_order")
            .request_body(Some(serde_json::json!({"product_id": "$response.body#/id", "quantity": 1})))
            .description("Order one unit of this product")
            .build();
        response.links.insert("PlaceOrder".to_owned(), RefOr::T(link));
    } else {
        debug_assert!(false, "no 200 response to GET /api/products/{{id}}");
    }
}
