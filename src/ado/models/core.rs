//! Core area: projects, teams and their members.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::IdentityRef;

/// `TeamProjectReference` as `GET _apis/projects` lists it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TeamProject {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub revision: Option<i64>,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default, deserialize_with = "super::lenient_date")]
    pub last_update_time: Option<DateTime<Utc>>,
}

/// `WebApiTeam` as `GET _apis/projects/{project}/teams` and `GET _apis/teams` list it. Older
/// recordings lack `projectId`: the listing's project is the fallback.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub project_name: Option<String>,
}

/// An entry of `GET _apis/projects/{project}/teams/{team}/members`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TeamMember {
    pub identity: IdentityRef,
    #[serde(default)]
    pub is_team_admin: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::{ListEnvelope, WithRaw, example};

    fn projects(file: &str) -> Vec<TeamProject> {
        let env: ListEnvelope<WithRaw<TeamProject>> =
            serde_json::from_str(&example::body_text(file)).unwrap();
        assert_eq!(env.count, Some(env.value.len() as u64));
        env.value.into_iter().map(|p| p.value).collect()
    }

    #[test]
    fn example_core_projects() {
        let p = projects("core/projects__GET__projects.json");
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].name, "Fabrikam-Fiber-Git");
        assert_eq!(p[0].state.as_deref(), Some("wellFormed"));
    }

    #[test]
    fn example_onprem_projects() {
        let p = projects("onprem/azure-devops-server-7.1__projects__GET__projects-onprem.json");
        assert_eq!(p.len(), 3);
    }

    fn teams(file: &str) -> Vec<Team> {
        let env: ListEnvelope<WithRaw<Team>> =
            serde_json::from_str(&example::body_text(file)).unwrap();
        assert!(!env.value.is_empty(), "{file}");
        env.value.into_iter().map(|t| t.value).collect()
    }

    #[test]
    fn example_core_teams() {
        for file in [
            "core/teams__GET__projects__projectId__teams.json",
            "core/teams__GET__teams__mine-_mine.json",
            "onprem/azure-devops-server-7.1__teams__GET__projects__projectId__teams-onprem.json",
        ] {
            let t = teams(file);
            assert_eq!(t[0].name, "Quality assurance", "{file}");
            assert_eq!(t[0].description.as_deref(), Some("Testing staff"), "{file}");
        }
        let one: Team = serde_json::from_value(example::body(
            "core/teams__GET__projects__projectId__teams__teamId_.json",
        ))
        .unwrap();
        assert_eq!(one.id, "564e8204-a90b-4432-883b-d4363c6125ca");
    }

    #[test]
    fn example_core_team_members() {
        let env: ListEnvelope<WithRaw<TeamMember>> = serde_json::from_str(&example::body_text(
            "core/members__GET__projects__projectId__teams__teamId__members4.1_.json",
        ))
        .unwrap();
        assert!(!env.value.is_empty());
        let m = &env.value[0].value;
        assert_eq!(m.identity.display_name.as_deref(), Some("Christie Church"));
        assert_eq!(
            m.identity.unique_name.as_deref(),
            Some("fabrikamfiber1@hotmail.com")
        );
        assert!(!m.is_team_admin);
    }

    #[test]
    fn example_core_project_history() {
        let p = projects("core/projecthistory__LIST__ProjectHistory_minrevision_.json");
        assert!(
            p.iter()
                .all(|p| p.last_update_time.is_some() && p.revision.is_some())
        );
    }

    #[test]
    fn a_last_update_time_without_offset_parses_as_utc() {
        let p: TeamProject = serde_json::from_value(serde_json::json!({
            "id": "p", "name": "P", "lastUpdateTime": "2024-03-05T08:09:10.123"
        }))
        .expect("parses");
        assert_eq!(
            p.last_update_time.map(|t| t.to_rfc3339()),
            Some("2024-03-05T08:09:10.123+00:00".to_string())
        );
        let p: TeamProject = serde_json::from_value(serde_json::json!({
            "id": "p", "name": "P", "lastUpdateTime": "0001-01-01T00:00:00"
        }))
        .expect("parses");
        assert_eq!(p.last_update_time, None);
    }
}
