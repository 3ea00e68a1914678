//! The Pipelines listings (issue 10): build definitions, builds (one time window per
//! request), a build's changes, classic releases and deployments (on the release host), YAML
//! environments and their deployment records. A build's timeline and a single release are
//! single GETs (`Client::get`), not listings.

use chrono::{DateTime, Utc};

use super::{Listing, Paging, ado_time};
use crate::ado::Endpoint;
use crate::ado::models::WithRaw;
use crate::ado::models::build::{Build, BuildChange, BuildDefinition};
use crate::ado::models::environment::{EnvironmentDeploymentRecord, EnvironmentInstance};
use crate::ado::models::release::{Deployment, Release, ReleaseDefinition};

/// `GET {project}/_apis/build/definitions?includeAllProperties=true`: every definition with
/// its repository and process (YAML file), by continuation token.
#[derive(Debug, Clone)]
pub struct BuildDefinitions {
    pub project: String,
}

impl Listing for BuildDefinitions {
    type Item = WithRaw<BuildDefinition>;
    type Key = i64;
    const PAGING: Paging = Paging::HeaderToken { top: Some(1000) };
    fn endpoint(&self) -> Endpoint {
        Endpoint::BuildDefinitions {
            project: self.project.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        vec![("includeAllProperties", "true".into())]
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// Builds asked per request. No cap is documented; ADO's other lists take 1,000.
pub const BUILDS_PAGE: u32 = 1000;

/// `queryOrder` of the builds list; `minTime` filters on the same time (API_FACTS §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildOrder {
    FinishTimeAscending,
    QueueTimeAscending,
}

/// `deletedFilter` of the builds list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedFilter {
    /// The default: builds retention has not removed.
    Exclude,
    /// Only builds retention removed.
    Only,
}

/// `GET {project}/_apis/build/builds`: one window of builds, oldest first from `min_time`
/// by `order`, `$top` of them. Not walked by the continuation token: on builds it is a
/// timestamp that has been seen to hand back page one again (API_FACTS §1.1), so the
/// connector moves `min_time` itself (`connectors::pipelines`). `statuses` is a list of
/// `BuildStatus` flags (`inProgress`, `notStarted`, …); empty means ADO's default.
#[derive(Debug, Clone)]
pub struct Builds {
    pub project: String,
    pub order: BuildOrder,
    pub min_time: Option<DateTime<Utc>>,
    pub statuses: &'static [&'static str],
    pub deleted: DeletedFilter,
}

