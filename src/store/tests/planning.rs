//! The planning structure: iterations and areas (marked deleted when a project's complete tree
//! lacks them), work item types with their state sets (removed with their states), and the
//! organization's fields (removed).

use super::*;

contract_tests! {
    planning_refresh_replaces_or_marks_missing_rows => case_planning_refresh,
}

/// (id, deleted?) of every stored node.
fn node_marks<K>(nodes: &[(NodeRow<K>, Option<DateTime<Utc>>)]) -> Vec<(i64, bool)> {
    nodes.iter().map(|(n, d)| (n.id, d.is_some())).collect()
}

async fn field_names(s: &AnyStore) -> Vec<String> {
    rows_of::<WorkItemFieldRow>(s)
        .await
        .into_iter()
        .map(|f| f.reference_name)
        .collect()
}

async fn case_planning_refresh(s: &AnyStore) {
    let t1 = at("2024-06-01T10:00:00Z");
    let t2 = at("2024-06-01T11:00:00Z");
    let t3 = at("2024-06-01T12:00:00Z");
    let refresh = |project: &str, base: i64, iterations: &[i64], types: &[&str]| Planning {
        project_id: project.to_string(),
        iterations: Some(
            iterations
                .iter()
                .map(|i| node(project, base + i, &format!("{project}\\Sprint {i}"), true))
                .collect(),
        ),
        areas: Some(
            iterations
                .iter()
                .map(|i| {
                    node(
                        project,
                        base + 100 + i,
                        &format!("{project}\\Area {i}"),
                        false,
                    )
                })
                .collect(),
        ),
        types: Some(
            types
                .iter()
                .map(|t| wit_type(project, t, &[("New", "Proposed"), ("Done", "Completed")]))
                .collect(),
        ),
    };

    let mut first = Batch::new(t1);
    write_planning(&mut first, refresh("p1", 0, &[1, 2, 3], &["Bug", "Task"]));
    write_planning(&mut first, refresh("p2", 1000, &[1], &["Bug"]));
    write_fields(
        &mut first,
        vec![wi_field("System.Title"), wi_field("Custom.Gone")],
    );
    s.apply(ORG, &first).await.expect("apply");

    // Sprint 2 and Task disappear from p1; a state of Bug disappears; Sprint 4 appears.
    let mut second = Batch::new(t2);
    let mut p1 = refresh("p1", 0, &[1, 3, 4], &["Bug"]);
    if let Some(types) = &mut p1.types {
        types[0].states.retain(|st| st.name != "Done");
    }
    write_planning(&mut second, p1);
    write_fields(
        &mut second,
        vec![wi_field("System.Title"), wi_field("System.State")],
    );
    s.apply(ORG, &second).await.expect("apply second");

    let iterations = stored::<IterationRow>(s).await;
    assert_eq!(
        node_marks(&iterations),
        vec![(1, false), (2, true), (3, false), (4, false), (1001, false)],
        "missing iterations are marked, other projects untouched"
    );
    assert_eq!(iterations[1].1, Some(t2));
    assert_eq!(
        node_marks(&stored::<AreaRow>(s).await),
        vec![
            (101, false),
            (102, true),
            (103, false),
            (104, false),
            (1101, false)
        ]
    );
    let stored_types: Vec<(String, String, Vec<String>)> = types(s)
        .await
        .into_iter()
        .map(|t| {
            (
                t.row.project_id,
                t.row.name,
                t.states.into_iter().map(|st| st.name).collect(),
            )
        })
        .collect();
    let owned = |p: &str, t: &str, states: &[&str]| {
        (
            p.to_string(),
            t.to_string(),
            states.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        stored_types,
        vec![
            owned("p1", "Bug", &["New"]),
            owned("p2", "Bug", &["Done", "New"]),
        ],
        "types and states are replaced"
    );
    assert_eq!(
        count(s, "work_item_type_states").await,
        3,
        "the removed type's states go with it"
    );
    assert_eq!(field_names(s).await, vec!["System.State", "System.Title"]);

    // A stale refresh (observed before the stored one) neither revives, removes nor
    // overwrites anything.
    let mut stale = Batch::new(t1);
    write_planning(&mut stale, refresh("p1", 0, &[2], &["Task"]));
    write_fields(&mut stale, vec![wi_field("Custom.Gone")]);
    s.apply(ORG, &stale).await.expect("apply stale");
    assert_eq!(
        node_marks(&stored::<IterationRow>(s).await),
        vec![(1, false), (2, true), (3, false), (4, false), (1001, false)]
    );
    let names: Vec<String> = types(s).await.into_iter().map(|t| t.row.name).collect();
    assert_eq!(
        names,
        vec!["Bug", "Task", "Bug"],
        "the stale Task is written back"
    );
    assert_eq!(field_names(s).await.len(), 3, "nothing newer is removed");

    // A node that comes back is revived; a part left out (None) is not touched.
    let mut back = Batch::new(t3);
    write_planning(
        &mut back,
        Planning {
            areas: None,
            types: None,
            ..refresh("p1", 0, &[1, 2, 3, 4], &[])
        },
    );
    s.apply(ORG, &back).await.expect("apply back");
    assert!(
        stored::<IterationRow>(s)
            .await
            .iter()
            .all(|(_, d)| d.is_none())
    );
    assert_eq!(
        node_marks(&stored::<AreaRow>(s).await)[1],
        (102, true),
        "areas were not refreshed"
    );
    assert_eq!(types(s).await.len(), 3);

    // A renamed node keeps its id and is updated in place.
    let mut renamed = Batch::new(t3 + Duration::minutes(1));
    let mut p1 = refresh("p1", 0, &[1, 2, 3, 4], &["Bug"]);
    if let Some(iterations) = &mut p1.iterations {
        iterations[0] = NodeRow {
            name: "Sprint One".to_string(),
            path: "p1\\Sprint One".to_string(),
            ..iterations[0].clone()
        };
    }
    write_planning(&mut renamed, p1);
    s.apply(ORG, &renamed).await.expect("apply renamed");
    assert_eq!(stored::<IterationRow>(s).await[0].0.path, "p1\\Sprint One");
}
