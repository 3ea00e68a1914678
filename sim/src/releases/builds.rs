//! The one place the release side names builds: a release's build artifact, and the pipeline
//! and run of a YAML deployment record.
//!
//! Until the simulator has builds of its own, [`build_ref`] makes up **synthetic** ones that
//! are consistent with each other: the same project, pipeline slot and 10-minute window
//! always give the same build, ids grow with time, and build numbers have ADO's default
//! `yyyyMMdd.r` shape. So two stages of one YAML run, or a release and a redeployment of it,
//! name the same build. To point the release side at real builds, replace the body of
//! [`build_ref`] with a lookup (the newest build of the project's `slot`-th pipeline queued
//! before `at`); nothing else refers to builds.

use super::BuildRef;
use crate::model::Org;
use crate::time::{TICKS_PER_DAY, TICKS_PER_SEC};

/// Pipelines a project can have: slots `0..8` feed release definitions, `8..16` are YAML.
pub(crate) const SLOTS: u32 = 16;
/// The first YAML pipeline slot.
pub(crate) const YAML_SLOT: u32 = 8;
const WINDOW: i64 = 600 * TICKS_PER_SEC;
/// Pipelines per window: ids stay below 2^31 for two years of history plus decades of
/// mutations, with up to 512 projects.
const PER_WINDOW: i64 = 8192;

const CD_NAMES: [&str; 8] = [
    "web-app",
    "api",
    "mobile",
    "infra",
    "data-jobs",
    "payments",
    "identity",
    "search",
];

/// The build pipeline `slot` of `project` ran for a build queued at `at`.
pub(crate) fn build_ref(org: &Org, project: usize, slot: u32, at: i64) -> BuildRef {
    let history_start = org.releases.settings.history_end - crate::data::HISTORY_TICKS;
    let first_window = (history_start - TICKS_PER_DAY).div_euclid(WINDOW);
    let window = at.div_euclid(WINDOW).max(first_window);
    let pipeline = (project as i64 * i64::from(SLOTS) + i64::from(slot)) % PER_WINDOW;
    let build_id = 1 + (window - first_window) * PER_WINDOW + pipeline;
    let day = crate::time::format(window * WINDOW);
    let of_day = (window * WINDOW).rem_euclid(TICKS_PER_DAY) / WINDOW + 1;
    BuildRef {
        definition_id: (pipeline + 1) as u32,
        definition_name: pipeline_name(org, project, slot),
        build_id: u32::try_from(build_id).unwrap_or(u32::MAX),
        build_number: format!("{}{}{}.{of_day}", &day[0..4], &day[5..7], &day[8..10]),
        branch: "refs/heads/main".to_string(),
    }
}

/// A pipeline's name: `{word}.CI` for the builds release definitions deploy, `{project}-deploy`
/// and `{project}-infra` for YAML pipelines.
pub(crate) fn pipeline_name(org: &Org, project: usize, slot: u32) -> String {
    let p = org.projects.get(project).map_or("", |p| p.name.as_str());
    if slot >= YAML_SLOT {
        match slot - YAML_SLOT {
            0 => format!("{p}-deploy"),
            1 => format!("{p}-infra"),
            n => format!("{p}-deploy-{n}"),
        }
    } else {
        format!("{}.CI", cd_word(slot as usize))
    }
}

/// The word a release definition (and the CI pipeline feeding it) is named after.
pub(crate) fn cd_word(n: usize) -> String {
    match n / CD_NAMES.len() {
        0 => CD_NAMES[n].to_string(),
        k => format!("{}-{}", CD_NAMES[n % CD_NAMES.len()], k + 1),
    }
}