impl Listing for Builds {
    type Item = WithRaw<Build>;
    type Key = i64;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::Builds {
            project: self.project.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        let order = match self.order {
            BuildOrder::FinishTimeAscending => "finishTimeAscending",
            BuildOrder::QueueTimeAscending => "queueTimeAscending",
        };
        let mut q = vec![("queryOrder", order.to_string())];
        if let Some(t) = self.min_time {
            q.push(("minTime", ado_time(t)));
        }
        if !self.statuses.is_empty() {
            q.push(("statusFilter", self.statuses.join(",")));
        }
        if self.deleted == DeletedFilter::Only {
            q.push(("deletedFilter", "onlyDeleted".into()));
        }
        q.push(("$top", BUILDS_PAGE.to_string()));
        q
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// `GET {project}/_apis/build/builds?buildIds=…`: builds by id (the unfinished sweep), 100
/// at a time to keep the URL short; deleted ones included, so a build removed since is seen
/// as such.
#[derive(Debug, Clone)]
pub struct BuildIds {
    pub project: String,
    pub ids: Vec<i64>,
}

impl BuildIds {
    /// Ids asked per request.
    pub const MAX: usize = 100;
}

impl Listing for BuildIds {
    type Item = WithRaw<Build>;
    type Key = i64;
    const PAGING: Paging = Paging::Single;
    fn endpoint(&self) -> Endpoint {
        Endpoint::Builds {
            project: self.project.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        let ids: Vec<String> = self.ids.iter().map(i64::to_string).collect();
        vec![
            ("buildIds", ids.join(",")),
            ("deletedFilter", "includeDeleted".into()),
        ]
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// `GET {project}/_apis/build/builds/{id}/changes`: the commits a build built, 200 a page
/// whatever `$top` asks (API_FACTS §1.1), by continuation token.
#[derive(Debug, Clone)]
pub struct BuildChanges {
    pub project: String,
    pub build: i64,
}

impl Listing for BuildChanges {
    type Item = WithRaw<BuildChange>;
    type Key = String;
    const PAGING: Paging = Paging::HeaderToken { top: Some(200) };
    fn endpoint(&self) -> Endpoint {
        Endpoint::BuildChanges {
            project: self.project.clone(),
            build: self.build,
        }
    }
    fn key(item: &Self::Item) -> String {
        item.value.id.clone()
    }
}

/// `GET {release}/{project}/_apis/release/releases?queryOrder=ascending`: releases created
/// from `min_created` on, oldest first, with their environments and artifacts (the builds
/// they deploy: `$expand=environments,artifacts`), by continuation token (API_FACTS §4.5).
#[derive(Debug, Clone)]
pub struct Releases {
    pub project: String,
    pub min_created: Option<DateTime<Utc>>,
}

impl Listing for Releases {
    type Item = WithRaw<Release>;
    type Key = i64;
    // The default page is 50 (spec).
    const PAGING: Paging = Paging::HeaderToken { top: Some(100) };
    fn endpoint(&self) -> Endpoint {
        Endpoint::Releases {
            project: self.project.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("queryOrder", "ascending".to_string()),
            ("$expand", "environments,artifacts".into()),
        ];
        if let Some(t) = self.min_created {
            q.push(("minCreatedTime", ado_time(t)));
        }
        q
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// `GET {release}/{project}/_apis/release/deployments?minModifiedTime=`: deployments changed
/// since `min_modified` — what catches a new deployment of an old release (API_FACTS §4.5).
#[derive(Debug, Clone)]
pub struct ReleaseDeployments {
    pub project: String,
    pub min_modified: Option<DateTime<Utc>>,
}

impl Listing for ReleaseDeployments {
    type Item = WithRaw<Deployment>;
    type Key = i64;
    const PAGING: Paging = Paging::HeaderToken { top: Some(100) };
    fn endpoint(&self) -> Endpoint {
        Endpoint::ReleaseDeployments {
            project: self.project.clone(),
        }
    }
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("queryOrder", "ascending".to_string())];
        if let Some(t) = self.min_modified {
            q.push(("minModifiedTime", ado_time(t)));
        }
        q
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// `GET {release}/{project}/_apis/release/definitions`: what `validate` asks to see that a
/// token may read releases.
#[derive(Debug, Clone)]
pub struct ReleaseDefinitions {
    pub project: String,
}

impl Listing for ReleaseDefinitions {
    type Item = WithRaw<ReleaseDefinition>;
    type Key = i64;
    const PAGING: Paging = Paging::HeaderToken { top: Some(100) };
    fn endpoint(&self) -> Endpoint {
        Endpoint::ReleaseDefinitions {
            project: self.project.clone(),
        }
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// `GET {project}/_apis/distributedtask/environments`: every YAML environment (a small set,
/// refreshed in full; API_FACTS §8.1).
#[derive(Debug, Clone)]
pub struct Environments {
    pub project: String,
}

impl Listing for Environments {
    type Item = WithRaw<EnvironmentInstance>;
    type Key = i64;
    const PAGING: Paging = Paging::HeaderToken { top: Some(1000) };
    fn endpoint(&self) -> Endpoint {
        Endpoint::Environments {
            project: self.project.clone(),
        }
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

/// `GET …/environments/{id}/environmentdeploymentrecords?top=`: an environment's deployment
/// records; `top` without `$`, the next token only in the response header, no time filter,
/// order not documented (API_FACTS §8.2).
#[derive(Debug, Clone)]
pub struct EnvironmentDeploymentRecords {
    pub project: String,
    pub environment: i64,
}

impl Listing for EnvironmentDeploymentRecords {
    type Item = WithRaw<EnvironmentDeploymentRecord>;
    type Key = i64;
    // The default page is 25; a larger one is asked for (its cap is not documented).
    const PAGING: Paging = Paging::HeaderTokenPlainTop { top: 100 };
    fn endpoint(&self) -> Endpoint {
        Endpoint::EnvironmentDeploymentRecords {
            project: self.project.clone(),
            environment: self.environment,
        }
    }
    fn key(item: &Self::Item) -> i64 {
        item.value.id
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::url_of;
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn build_windows_name_their_order_time_and_filters() {
        let l = Builds {
            project: "P".into(),
            order: BuildOrder::FinishTimeAscending,
            min_time: Some(at("2026-01-02T03:04:05.6Z")),
            statuses: &[],
            deleted: DeletedFilter::Exclude,
        };
        assert_eq!(
            url_of(&l),
            "https://dev.azure.com/org/P/_apis/build/builds?queryOrder=finishTimeAscending\
             &minTime=2026-01-02T03%3A04%3A05.6Z&%24top=1000&api-version=7.1"
        );
        let unfinished = Builds {
            order: BuildOrder::QueueTimeAscending,
            min_time: None,
            statuses: &["inProgress", "notStarted", "cancelling", "postponed"],
            ..l.clone()
        };
        assert_eq!(
            unfinished.query(),
            vec![
                ("queryOrder", "queueTimeAscending".to_string()),
                (
                    "statusFilter",
                    "inProgress,notStarted,cancelling,postponed".into()
                ),
                ("$top", "1000".into()),
            ]
        );
        let deleted = Builds {
            deleted: DeletedFilter::Only,
            ..l
        };
        assert!(
            deleted
                .query()
                .contains(&("deletedFilter", "onlyDeleted".into()))
        );
        let ids = BuildIds {
            project: "P".into(),
            ids: vec![3, 1, 2],
        };
        assert_eq!(
            url_of(&ids),
            "https://dev.azure.com/org/P/_apis/build/builds?buildIds=3%2C1%2C2\
             &deletedFilter=includeDeleted&api-version=7.1"
        );
    }

    #[test]
    fn definitions_changes_and_timelines_live_below_the_project() {
        assert_eq!(
            url_of(&BuildDefinitions {
                project: "P".into()
            }),
            "https://dev.azure.com/org/P/_apis/build/definitions?includeAllProperties=true&api-version=7.1"
        );
        assert_eq!(
            url_of(&BuildChanges {
                project: "P".into(),
                build: 391
            }),
            "https://dev.azure.com/org/P/_apis/build/builds/391/changes?api-version=7.1"
        );
        assert_eq!(BuildChanges::PAGING, Paging::HeaderToken { top: Some(200) });
    }

    #[test]
    fn releases_and_deployments_are_asked_of_the_release_host() {
        let client = crate::ado::Client::new(
            "pipelines",
            &crate::ado::Hosts {
                organization: "https://dev.azure.com/org",
                graph: "https://vssps.dev.azure.com/org",
                release: "https://vsrm.dev.azure.com/org",
            },
            "7.1",
            &crate::config::HttpSettings::default(),
            1,
            std::sync::Arc::new(crate::ado::pool::TokenPool::new(
                "pipelines",
                Vec::<crate::ado::auth::Entry>::new(),
                1.0,
                1,
                Default::default(),
            )),
            Default::default(),
            tokio_util::sync::CancellationToken::new(),
        )
        .unwrap();
        let url = |l: &dyn Fn() -> (Endpoint, Vec<(&'static str, String)>)| {
            let (e, q) = l();
            client.url(&e, &q).unwrap().to_string()
        };
        let releases = Releases {
            project: "P".into(),
            min_created: Some(at("2026-01-02T00:00:00Z")),
        };
        assert_eq!(
            url(&|| (releases.endpoint(), releases.query())),
            "https://vsrm.dev.azure.com/org/P/_apis/release/releases?queryOrder=ascending\
             &%24expand=environments%2Cartifacts&minCreatedTime=2026-01-02T00%3A00%3A00Z&api-version=7.1"
        );
        let deployments = ReleaseDeployments {
            project: "P".into(),
            min_modified: None,
        };
        assert_eq!(
            url(&|| (deployments.endpoint(), deployments.query())),
            "https://vsrm.dev.azure.com/org/P/_apis/release/deployments?queryOrder=ascending&api-version=7.1"
        );
        let envs = Environments {
            project: "P".into(),
        };
        assert_eq!(
            url(&|| (envs.endpoint(), envs.query())),
            "https://dev.azure.com/org/P/_apis/distributedtask/environments?api-version=7.1",
            "environments are on the organization host"
        );
    }

    #[test]
    fn deployment_records_page_with_a_plain_top() {
        let l = EnvironmentDeploymentRecords {
            project: "P".into(),
            environment: 3,
        };
        assert_eq!(
            url_of(&l),
            "https://dev.azure.com/org/P/_apis/distributedtask/environments/3/environmentdeploymentrecords?api-version=7.1"
        );
        assert_eq!(
            EnvironmentDeploymentRecords::PAGING,
            Paging::HeaderTokenPlainTop { top: 100 }
        );
    }
}
