//! Graph area (Services only, on the `vssps` host; API_FACTS §0, §5): the organization's users.
//! Azure DevOps Server has no Graph API; there users come from team members (`core`).

use serde::Deserialize;

/// A graph user or other member (`GraphUser` / `GraphMember`) as `GET _apis/graph/users`
/// lists it. The descriptor is the graph's key; the identity id (VSID) that IdentityRefs carry
/// is not part of it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    pub descriptor: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Empty or null for service identities.
    #[serde(default)]
    pub mail_address: Option<String>,
    /// The sign-in name (the e-mail for Entra and MSA users).
    #[serde(default)]
    pub principal_name: Option<String>,
    /// The id in the origin directory (e.g. the Entra object id).
    #[serde(default)]
    pub origin_id: Option<String>,
    /// `aad`, `msa`, `vsts`, `ad`.
    #[serde(default)]
    pub origin: Option<String>,
    /// `user`, `group`, `servicePrincipal`.
    #[serde(default)]
    pub subject_kind: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    /// `member`, `guest`, `application`.
    #[serde(default)]
    pub meta_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::{ListEnvelope, WithRaw, example};
    use std::collections::BTreeMap;

    fn list(file: &str) -> Vec<GraphUser> {
        let env: ListEnvelope<WithRaw<GraphUser>> =
            serde_json::from_str(&example::body_text(file)).unwrap();
        assert_eq!(env.count, Some(env.value.len() as u64), "{file}");
        env.value.into_iter().map(|u| u.value).collect()
    }

    #[test]
    fn example_graph_users() {
        let users = list("graph/Users__GetAllUsers.json");
        assert_eq!(users.len(), 5);
        assert!(users.iter().all(|u| !u.descriptor.is_empty()));
        assert!(users.iter().any(|u| u.origin.as_deref() == Some("aad")));
        // The service account has an empty mail address.
        assert_eq!(users[0].mail_address.as_deref(), Some(""));
    }

    #[test]
    fn example_graph_members_include_service_principals() {
        let members = list("graph/Members__GetAllMembers.json");
        assert!(members.iter().any(|m| {
            m.subject_kind.as_deref() == Some("servicePrincipal") && m.mail_address.is_none()
        }));
    }

    #[test]
    fn example_graph_user_by_descriptor() {
        let u: GraphUser =
            serde_json::from_value(example::body("graph/Users__GetUserAAD.json")).unwrap();
        assert_eq!(u.principal_name.as_deref(), Some("jtseng@vscsi.us"));
        assert_eq!(u.subject_kind.as_deref(), Some("user"));
    }

    #[test]
    fn example_graph_subject_lookup() {
        #[derive(Deserialize)]
        struct Lookup {
            value: BTreeMap<String, GraphUser>,
        }
        let l: Lookup =
            serde_json::from_value(example::body("graph/Subjectlookup__LookupSubjects.json"))
                .unwrap();
        assert!(l.value.iter().all(|(k, v)| *k == v.descriptor));
    }
}
