//! The release side of the Pipelines connector (issue 10): classic release management —
//! release definitions, releases, their environments and deployments, served on the release
//! host — and YAML pipeline environments with their deployment records, served on the
//! organization host (API_FACTS §1.1, §4.5, §8.1, §8.2).
//!
//! Everything here is generated from RNG streams of its own (`generate`, `yaml`), after the
//! rest of the org and only from its projects and users, so the seeds of every other entity
//! are unchanged and none of their random mutation rounds touches this side. Generation is
//! eager and compact (a few hundred bytes per release); 2,000 releases with their
//! deployments or 10,000 deployment records take milliseconds.
//!
//! Identity rules, as Release Management partitions its data by project (its stored
//! procedures all take the project's dataspace):
//! - release definitions, releases, release environments, deployments and approvals are
//!   numbered **per project**, each from 1, in creation order — so `(project, id)` is the key
//!   and two projects both have a release 1. That real ids restart per project is
//!   **unverified**; numbering them so means a client that keys on the id alone fails here
//!   rather than in production, and a client keyed on `(project, id)` works either way.
//! - YAML environments and deployment records are numbered **org-wide** (ADO's environment
//!   security tokens exist without a project, so the ids are collection-wide).
//! - Ids ascend with creation: releases with `createdOn`, deployments with `queuedOn`,
//!   records with `queueTime`. ADO orders all three lists by id.
//!
//! Builds are referred to (a release's build artifact, a record's run and pipeline) through
//! [`builds`] alone, which names real builds of the Build side (so the org generates builds
//! first) and makes up synthetic ones only for projects without builds.
//!
//! This module owns the data; JSON shapes are in `json`, `stage_json` and `yaml_json`, changes in `mutate`,
//! the ground truth in `truth`, HTTP in `routes::release` and `routes::environments`.

pub(crate) mod builds;
pub(crate) mod generate;
pub(crate) mod json;
pub(crate) mod mutate;
pub(crate) mod stage_json;
pub(crate) mod truth;
pub(crate) mod yaml;
pub(crate) mod yaml_json;

use crate::model::Identity;

/// What generation and the JSON read besides the entities; fixed when the org is generated.
#[derive(Clone, Debug, Default)]
pub(crate) struct Settings {
    pub seed: u64,
    /// End of the generated history.
    pub history_end: i64,
    /// Azure DevOps Server: the release API lives under the collection URL itself.
    pub server_mode: bool,
    /// The Release Management service identity, which ADO names as `lastModifiedBy` of
    /// automated deployments (`deployments__GET__ListDeployments.json`).
    pub service: Identity,
}

/// Release definition environment (a stage of a definition).
#[derive(Clone, Debug)]
pub(crate) struct Stage {
    pub definition_environment_id: u32,
    pub name: &'static str,
    /// A person approves deployments to it (else the approval is automated).
    pub approver: Option<usize>,
    /// Deployed only by hand (else after the previous stage, or release creation).
    pub manual: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Definition {
    pub id: u32,
    pub name: String,
    /// `\` or `\Folder`.
    pub path: &'static str,
    pub created: i64,
    pub modified: i64,
    pub created_by: usize,
    pub revision: u32,
    pub stages: Vec<Stage>,
    /// Which of the project's build pipelines feeds it (a slot, see [`builds`]).
    pub pipeline: u32,
    /// Releases created so far: the next one is named `Release-{releases + 1}`.
    pub releases: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReleaseStatus {
    Draft,
    Active,
    Abandoned,
}

impl ReleaseStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Draft => "draft",
            ReleaseStatus::Active => "active",
            ReleaseStatus::Abandoned => "abandoned",
        }
    }
}

/// A build as a release artifact or a deployment record names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BuildRef {
    pub definition_id: u32,
    pub definition_name: String,
    pub build_id: u32,
    pub build_number: String,
    pub branch: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Release {
    pub id: u32,
    /// Index into the project's definitions.
    pub definition: usize,
    /// `Release-{number}`.
    pub number: u32,
    pub status: ReleaseStatus,
    pub created: i64,
    pub modified: i64,
    pub created_by: usize,
    pub modified_by: usize,
    pub created_for: usize,
    /// `ReleaseReason`: manual, continuousIntegration, schedule.
    pub reason: &'static str,
    pub description: String,
    pub keep_forever: bool,
    pub artifact: BuildRef,
    /// One per stage of the definition, in rank order.
    pub environments: Vec<ReleaseEnv>,
}

