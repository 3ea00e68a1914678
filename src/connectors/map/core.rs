//! Core area mapping: projects, teams and their members, and the organization's users (team
//! member identities everywhere, Graph users on Services).

use std::collections::BTreeMap;

use crate::ado::models::core::{Team, TeamMember, TeamProject};
use crate::ado::models::graph::GraphUser;
use crate::ado::models::{IdentityRef, WithRaw};
use crate::store::{GraphUserRow, ProjectRow, TeamMemberRow, TeamRow, UserRow};

/// A listed project → its row.
pub fn project_row(p: &WithRaw<TeamProject>) -> ProjectRow {
    let v = &p.value;
    ProjectRow {
        id: v.id.clone(),
        name: v.name.clone(),
        state: v.state.clone(),
        visibility: v.visibility.clone(),
        last_update_time: v.last_update_time,
        raw: p.raw.get().to_string(),
    }
}

/// A listed team → its row. `project_id` is the project the listing was made in; the team's
/// own `projectId` wins when it has one.
pub fn team_row(t: &WithRaw<Team>, project_id: &str) -> TeamRow {
    let v = &t.value;
    TeamRow {
        id: v.id.clone(),
        project_id: v
            .project_id
            .clone()
            .unwrap_or_else(|| project_id.to_string()),
        name: v.name.clone(),
        description: v.description.clone().filter(|d| !d.is_empty()),
        raw: t.raw.get().to_string(),
    }
}

/// An identity → its `users` row (keyed by identity id).
pub fn identity_row(i: &IdentityRef) -> UserRow {
    UserRow {
        id: i.id.clone(),
        display_name: i.display_name.clone(),
        unique_name: i.unique_name.clone(),
        descriptor: i.descriptor.clone(),
        is_container: i.is_container,
    }
}

/// The complete member list of a team (all its pages) → the member set, one per identity
/// id (the last wins, sorted), and the members' `users` rows.
pub fn team_members(team_id: &str, members: &[TeamMember]) -> (Vec<TeamMemberRow>, Vec<UserRow>) {
    let mut set = BTreeMap::new();
    let mut users = BTreeMap::new();
    for m in members {
        set.insert(
            m.identity.id.clone(),
            TeamMemberRow {
                team_id: team_id.to_string(),
                user_id: m.identity.id.clone(),
                is_team_admin: m.is_team_admin,
            },
        );
        users.insert(m.identity.id.clone(), identity_row(&m.identity));
    }
    (set.into_values().collect(), users.into_values().collect())
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A Graph user → its row. Empty strings (the mail address of service identities) are null.
pub fn graph_user_row(u: &GraphUser) -> GraphUserRow {
    GraphUserRow {
        descriptor: u.descriptor.clone(),
        display_name: non_empty(&u.display_name),
        principal_name: non_empty(&u.principal_name),
        mail_address: non_empty(&u.mail_address),
        origin: non_empty(&u.origin),
        origin_id: non_empty(&u.origin_id),
        subject_kind: non_empty(&u.subject_kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::{ListEnvelope, example};

    #[test]
    fn teams_take_the_listing_project_when_they_name_none() {
        let env: ListEnvelope<WithRaw<Team>> = serde_json::from_str(&example::body_text(
            "core/teams__GET__projects__projectId__teams.json",
        ))
        .unwrap();
        let teams: Vec<TeamRow> = env.value.iter().map(|t| team_row(t, "p1")).collect();
        assert_eq!(teams.len(), env.value.len());
        let t = &teams[0];
        assert_eq!(
            (t.id.as_str(), t.project_id.as_str(), t.name.as_str()),
            (
                "564e8204-a90b-4432-883b-d4363c6125ca",
                "p1",
                "Quality assurance"
            )
        );
        assert_eq!(t.description.as_deref(), Some("Testing staff"));
        let own: WithRaw<Team> =
            serde_json::from_str(r#"{"id":"t","name":"n","projectId":"p9","description":""}"#)
                .unwrap();
        let row = team_row(&own, "p1");
        assert_eq!((row.project_id.as_str(), row.description), ("p9", None));
    }

    #[test]
    fn team_members_map_to_a_set_and_users() {
        let env: ListEnvelope<TeamMember> = serde_json::from_value(example::body(
            "core/members__GET__projects__projectId__teams__teamId__members4.1_.json",
        ))
        .unwrap();
        let (set, users) = team_members("t1", &env.value);
        assert!(set.iter().all(|m| m.team_id == "t1"));
        assert_eq!(set.len(), users.len());
        assert!(set.windows(2).all(|w| w[0].user_id < w[1].user_id));
        assert!(set.iter().any(|m| m.is_team_admin));
        let christie = users
            .iter()
            .find(|u| u.display_name.as_deref() == Some("Christie Church"))
            .unwrap();
        assert_eq!(christie.id, "3b5f0c34-4aec-4bf4-8708-1d36f0dbc468");
        assert_eq!(
            christie.unique_name.as_deref(),
            Some("fabrikamfiber1@hotmail.com")
        );
    }

    #[test]
    fn graph_users_map_with_empty_mail_as_null() {
        let env: ListEnvelope<GraphUser> =
            serde_json::from_value(example::body("graph/Users__GetAllUsers.json")).unwrap();
        let rows: Vec<_> = env.value.iter().map(graph_user_row).collect();
        assert_eq!(
            rows[0].mail_address, None,
            "the service account has no mail"
        );
        let aad = rows
            .iter()
            .find(|r| r.origin.as_deref() == Some("aad"))
            .unwrap();
        assert!(aad.descriptor.starts_with("aad."));
        assert!(aad.principal_name.is_some() && aad.origin_id.is_some());
        assert_eq!(aad.subject_kind.as_deref(), Some("user"));
    }

    #[test]
    fn project_history_maps_every_typed_column() {
        let env: ListEnvelope<WithRaw<TeamProject>> = serde_json::from_str(&example::body_text(
            "core/projecthistory__LIST__ProjectHistory_minrevision_.json",
        ))
        .unwrap();
        let row = project_row(&env.value[0]);
        assert_eq!(row.id, env.value[0].value.id);
        assert!(row.last_update_time.is_some());
        assert!(row.visibility.is_some());
        let raw: serde_json::Value = serde_json::from_str(&row.raw).unwrap();
        assert_eq!(raw["name"], row.name.as_str());
    }
}
