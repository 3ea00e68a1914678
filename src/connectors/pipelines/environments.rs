//! YAML environments of one project and their deployment records (API_FACTS §8.1, §8.2).
//!
//! Environments are a small set: listed in full every pass and diffed. A record has no time
//! filter and no state field; it is final once it has a finish time and a result. So each
//! environment's records are walked (continuation token in the response header, `top`
//! without `$`) until the walk has passed both the newest id stored
//! (`environment_deployments:{project}:{environment}`) and every record stored as unfinished
//! (`Store::open_deployment_records`) — but only while the pages come newest first: the
//! order is not documented, and a walk that sees any other order reads to the end.

use std::pin::pin;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{NAME, people};
use crate::ado::Client;
use crate::ado::listing::{EnvironmentDeploymentRecords, Environments};
use crate::ado::models::core::TeamProject;
use crate::connectors::map::pipelines::{environment_deployment_row, environment_row};
use crate::connectors::{Error, Summary, SyncContext, commit, cursor_update, load_cursor};
use crate::store::schema::core::write_users;
use crate::store::schema::deployments::EnvironmentRow;
use crate::store::{Batch, Record, Store};

/// How far an environment's records are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsCursor {
    pub newest_id: i64,
}

pub(super) async fn sync(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    summary: &mut Summary,
) -> Result<(), Error> {
    let (environments, observed_at) = client
        .list_all(Environments {
            project: project.id.clone(),
        })
        .await?;
    let rows: Vec<EnvironmentRow> = environments
        .iter()
        .map(|e| environment_row(&project.id, e))
        .collect();
    let present = rows.iter().map(Record::key).collect();
    let users = people(environments.iter().map(|e| e.value.created_by.as_ref()));
    let mut batch = ctx.listing_batch(observed_at);
    batch
        .upsert(rows)
        .mark_missing::<EnvironmentRow>(vec![("project_id", project.id.as_str().into())], present);
    write_users(&mut batch, users);
    commit(client, ctx, &batch, summary).await?;
    summary.add("environments", environments.len() as u64);
    for e in &environments {
        sync_records(client, ctx, project, e.value.id, summary).await?;
    }
    Ok(())
}

/// What a walk of records has seen of their order.
#[derive(Debug, Default)]
struct Order {
    /// The smallest id so far, when every id came below the one before it.
    lowest: Option<i64>,
    descending: bool,
    started: bool,
}

impl Order {
    fn see(&mut self, ids: &[i64]) {
        for id in ids {
            let ok = self.lowest.is_none_or(|low| *id < low);
            self.descending = ok && (self.descending || !self.started);
            self.started = true;
            self.lowest = Some(self.lowest.map_or(*id, |low| low.min(*id)));
        }
    }

    /// Whether the walk may stop: newest first so far, and down to `floor`.
    fn reached(&self, floor: i64) -> bool {
        self.descending && self.lowest.is_some_and(|low| low <= floor)
    }
}

async fn sync_records(
    client: &Client,
    ctx: &SyncContext,
    project: &TeamProject,
    environment: i64,
    summary: &mut Summary,
) -> Result<(), Error> {
    let scope = format!("environment_deployments:{}:{environment}", project.id);
    let stored: Option<RecordsCursor> = load_cursor(ctx, NAME, &scope).await?;
    let open = ctx
        .store
        .open_deployment_records(&ctx.org, &project.id, environment)
        .await?;
    // A walk must reach every record newer than the newest stored one, and every stored
    // record that was still unfinished; with nothing stored it reads everything.
    let floor = stored.map(|c| open.first().map_or(c.newest_id, |o| (*o).min(c.newest_id)));
    let listing = EnvironmentDeploymentRecords {
        project: project.id.clone(),
        environment,
    };
    let mut order = Order::default();
    let mut newest = stored.map(|c| c.newest_id);
    let mut pages = pin!(client.pages(listing, None));
    while let Some(page) = pages.next().await {
        let page = page?;
        let ids: Vec<i64> = page.items.iter().map(|r| r.value.id).collect();
        order.see(&ids);
        newest = newest.max(ids.iter().copied().max());
        // A record stored as finished never changes: the page that reaches back to it (every
        // walk's last) writes only what is new or was unfinished, so an idle pass writes none.
        let finished_before =
            |id: i64| stored.is_some_and(|c| id <= c.newest_id) && open.binary_search(&id).is_err();
        let rows: Vec<_> = page
            .items
            .iter()
            .filter(|r| !finished_before(r.value.id))
            .map(|r| environment_deployment_row(&project.id, environment, r))
            .collect();
        let listed = page.items.len() as u64;
        if !rows.is_empty() {
            let mut batch = Batch::new(page.sent_at);
            batch.upsert(rows);
            commit(client, ctx, &batch, summary).await?;
        }
        client.metrics().items(listed);
        summary.add("environment_deployments", listed);
        if floor.is_some_and(|f| order.reached(f)) {
            break;
        }
    }
    if let Some(newest_id) = newest
        && Some(newest_id) != stored.map(|c| c.newest_id)
    {
        let mut batch = Batch::new(client.now());
        batch.with_cursor(cursor_update(NAME, &scope, &RecordsCursor { newest_id })?);
        commit(client, ctx, &batch, summary).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Order;

    #[test]
    fn a_walk_stops_early_only_while_records_come_newest_first() {
        let mut o = Order::default();
        o.see(&[90, 80, 70]);
        assert!(!o.reached(60));
        o.see(&[60, 50]);
        assert!(o.reached(60));
        let mut o = Order::default();
        o.see(&[10, 20]);
        assert!(!o.reached(20), "ascending: read to the end");
        let mut o = Order::default();
        o.see(&[90, 80]);
        o.see(&[85, 40]);
        assert!(!o.reached(50), "out of order across pages");
    }
}
