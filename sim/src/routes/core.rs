//! Organization-level resources: projects, connectionData, and route discovery.
//!
//! Discovery is what Microsoft's own clients call before anything else (CLIENT_DISCOVERY.md):
//! `OPTIONS {org}/_apis[/{area}]` must list the location ids they look for with route
//! templates that resolve to the URLs this simulator serves, and `ResourceAreas` must be an
//! empty list so they stay on the base URL instead of calling a public Microsoft host.

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;

use super::{Query, Reply};
use crate::json::{self, List};
use crate::{Sim, auth, read};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    id: &'static str,
    area: &'static str,
    resource_name: &'static str,
    route_template: &'static str,
    resource_version: u32,
    min_version: &'static str,
    max_version: &'static str,
    released_version: &'static str,
}

/// (id, area, resourceName, routeTemplate, resourceVersion), from CLIENT_DISCOVERY.md; the
/// `wit` ids are those Microsoft's Python client (`work_item_tracking_client.py`) asks for.
const LOCATIONS: &[(&str, &str, &str, &str, u32)] = &[
    (
        "e81700f7-3be2-46de-8624-2eb35882fcaa",
        "Location",
        "ResourceAreas",
        "_apis/{resource}/{areaId}",
        1,
    ),
    (
        "00d9565f-ed9c-4a06-9a50-00e7896ccab4",
        "Location",
        "ConnectionData",
        "_apis/{resource}",
        1,
    ),
    (
        "603fe2ac-9723-48b9-88ad-09305aa6c6e1",
        "core",
        "projects",
        "_apis/{resource}/{*projectId}",
        4,
    ),
    (
        "225f7195-f9c7-4d14-ab28-a83f7ff77e1f",
        "git",
        "repositories",
        "{project}/_apis/{area}/{resource}/{repositoryId}",
        1,
    ),
    (
        "9946fd70-0d40-406e-b686-b4744cbbcc37",
        "git",
        "pullRequests",
        "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{pullRequestId}",
        1,
    ),
    (
        "a5d28130-9cd2-40fa-9f08-902e7daa9efb",
        "git",
        "pullRequests",
        "{project}/_apis/{area}/{resource}",
        1,
    ),
    (
        "01a46dea-7d46-4d40-bc84-319e7c260d99",
        "git",
        "pullRequests",
        "{project}/_apis/{area}/{resource}/{pullRequestId}",
        1,
    ),
    (
        "f828fe59-dd87-495d-a17c-7a8d6211ca6c",
        "wit",
        "workItemRevisions",
        "{project}/_apis/{area}/reporting/{resource}",
        2,
    ),
    (
        "1a9c53f7-f243-4447-b110-35ef023636e4",
        "wit",
        "wiql",
        "{project}/{team}/_apis/{area}/{resource}/{id}",
        2,
    ),
    (
        "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b",
        "wit",
        "workItems",
        "{project}/_apis/{area}/{resource}/{id}",
        3,
    ),
    (
        "908509b6-4248-4475-a1cd-829139ba419f",
        "wit",
        "workItemsBatch",
        "{project}/_apis/{area}/{resource}",
        1,
    ),
    (
        "a70579d1-f53a-48ee-a5be-7be8659023b9",
        "wit",
        "classificationNodes",
        "{project}/_apis/{area}/{resource}",
        2,
    ),
    (
        "5a172953-1b41-49d3-840a-33f79c3ce89f",
        "wit",
        "classificationNodes",
        "{project}/_apis/{area}/{resource}/{structureGroup}/{*path}",
        2,
    ),
    (
        "7c8d7a76-4a09-43e8-b5df-bd792f4ac6aa",
        "wit",
        "workItemTypes",
        "{project}/_apis/{area}/{resource}/{type}",
        2,
    ),
    (
        "7c9d7a76-4a09-43e8-b5df-bd792f4ac6aa",
        "wit",
        "states",
        "{project}/_apis/{area}/workItemTypes/{type}/{resource}",
        1,
    ),
    (
        "9b9f5734-36c8-415e-ba67-f83b45c31408",
        "wit",
        "workItemTypeCategories",
        "{project}/_apis/{area}/{resource}/{category}",
        2,
    ),
];