#[derive(Clone, Debug)]
pub(crate) struct ReleaseEnv {
    pub id: u32,
    pub created: i64,
    pub modified: i64,
    pub trigger_reason: String,
    /// Deployment ids of this environment, oldest attempt first.
    pub deployments: Vec<u32>,
}

/// Where a deployment is; ADO prints it as `deploymentStatus` + `operationStatus`, and the
/// environment's `status` follows its latest deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeployState {
    /// Queued behind a manual pre-deployment approval.
    Pending,
    InProgress,
    Succeeded,
    PartiallySucceeded,
    Failed,
    Canceled,
}

impl DeployState {
    pub(crate) fn finished(self) -> bool {
        !matches!(self, DeployState::Pending | DeployState::InProgress)
    }

    /// `deploymentStatus` (DeploymentStatus enum, camelCase as ADO prints it).
    pub(crate) fn deployment_status(self) -> &'static str {
        match self {
            DeployState::Pending | DeployState::Canceled => "notDeployed",
            DeployState::InProgress => "inProgress",
            DeployState::Succeeded => "succeeded",
            DeployState::PartiallySucceeded => "partiallySucceeded",
            DeployState::Failed => "failed",
        }
    }

    /// `operationStatus`, PascalCase as the recorded deployments print it ("Approved",
    /// "PhaseFailed"), although the spec's enum is camelCase: compare case-insensitively.
    pub(crate) fn operation_status(self) -> &'static str {
        match self {
            DeployState::Pending => "Pending",
            DeployState::InProgress => "PhaseInProgress",
            DeployState::Succeeded | DeployState::PartiallySucceeded => "Approved",
            DeployState::Failed => "PhaseFailed",
            DeployState::Canceled => "Canceled",
        }
    }

    /// The release environment's `status` when this is its latest deployment.
    pub(crate) fn environment_status(self) -> &'static str {
        match self {
            DeployState::Pending => "queued",
            DeployState::InProgress => "inProgress",
            DeployState::Succeeded => "succeeded",
            DeployState::PartiallySucceeded => "partiallySucceeded",
            // ADO shows a failed deployment's stage as rejected.
            DeployState::Failed => "rejected",
            DeployState::Canceled => "canceled",
        }
    }

    /// The state of a phase (`ReleaseDeployPhase.status`) and its job.
    pub(crate) fn phase_status(self) -> &'static str {
        match self {
            DeployState::Pending => "notStarted",
            DeployState::InProgress => "inProgress",
            DeployState::Succeeded => "succeeded",
            DeployState::PartiallySucceeded => "partiallySucceeded",
            DeployState::Failed => "failed",
            DeployState::Canceled => "canceled",
        }
    }

    /// Parses a final state as `Change::FinishDeployment` names it.
    pub(crate) fn parse_final(s: &str) -> Option<DeployState> {
        match s.to_ascii_lowercase().as_str() {
            "succeeded" => Some(DeployState::Succeeded),
            "partiallysucceeded" => Some(DeployState::PartiallySucceeded),
            "failed" => Some(DeployState::Failed),
            "canceled" | "cancelled" => Some(DeployState::Canceled),
            _ => None,
        }
    }
}

/// A pre- or post-deployment approval.
#[derive(Clone, Debug)]
pub(crate) struct Approval {
    pub id: u32,
    /// `None`: automated.
    pub approver: Option<usize>,
    /// `ApprovalStatus`: pending, approved, canceled.
    pub status: &'static str,
    pub created: i64,
    pub modified: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Deployment {
    pub id: u32,
    /// Release id (same project).
    pub release: u32,
    /// Index into the release's environments (= rank − 1).
    pub env: usize,
    pub attempt: u32,
    /// `DeploymentReason`: manual, automated, redeployTrigger.
    pub reason: &'static str,
    pub state: DeployState,
    pub requested_by: usize,
    pub requested_for: usize,
    pub queued: i64,
    pub started: Option<i64>,
    pub completed: Option<i64>,
    pub modified: i64,
    pub pre: Approval,
    /// Automated, once the deployment succeeded.
    pub post: Option<Approval>,
    /// The deploy phase's run plan.
    pub plan: String,
}

/// A project's classic release management data.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProjectReleases {
    /// `definitions[id - 1]`.
    pub definitions: Vec<Definition>,
    /// `releases[id - 1]`, ascending by `createdOn`.
    pub releases: Vec<Release>,
    /// `deployments[id - 1]`, ascending by `queuedOn`.
    pub deployments: Vec<Deployment>,
    pub next_environment_id: u32,
    pub next_approval_id: u32,
}

