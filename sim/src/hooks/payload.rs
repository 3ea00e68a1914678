//! Events as ADO sends them: the envelope of `examples/webhooks/` (API_FACTS §6 [EV]) around
//! the entity as the sim's own REST endpoint serializes it, so a receiver that re-fetches the
//! entity sees the same JSON.

use serde::Serialize;
use serde_json::{Value, json};

use super::Event;
use crate::boards::json as bj;
use crate::model::{Org, PullRequest};

/// One change seen by the hooks: a recorded [`Event`] or a work item revision.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source {
    Recorded(Event),
    WorkItem { id: u32, rev: u32 },
}

/// An event's type and the project it belongs to; `None` when the entity is gone (a PR of a
/// repository deleted in the same round).
pub(crate) fn kind(org: &Org, s: Source) -> Option<(&'static str, usize)> {
    let pr_project = |id: u32| org.pr(id).map(|pr| org.pr_project(pr));
    Some(match s {
        Source::Recorded(Event::PrCreated(id)) => ("git.pullrequest.created", pr_project(id)?),
        Source::Recorded(Event::PrUpdated(id, _)) => ("git.pullrequest.updated", pr_project(id)?),
        Source::Recorded(Event::PrMerged(id)) => ("git.pullrequest.merged", pr_project(id)?),
        Source::Recorded(Event::PrComment { pr, .. }) => {
            ("ms.vss-code.git-pullrequest-comment-event", pr_project(pr)?)
        }
        Source::Recorded(Event::BuildComplete(id)) => {
            let b = org.builds.build(id)?;
            ("build.complete", crate::builds::definition(org, b).project)
        }
        Source::WorkItem { id, rev } => {
            let item = org.boards.item(id)?;
            let meta = item.revs.get(rev as usize - 1)?;
            let before = (rev > 1).then(|| item.revs[rev as usize - 2].deleted);
            let t = match (before, meta.deleted) {
                (None, _) => "workitem.created",
                (Some(false), true) => "workitem.deleted",
                (Some(true), false) => "workitem.restored",
                _ => "workitem.updated",
            };
            (t, item.project)
        }
    })
}

/// What goes inside the envelope.
pub(crate) struct Content {
    pub resource: Value,
    pub message: Value,
    pub detailed: Value,
}

/// The three renderings ADO sends of a message.
fn message(text: &str, link: &str, url: &str) -> Value {
    json!({
        "text": text.replace("{}", link),
        "html": text.replace("{}", &format!("<a href=\"{url}\">{link}</a>")),
        "markdown": text.replace("{}", &format!("[{link}]({url})")),
    })
}

fn detailed(msg: &Value, lines: &[String]) -> Value {
    let m = |k: &str| msg[k].as_str().unwrap_or("").to_string();
    let text: String = lines.iter().map(|l| format!("- {l}\r\n")).collect();
    let html: String = lines.iter().map(|l| format!("<li>{l}</li>\r\n")).collect();
    let md: String = lines.iter().map(|l| format!("+ {l}\r\n")).collect();
    json!({
        "text": format!("{}\r\n\r\n{text}", m("text")),
        "html": format!("{}\r\n<ul>\r\n{html}</ul>", m("html")),
        "markdown": format!("{}\r\n\r\n{md}", m("markdown")),
    })
}

fn pr_web_url(base: &str, org: &Org, pr: &PullRequest) -> String {
    let repo = &org.repos[pr.repo];
    let project = &org.projects[repo.project];
    format!(
        "{base}/{}/_git/{}/pullrequest/{}",
        bj::encode_segment(&project.name),
        bj::encode_segment(&repo.name),
        pr.id
    )
}

/// The PR as the single-PR GET serializes it, plus what ADO's events add to its repository
/// (the recorded samples have `defaultBranch` and `remoteUrl` there, API_FACTS §6).
fn pr_json(base: &str, org: &Org, pr: &PullRequest) -> Value {
    let mut v =
        serde_json::to_value(crate::json::pull_request(base, org, pr, false)).unwrap_or_default();
    let repo = &org.repos[pr.repo];
    if let Some(r) = v.get_mut("repository").and_then(Value::as_object_mut) {
        let full =
            serde_json::to_value(crate::json::repository(base, org, repo)).unwrap_or_default();
        for k in ["defaultBranch", "remoteUrl"] {
            if let Some(x) = full.get(k) {
                r.insert(k.to_string(), x.clone());
            }
        }
    }
    v
}

