//! Core area: projects and connection data.

use chrono::{DateTime, Utc};
use serde::Deserialize;

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
    #[serde(default)]
    pub last_update_time: Option<DateTime<Utc>>,
}

/// `GET _apis/connectionData`: who the token authenticates as.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionData {
    #[serde(default)]
    pub authenticated_user: Option<ConnectionUser>,
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub deployment_type: Option<String>,
}

/// The identity in connection data.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionUser {
    pub id: String,
    #[serde(default)]
    pub provider_display_name: Option<String>,
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

    #[test]
    fn example_core_project_history() {
        let p = projects("core/projecthistory__LIST__ProjectHistory_minrevision_.json");
        assert!(
            p.iter()
                .all(|p| p.last_update_time.is_some() && p.revision.is_some())
        );
    }
}