impl ProjectReleases {
    pub(crate) fn release(&self, id: u32) -> Option<&Release> {
        self.releases.get((id as usize).checked_sub(1)?)
    }

    pub(crate) fn deployment(&self, id: u32) -> Option<&Deployment> {
        self.deployments.get((id as usize).checked_sub(1)?)
    }

    /// The latest deployment of a release environment.
    pub(crate) fn latest(&self, release: &Release, env: usize) -> Option<&Deployment> {
        release.environments[env]
            .deployments
            .last()
            .and_then(|d| self.deployment(*d))
    }

    pub(crate) fn next_approval(&mut self) -> u32 {
        self.next_approval_id += 1;
        self.next_approval_id
    }
}

/// `EnvironmentResourceReference.type`.
#[derive(Clone, Debug)]
pub(crate) struct Resource {
    pub id: u32,
    pub name: String,
    pub kind: &'static str,
}

/// A YAML pipeline environment (`EnvironmentInstance`).
#[derive(Clone, Debug)]
pub(crate) struct YamlEnv {
    pub id: u32,
    pub project: usize,
    pub name: String,
    pub description: String,
    pub created: i64,
    pub created_by: usize,
    pub modified: i64,
    pub modified_by: usize,
    pub resources: Vec<Resource>,
    /// Deployment record ids, ascending.
    pub records: Vec<u64>,
}

/// An environment deployment record (`EnvironmentDeploymentExecutionRecord`): one deployment
/// job of one stage of one run.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub id: u64,
    /// Environment id.
    pub environment: u32,
    pub request_identifier: String,
    pub plan: String,
    pub stage: String,
    pub stage_attempt: u32,
    pub job: &'static str,
    pub job_attempt: u32,
    pub resource: Option<u32>,
    /// The pipeline (definition) and run (owner).
    pub run: BuildRef,
    pub queued: i64,
    pub started: Option<i64>,
    pub finished: Option<i64>,
    /// `TaskResult`; `None` while unfinished (the key is then absent).
    pub result: Option<&'static str>,
}

/// `TaskResult` values a finished record can have.
pub(crate) const RECORD_RESULTS: [&str; 6] = [
    "succeeded",
    "succeededWithIssues",
    "failed",
    "canceled",
    "skipped",
    "abandoned",
];

/// The whole release side of the org.
#[derive(Clone, Debug, Default)]
pub(crate) struct Releases {
    pub settings: Settings,
    /// By project index.
    pub projects: Vec<ProjectReleases>,
    /// `environments[id - 1]`, grouped by project in project order.
    pub environments: Vec<YamlEnv>,
    /// `records[id - 1]`, ascending by `queueTime`.
    pub records: Vec<Record>,
    pub next_resource_id: u32,
    /// Changes applied since generation: seeds the next scripted change's RNG.
    pub events: u64,
}

impl Releases {
    pub(crate) fn environment(&self, id: u32) -> Option<&YamlEnv> {
        self.environments.get((id as usize).checked_sub(1)?)
    }

    pub(crate) fn record(&self, id: u64) -> Option<&Record> {
        self.records.get(usize::try_from(id).ok()?.checked_sub(1)?)
    }
}

/// The release host's base URL for an organization URL: `http://host:port/vsrm/{org}` on
/// Services (standing in for `https://vsrm.dev.azure.com/{org}`), the collection URL itself on
/// Server (API_FACTS §0, §5).
pub(crate) fn release_base(base: &str, server_mode: bool) -> String {
    if server_mode {
        return base.to_string();
    }
    match base.rsplit_once('/') {
        Some((host, org)) => format!("{host}/vsrm/{org}"),
        None => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_base_inserts_vsrm() {
        assert_eq!(
            release_base("http://127.0.0.1:80/contoso", false),
            "http://127.0.0.1:80/vsrm/contoso"
        );
        assert_eq!(
            release_base("http://127.0.0.1:80/contoso", true),
            "http://127.0.0.1:80/contoso"
        );
    }
}