/// The event's content; `None` when the entity is gone.
pub(crate) fn content(base: &str, org: &Org, s: Source, event_type: &str) -> Option<Content> {
    match s {
        Source::Recorded(Event::PrCreated(id))
        | Source::Recorded(Event::PrUpdated(id, _))
        | Source::Recorded(Event::PrMerged(id)) => pr_content(base, org, s, id),
        Source::Recorded(Event::PrComment {
            pr,
            thread,
            comment,
        }) => comment_content(base, org, pr, thread, comment),
        Source::Recorded(Event::BuildComplete(id)) => build_content(base, org, id),
        Source::WorkItem { id, rev } => work_item_content(base, org, id, rev, event_type),
    }
}

fn pr_content(base: &str, org: &Org, s: Source, id: u32) -> Option<Content> {
    use super::Update as U;
    let pr = org.pr(id)?;
    let mut resource = pr_json(base, org, pr);
    let name = |i: usize| org.identities[i].display_name.as_str();
    let author = name(pr.created_by);
    let closer = pr.closed_by.map_or(author, name);
    let text = match s {
        Source::Recorded(Event::PrCreated(_)) => format!("{author} created {{}}"),
        Source::Recorded(Event::PrMerged(_)) => {
            format!("{closer} completed {{}} (merge commit created)")
        }
        Source::Recorded(Event::PrUpdated(_, u)) => {
            // ADO's updated event also lists the pushed commits (the recorded sample has
            // `commits`); the sim names the source branch's head.
            if let Some(src) = resource.get("lastMergeSourceCommit").cloned() {
                resource["commits"] = json!([src]);
            }
            match u {
                U::Vote => "A reviewer voted on {}".to_string(),
                U::Push => format!("{author} updated the source branch of {{}}"),
                U::Status => "A status was posted on {}".to_string(),
                U::Reviewers => format!("{author} updated the reviewer list of {{}}"),
                U::Title => format!("{author} updated the title of {{}}"),
                U::Abandoned => format!("{closer} abandoned {{}}"),
                U::Completed => format!("{closer} marked {{}} as completed"),
                U::Reactivated => format!("{author} reactivated {{}}"),
            }
        }
        _ => return None,
    };
    let link = format!("pull request {} ({})", pr.id, pr.title);
    let msg = message(&text, &link, &pr_web_url(base, org, pr));
    let mut lines = vec![format!("Merge status: {}", pr.merge_status)];
    if let Some(sha) = &pr.merge_commit {
        lines.push(format!("Merge commit: {}", &sha[..sha.len().min(6)]));
    }
    lines.push(format!("Source branch: {}", pr.source_ref));
    lines.push(format!("Target branch: {}", pr.target_ref));
    let detailed = detailed(&msg, &lines);
    Some(Content {
        resource,
        message: msg,
        detailed,
    })
}

fn comment_content(base: &str, org: &Org, id: u32, thread: u32, comment: u32) -> Option<Content> {
    let pr = org.pr(id)?;
    let c = crate::children::of(org, pr);
    let t = c.threads.iter().find(|t| t.id == thread)?;
    let cx = crate::children::json::Ctx { base, org, pr };
    // The comment exactly as the threads endpoint shows it.
    let thread_json = serde_json::to_value(crate::children::json::thread(cx, c, t)).ok()?;
    let comment_json = thread_json["comments"]
        .as_array()?
        .iter()
        .find(|x| x["id"] == json!(comment))?
        .clone();
    let author = comment_json["author"]["displayName"]
        .as_str()
        .unwrap_or("Someone")
        .to_string();
    let verb = if comment > 1 {
        "replied to a comment on"
    } else {
        "commented on"
    };
    let link = format!("pull request {} ({})", pr.id, pr.title);
    let msg = message(
        &format!("{author} has {verb} {{}}"),
        &link,
        &pr_web_url(base, org, pr),
    );
    let content = comment_json["content"].as_str().unwrap_or("").to_string();
    let detailed = detailed(&msg, &[content]);
    Some(Content {
        resource: json!({ "comment": comment_json, "pullRequest": pr_json(base, org, pr) }),
        message: msg,
        detailed,
    })
}

