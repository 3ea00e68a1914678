"""Lists projects, repositories and pull requests of ado-sim with Microsoft's Python client and
checks the counts against /_sim/truth. Run by python-client-check.sh."""

import json
import sys
import urllib.request

from azure.devops.connection import Connection
from azure.devops.v7_1.git.models import GitPullRequestSearchCriteria
from msrest.authentication import BasicAuthentication

host = sys.argv[1].rstrip("/")
org_url = host + "/contoso"

with urllib.request.urlopen(host + "/_sim/truth") as r:
    truth = json.load(r)

conn = Connection(base_url=org_url, creds=BasicAuthentication("", "demo-pat"))
core = conn.clients_v7_1.get_core_client()
git = conn.clients_v7_1.get_git_client()

projects = core.get_projects()
names = sorted(p.name for p in projects)
assert names == sorted(p["name"] for p in truth["projects"]), names
print(f"projects: {len(projects)} (as in truth)")

repos_total = 0
prs_total = 0
for project in projects:
    repos = git.get_repositories(project.name)
    want = [r for r in truth["repositories"] if r["project"]["id"] == project.id]
    assert sorted(r.id for r in repos) == sorted(r["id"] for r in want), project.name
    repos_total += len(repos)
    for repo in repos:
        truth_prs = [p for p in truth["pull_requests"] if p["repository"]["id"] == repo.id]
        everything = GitPullRequestSearchCriteria(status="all")
        # Without $top the service answers its default page of 101.
        first = git.get_pull_requests(repo.id, everything, project=project.name)
        assert len(first) == min(101, len(truth_prs)), (repo.name, len(first))
        # Page with top/skip until a short page.
        got, skip = [], 0
        while True:
            page = git.get_pull_requests(repo.id, everything, project=project.name, top=50, skip=skip)
            got.extend(page)
            if len(page) < 50:
                break
            skip += len(page)
        ids = [p.pull_request_id for p in got]
        assert ids == sorted(ids, reverse=True), "newest first"
        assert sorted(ids) == sorted(p["pullRequestId"] for p in truth_prs), repo.name
        active = git.get_pull_requests(repo.id, GitPullRequestSearchCriteria(status="active"),
                                       project=project.name, top=1000)
        assert len(active) == sum(1 for p in truth_prs if p["status"] == "active"), repo.name
        prs_total += len(got)
    by_project = git.get_pull_requests_by_project(project.name, GitPullRequestSearchCriteria(status="completed"), top=1000)
    want_completed = sum(1 for p in truth["pull_requests"]
                         if p["repository"]["project"]["id"] == project.id and p["status"] == "completed")
    assert len(by_project) == min(1000, want_completed), (project.name, len(by_project))
    one = git.get_pull_request_by_id(by_project[0].pull_request_id, project=project.name)
    assert one.pull_request_id == by_project[0].pull_request_id

assert repos_total == len(truth["repositories"])
assert prs_total == len(truth["pull_requests"])
print(f"repositories: {repos_total}, pull requests: {prs_total} (as in truth)")

with urllib.request.urlopen(host + "/_sim/stats") as r:
    stats = json.load(r)
print("sim stats:", json.dumps(stats["by_endpoint"], sort_keys=True), "statuses:", stats["by_status"])
assert set(stats["by_status"]) == {"200"}, stats["by_status"]
print("OK: azure-devops Python client agrees with /_sim/truth")
