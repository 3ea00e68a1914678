//! Core area mapping: projects.

use crate::ado::models::WithRaw;
use crate::ado::models::core::TeamProject;
use crate::store::ProjectRow;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::{ListEnvelope, example};

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