fn build_content(base: &str, org: &Org, id: u32) -> Option<Content> {
    let b = org.builds.build(id)?;
    let cx = crate::builds::json::Ctx { base, org };
    let resource = serde_json::to_value(crate::builds::json::build(cx, b)).ok()?;
    let number = resource["buildNumber"].as_str().unwrap_or("").to_string();
    let result = resource["result"]
        .as_str()
        .unwrap_or("completed")
        .to_string();
    let web = resource["_links"]["web"]["href"].as_str().map_or_else(
        || resource["url"].as_str().unwrap_or("").to_string(),
        str::to_string,
    );
    let msg = message(&format!("Build {{}} {result}"), &number, &web);
    let definition = resource["definition"]["name"].as_str().unwrap_or("");
    let lines = [
        format!("Definition: {definition}"),
        format!("Result: {result}"),
    ];
    let detailed = detailed(&msg, &lines);
    Some(Content {
        resource,
        message: msg,
        detailed,
    })
}

/// The work item at `rev` as `GET _apis/wit/workitems/{id}` serializes it.
fn item_json(base: &str, org: &Org, id: u32, rev: u32) -> Option<Value> {
    let item = org.boards.item(id)?;
    let ctx = bj::Ctx { base, org };
    let opts = bj::ItemOptions {
        select: None,
        relations: false,
        links: true,
    };
    serde_json::to_value(bj::work_item(ctx, item, rev, opts)).ok()
}

#[derive(Serialize)]
struct Change<'a> {
    #[serde(rename = "oldValue", skip_serializing_if = "Option::is_none")]
    old: Option<&'a Value>,
    #[serde(rename = "newValue", skip_serializing_if = "Option::is_none")]
    new: Option<&'a Value>,
}

fn work_item_content(
    base: &str,
    org: &Org,
    id: u32,
    rev: u32,
    event_type: &str,
) -> Option<Content> {
    let now = item_json(base, org, id, rev)?;
    let f = &now["fields"];
    let kind = f["System.WorkItemType"].as_str().unwrap_or("Work item");
    let title = f["System.Title"].as_str().unwrap_or("");
    let by = f["System.ChangedBy"]["displayName"]
        .as_str()
        .unwrap_or("Someone");
    let verb = event_type.trim_start_matches("workitem.");
    let web = now["_links"]["html"]["href"].as_str().unwrap_or("");
    let msg = message(
        &format!("{{}} {verb} by {by}"),
        &format!("{kind} #{id} ({title})"),
        web,
    );
    let state = f["System.State"].as_str().unwrap_or("");
    let lines = [
        format!("Area path: {}", f["System.AreaPath"].as_str().unwrap_or("")),
        format!(
            "Iteration path: {}",
            f["System.IterationPath"].as_str().unwrap_or("")
        ),
        format!("State: {state}"),
    ];
    let detailed = detailed(&msg, &lines);
    let resource = if event_type == "workitem.updated" {
        // ADO's updated resource is the update (its fields: old and new values) with the
        // work item as it is after it in `revision` (API_FACTS §6 [EV]).
        let old = if rev > 1 {
            item_json(base, org, id, rev - 1)?
        } else {
            json!({ "fields": {} })
        };
        let (of, nf) = (&old["fields"], &now["fields"]);
        let mut fields = serde_json::Map::new();
        let keys: std::collections::BTreeSet<&String> = of
            .as_object()
            .into_iter()
            .chain(nf.as_object())
            .flat_map(|m| m.keys())
            .collect();
        for k in keys {
            let (o, n) = (of.get(k), nf.get(k));
            if o != n {
                fields.insert(k.clone(), json!(Change { old: o, new: n }));
            }
        }
        // The REST item carries its rev outside `fields`; ADO's update lists it as a field
        // change (the recorded sample's first field is `System.Rev`).
        fields
            .entry("System.Rev")
            .or_insert_with(|| json!({ "oldValue": rev - 1, "newValue": rev }));
        let item_url = bj::item_url(base, id);
        let url = format!("{item_url}/updates/{rev}");
        json!({
            "id": rev,
            "workItemId": id,
            "rev": rev,
            "revisedBy": f["System.ChangedBy"],
            "revisedDate": f["System.ChangedDate"],
            "fields": fields,
            "_links": {
                "self": { "href": url },
                "workItemUpdates": { "href": format!("{item_url}/updates") },
                "parent": { "href": item_url },
            },
            "url": url,
            "revision": now,
        })
    } else {
        now
    };
    Some(Content {
        resource,
        message: msg,
        detailed,
    })
}