/// `OPTIONS /_apis[/{area}]`: every location, or those of one area.
pub(super) fn discovery(area: Option<&str>) -> Reply {
    let value: Vec<Location> = LOCATIONS
        .iter()
        .filter(|l| area.is_none_or(|a| a.eq_ignore_ascii_case(l.1)))
        .map(
            |&(id, area, resource_name, route_template, resource_version)| Location {
                id,
                area,
                resource_name,
                route_template,
                resource_version,
                min_version: "1.0",
                max_version: "7.2",
                released_version: "7.1",
            },
        )
        .collect();
    Reply::json(&List::new(value))
}

/// `GET _apis/ResourceAreas`: empty, so clients use the organization URL for every area.
pub(super) fn resource_areas() -> Reply {
    Reply::json(&json!({"count": 0, "value": []}))
}

/// `GET _apis/connectionData`: who the token authenticates as.
pub(super) fn connection_data(sim: &Sim, token: &str) -> Reply {
    let org = read(&sim.inner.state);
    let ident = &org.identities[auth::identity_of(token, org.user_count)];
    let user = json!({
        "id": ident.id,
        "descriptor": format!(
            "Microsoft.IdentityModel.Claims.ClaimsIdentity;{}\\{}",
            org.instance_id, ident.unique_name
        ),
        "subjectDescriptor": json::descriptor(ident),
        "providerDisplayName": ident.display_name,
        "isActive": true,
        "properties": {
            "Account": {"$type": "System.String", "$value": ident.unique_name}
        },
        "resourceVersion": 2,
        "metaTypeId": 0,
    });
    Reply::json(&json!({
        "authenticatedUser": user,
        "authorizedUser": user,
        "instanceId": org.instance_id,
        "deploymentId": org.deployment_id,
        // Azure DevOps Server reports itself as on-premises (API_FACTS §5).
        "deploymentType": if sim.inner.server_mode { "onPremises" } else { "hosted" },
        "locationServiceData": {
            "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
            "defaultAccessMappingMoniker": "PublicAccessMapping",
            "lastChangeId": org.change_id,
            "lastChangeId64": org.change_id,
        }
    }))
}

pub(super) fn parse_count(query: &Query, key: &str) -> Result<Option<usize>, Reply> {
    match query.get(key) {
        None | Some("") => Ok(None),
        Some(v) => v.trim().parse::<usize>().map(Some).map_err(|_| {
            Reply::error(
                StatusCode::BAD_REQUEST,
                &format!("The value '{v}' is not valid for parameter '{key}'."),
                "InvalidArgumentValueException",
            )
        }),
    }
}

/// `GET _apis/projects`: ordered by name; `$top` (default 100), `$skip`, and the integer
/// `continuationToken` = how many were already fetched (API_FACTS §1.1).
pub(super) fn projects(sim: &Sim, query: &Query) -> Reply {
    let (top, skip, token) = match (
        parse_count(query, "$top"),
        parse_count(query, "$skip"),
        parse_count(query, "continuationtoken"),
    ) {
        (Ok(t), Ok(s), Ok(c)) => (t.unwrap_or(100), s.unwrap_or(0), c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
    };
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let order = org.projects_by_name();
    let start = token.unwrap_or(skip).min(order.len());
    let end = start.saturating_add(top).min(order.len());
    let page: Vec<_> = order[start..end]
        .iter()
        .map(|&i| json::project(&base, &org.projects[i]))
        .collect();
    let reply = Reply::json(&List::new(page));
    if end < order.len() {
        reply.with_header("x-ms-continuationtoken", end.to_string())
    } else {
        reply
    }
}

/// `GET _apis/projects/{idOrName}`.
pub(super) fn project(sim: &Sim, key: &str) -> Reply {
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    match org.find_project(key) {
        Some(p) => Reply::json(&json::project(&base, &org.projects[p])),
        None => project_not_found(key),
    }
}

pub(super) fn project_not_found(key: &str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        &format!("TF200016: The following project does not exist: {key}."),
        "ProjectDoesNotExistWithNameException",
    )
}
