//! Configuration: the TOML file, `ADO_INGEST__…` environment overrides, secret references and
//! validation. Owns [`Settings`]; knows nothing of HTTP or SQL.
//!
//! Order of precedence: defaults in code < the file < environment variables
//! (`ADO_INGEST__SECTION__KEY`, double underscore between levels). Unknown keys are rejected
//! with the key's name and the file, so a typo never silently disables something. Validation
//! runs after loading and reports every problem at once.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// Environment variable prefix for overrides.
pub const ENV_PREFIX: &str = "ADO_INGEST";

/// Errors while loading or validating the configuration.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file named with `--config` does not exist or cannot be read.
    #[error("cannot read config file {file}: {reason}")]
    Read { file: String, reason: String },
    /// The file or an environment override does not fit the expected shape (unknown key,
    /// wrong type); the message names the key.
    #[error("invalid configuration in {file}: {message}")]
    Shape { file: String, message: String },
    /// Values parsed but make no sense together; every problem is listed.
    #[error("invalid configuration in {file}:\n  - {}", problems.join("\n  - "))]
    Invalid { file: String, problems: Vec<String> },
}

/// Whether loading checks that every token reference resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secrets {
    Resolve,
    Skip,
}

/// The whole configuration tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub organization: OrganizationSettings,
    #[serde(default)]
    pub sync: SyncSettings,
    #[serde(default)]
    pub http: HttpSettings,
    #[serde(default)]
    pub connectors: ConnectorsSettings,
    #[serde(default)]
    pub server: ServerSettings,
    /// The stored credentials that `cred:NAME` entries read, attached once the database is
    /// open ([`crate::credentials::attach`]); not part of the file.
    #[serde(skip)]
    pub stored: Option<std::sync::Arc<crate::credentials::Live>>,
}

/// `[database]`
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path.db` or `postgres://user@host:5432/db`.
    pub url: String,
}

// Secret-holding settings print without their secrets (issue 9, item 7): the URL can carry a
// password, a token reference can be a literal token, the webhook secret is one.
impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

/// `[organization]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSettings {
    /// Services organization URL or a Server collection URL.
    pub url: String,
    /// Optional project allow-list (names or ids); default every project the tokens see.
    #[serde(default)]
    pub projects: Vec<String>,
    /// REST api-version sent with every call, lowered at a server's first "out of range"
    /// answer (`ado::version`).
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Key stored in every row's `org` column; default: the last path segment of `url`.
    #[serde(default)]
    pub name: Option<String>,
    /// Graph host URL; default `https://vssps.dev.azure.com/{org}` for dev.azure.com, else `url`.
    #[serde(default)]
    pub graph_url: Option<String>,
    /// Release management host URL (classic releases and deployments); default
    /// `https://vsrm.dev.azure.com/{org}` for dev.azure.com, else `url`.
    #[serde(default)]
    pub release_url: Option<String>,
}

/// `[sync]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// Backfill horizon (a date `2024-01-01` or RFC 3339 time); absent: full history.
    #[serde(default)]
    pub since: Option<String>,
    /// Incremental look-back that absorbs clock skew and late writes.
    #[serde(default = "default_overlap", deserialize_with = "de_duration")]
    pub overlap: Duration,
    /// How often a sync reconciles deletions with a second signal (the recycle bin); every
    /// backfill does.
    #[serde(default = "default_reconcile", deserialize_with = "de_duration")]
    pub reconcile_every: Duration,
    /// Apply a complete listing that lacks more than half of what is stored (normally
    /// refused as a token that lost its permissions; `store::batch::MASS_DELETION_MIN`).
    #[serde(default)]
    pub allow_mass_deletion: bool,
    /// How long a lease on a scope of work (a connector's project) outlives its holder: a
    /// killed replica's scopes are taken over this long after it stopped renewing them.
    #[serde(default = "default_lease_ttl", deserialize_with = "de_duration")]
    pub lease_ttl: Duration,
    /// `sync` runs kept per connector in `sync_runs` (the newest; its newest success and
    /// every backfill are kept too). Bounds the table, and so the memory a service's SQLite
    /// page cache spends on it, however long it runs.
    #[serde(default = "default_keep_runs")]
    pub keep_runs: u32,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            since: None,
            overlap: default_overlap(),
            reconcile_every: default_reconcile(),
            allow_mass_deletion: false,
            lease_ttl: default_lease_ttl(),
            keep_runs: default_keep_runs(),
        }
    }
}

/// `[http]`: how every ADO request is made.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Whole-request timeout.
    #[serde(default = "default_timeout", deserialize_with = "de_duration")]
    pub timeout: Duration,
    /// TCP/TLS connect timeout.
    #[serde(default = "default_connect_timeout", deserialize_with = "de_duration")]
    pub connect_timeout: Duration,
    /// Retries of one request on 429 / 5xx / timeouts / resets before the run fails.
    #[serde(default = "default_max_retries")]
    pub max_retries: usize,
    /// First retry delay; doubles (with jitter) up to `max_backoff`.
    #[serde(default = "default_min_backoff", deserialize_with = "de_duration")]
    pub min_backoff: Duration,
    /// Longest wait between two retries.
    #[serde(default = "default_max_backoff", deserialize_with = "de_duration")]
    pub max_backoff: Duration,
    /// Largest response body accepted, after decompression, in MiB. A larger (or gzip-bomb)
    /// body fails the request with a clear error instead of exhausting memory.
    #[serde(default = "default_max_body_mib")]
    pub max_body_mib: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            max_retries: default_max_retries(),
            min_backoff: default_min_backoff(),
            max_backoff: default_max_backoff(),
            max_body_mib: default_max_body_mib(),
        }
    }
}

/// `[connectors.*]`: a connector whose section is absent is disabled.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorsSettings {
    #[serde(default)]
    pub repos: Option<ConnectorSettings>,
    #[serde(default)]
    pub boards: Option<ConnectorSettings>,
    /// The commits of every pull request, from the pull requests the Repos connector stored.
    #[serde(default)]
    pub pull_commits: Option<ConnectorSettings>,
    /// Every repository's default-branch history.
    #[serde(default)]
    pub commits: Option<ConnectorSettings>,
    /// Build definitions, builds, timelines, releases, deployments, environments.
    #[serde(default)]
    pub pipelines: Option<ConnectorSettings>,
}

/// One connector's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSettings {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The token pool: `env:VAR`, `file:/path`, or `{ name = "…", secret = "env:VAR" }`.
    #[serde(default)]
    pub tokens: Vec<TokenRef>,
    /// Client-side ceiling per token.
    #[serde(default = "default_rps")]
    pub requests_per_second: f64,
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// Requests in flight for this connector.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Polling period in `run`.
    #[serde(default = "default_interval", deserialize_with = "de_duration")]
    pub interval: Duration,
    /// Repos only: the inside of each pull request
    /// (`[connectors.repos.pull_request_depth]`); absent = the defaults.
    #[serde(default)]
    pub pull_request_depth: Option<PullRequestDepthSettings>,
    /// Pipelines only: the commits each finished build built (`builds/{id}/changes`, one
    /// request per build), for lead time. Default off.
    #[serde(default)]
    pub build_changes: Option<bool>,
    /// Pipelines only: classic releases and deployments (the release host, Release (Read)).
    /// Default on.
    #[serde(default)]
    pub releases: Option<bool>,
    /// Pipelines only: YAML environments and their deployment records (scope
    /// `vso.environment_manage`, API_FACTS §8.1). Default on.
    #[serde(default)]
    pub environments: Option<bool>,
}

/// What the Pipelines connector reads besides definitions, builds and timelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelinesSettings {
    pub build_changes: bool,
    pub releases: bool,
    pub environments: bool,
}

impl Default for PipelinesSettings {
    fn default() -> Self {
        Self {
            build_changes: false,
            releases: true,
            environments: true,
        }
    }
}

impl ConnectorSettings {
    /// The Pipelines switches of this section, defaults filled in.
    pub fn pipelines(&self) -> PipelinesSettings {
        let d = PipelinesSettings::default();
        PipelinesSettings {
            build_changes: self.build_changes.unwrap_or(d.build_changes),
            releases: self.releases.unwrap_or(d.releases),
            environments: self.environments.unwrap_or(d.environments),
        }
    }
}

/// `[connectors.repos.pull_request_depth]`: iterations, changed paths, threads and comments,
/// linked work items, statuses and policy evaluations of every pull request, fetched when the
/// PR changed (issue 11).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequestDepthSettings {
    /// Off: pull requests and reviewers only.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Policy evaluations need `policy/evaluations` (a preview API; API_FACTS §9.4).
    #[serde(default = "default_true")]
    pub policy_evaluations: bool,
    /// An active PR whose inside was fetched longer ago than this is fetched again even if
    /// the PR list shows no change: a comment alone changes nothing the list shows.
    #[serde(
        default = "default_refresh_active_after",
        deserialize_with = "de_duration"
    )]
    pub refresh_active_after: Duration,
}

impl Default for PullRequestDepthSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            policy_evaluations: true,
            refresh_active_after: default_refresh_active_after(),
        }
    }
}

fn default_refresh_active_after() -> Duration {
    Duration::from_secs(24 * 3600)
}

/// The organization of a legacy Services URL, `https://{org}.visualstudio.com`, which every
/// organization still answers on (learn.microsoft.com/azure/devops/extend/develop/work-with-urls);
/// its release host is `{org}.vsrm.visualstudio.com` (Microsoft's Release Management REST
/// samples) and its Graph host `{org}.vssps.visualstudio.com`.
fn legacy_services_org(url: &url::Url) -> Option<&str> {
    url.host_str()?
        .strip_suffix(".visualstudio.com")
        .filter(|org| !org.is_empty() && !org.contains('.'))
}

fn default_api_version() -> String {
    "7.1".into()
}
fn default_overlap() -> Duration {
    Duration::from_secs(600)
}
fn default_reconcile() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_lease_ttl() -> Duration {
    Duration::from_secs(60)
}
fn default_keep_runs() -> u32 {
    2000
}
fn default_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_max_retries() -> usize {
    8
}
fn default_min_backoff() -> Duration {
    Duration::from_millis(200)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(30)
}
fn default_max_body_mib() -> u64 {
    64
}
fn default_true() -> bool {
    true
}
fn default_rps() -> f64 {
    10.0
}
fn default_burst() -> u32 {
    20
}
fn default_concurrency() -> usize {
    8
}
fn default_interval() -> Duration {
    Duration::from_secs(300)
}

/// Parses `500ms`, `30s`, `10m`, `24h`, `7d` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (examples: 500ms, 30s, 10m, 24h)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        other => {
            return Err(format!(
                "`{s}`: unknown duration unit `{other}` (use ms, s, m, h or d)"
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{s}` is not a valid duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Secs(u64),
    }
    match Raw::deserialize(d)? {
        Raw::Text(s) => parse_duration(&s).map_err(serde::de::Error::custom),
        Raw::Secs(n) => Ok(Duration::from_secs(n)),
    }
}

impl Settings {
    /// Loads `file` (if given) and the environment, then validates. `file` that is `Some` must
    /// exist; `None` means "no file" (everything from the environment).
    pub fn load(file: Option<&Path>) -> Result<Self, Error> {
        Self::load_with_env(file, std::env::vars())
    }

    /// Like [`Settings::load`] but without resolving token references: for commands that
    /// only read the database (`status`), which must work where the tokens' variables or
    /// files are absent (another host, a shell without the service's environment). Every
    /// other check still applies; a token that is not resolvable is simply not looked at.
    pub fn load_without_secrets(file: Option<&Path>) -> Result<Self, Error> {
        Self::read(file, std::env::vars(), Secrets::Skip)
    }

    /// Like [`Settings::load`], with the environment given explicitly (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        Self::read(file, env, Secrets::Resolve)
    }

    fn read(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        secrets: Secrets,
    ) -> Result<Self, Error> {
        let file_label = file
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(environment)".to_string());
        let text = match file {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| Error::Read {
                file: file_label.clone(),
                reason: e.to_string(),
            })?),
            None => None,
        };
        Self::parse(text.as_deref(), &file_label, env, secrets)
    }

    /// Parses TOML `text` (labelled `label` in errors) plus the environment, then validates.
    pub fn from_toml(
        text: Option<&str>,
        label: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        Self::parse(text, label, env, Secrets::Resolve)
    }

    fn parse(
        text: Option<&str>,
        label: &str,
        env: impl IntoIterator<Item = (String, String)>,
        secrets: Secrets,
    ) -> Result<Self, Error> {
        let file_label = label.to_string();
        let mut builder = config::Config::builder();
        if let Some(text) = text {
            builder = builder.add_source(config::File::from_str(text, config::FileFormat::Toml));
        }
        let env: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")))
            .collect();
        let env_source = config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("connectors.repos.tokens")
            .with_list_parse_key("connectors.boards.tokens")
            .with_list_parse_key("organization.projects")
            .try_parsing(true)
            .source(Some(env.into_iter().collect()));
        builder = builder.add_source(env_source);
        let cfg = builder.build().map_err(|e| Error::Shape {
            file: file_label.clone(),
            message: e.to_string(),
        })?;
        let settings: Settings = cfg.try_deserialize().map_err(|e| Error::Shape {
            file: file_label.clone(),
            message: describe_shape_error(&e.to_string()),
        })?;
        settings.validate(&file_label, secrets)?;
        Ok(settings)
    }

    /// Checks values that parse but make no sense; lists every problem.
    fn validate(&self, file: &str, secrets: Secrets) -> Result<(), Error> {
        let mut problems = Vec::new();
        let db = &self.database.url;
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres:")
            || db.starts_with("postgresql:"))
        {
            problems.push(format!(
                "database.url: `{}` must start with sqlite:// or postgres://",
                redact_url(db)
            ));
        }
        match url::Url::parse(&self.organization.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Ok(u) => problems.push(format!(
                "organization.url: `{}` must be an http(s) URL such as https://dev.azure.com/contoso",
                u
            )),
            Err(e) => problems.push(format!(
                "organization.url: `{}` is not a URL ({e}); expected e.g. https://dev.azure.com/contoso",
                self.organization.url
            )),
        }
        for (key, value) in [
            ("organization.graph_url", &self.organization.graph_url),
            ("organization.release_url", &self.organization.release_url),
        ] {
            let Some(value) = value else { continue };
            match url::Url::parse(value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => problems.push(format!(
                    "{key}: `{value}` must be an http(s) URL such as https://vsrm.dev.azure.com/contoso"
                )),
            }
        }
        if self.organization.api_version.trim().is_empty() {
            problems.push("organization.api_version: must not be empty".into());
        } else if crate::ado::version::Version::parse(&self.organization.api_version).is_none() {
            problems.push(format!(
                "organization.api_version: `{}` is not an api-version such as 7.1 or 7.1-preview.1",
                self.organization.api_version
            ));
        }
        if let Some(since) = &self.sync.since
            && parse_since(since).is_none()
        {
            problems.push(format!(
                "sync.since: `{since}` is not a date (YYYY-MM-DD) or RFC 3339 time"
            ));
        }
        if self.sync.lease_ttl < Duration::from_secs(1) {
            problems.push("sync.lease_ttl: must be at least 1s".into());
        }
        if self.sync.keep_runs < 10 {
            problems.push("sync.keep_runs: must be at least 10".into());
        }
        if self.http.timeout.is_zero() {
            problems.push("http.timeout: must be positive".into());
        }
        if self.http.max_backoff < self.http.min_backoff {
            problems.push("http.max_backoff: must be at least http.min_backoff".into());
        }
        let mut any_enabled = false;
        for (name, c) in self.connectors.iter() {
            if !c.enabled {
                continue;
            }
            any_enabled = true;
            if c.tokens.is_empty() {
                problems.push(format!(
                    "connectors.{name}.tokens: an enabled connector needs at least one token"
                ));
            }
            let resolve = secrets == Secrets::Resolve;
            for (i, t) in c.tokens.iter().enumerate() {
                if let TokenRef::Identity(id) = t {
                    problems
                        .extend(id.problems(&format!("connectors.{name}.tokens[{i}]"), resolve));
                    continue;
                }
                let reference = t.reference().unwrap_or_default();
                if let Some(stored) = secrets::stored_name(reference) {
                    // Looked up in the database when the client is built; only its shape here.
                    if let Err(e) = crate::credentials::check_name(stored) {
                        problems.push(format!("connectors.{name}.tokens[{i}]: cred:{stored}: {e}"));
                    }
                } else if resolve && let Err(e) = resolve_secret(reference) {
                    problems.push(format!("connectors.{name}.tokens[{i}]: {e}"));
                }
            }
            if !(c.requests_per_second.is_finite() && c.requests_per_second > 0.0) {
                problems.push(format!(
                    "connectors.{name}.requests_per_second: must be a positive number"
                ));
            }
            if c.burst == 0 {
                problems.push(format!("connectors.{name}.burst: must be at least 1"));
            }
            if c.concurrency == 0 {
                problems.push(format!("connectors.{name}.concurrency: must be at least 1"));
            }
            if c.interval.is_zero() {
                problems.push(format!("connectors.{name}.interval: must be positive"));
            }
            if c.pull_request_depth.is_some() && name != "repos" {
                problems.push(format!(
                    "connectors.{name}.pull_request_depth: only the repos connector fetches the inside of pull requests"
                ));
            }
            for (key, set) in [
                ("build_changes", c.build_changes.is_some()),
                ("releases", c.releases.is_some()),
                ("environments", c.environments.is_some()),
            ] {
                if set && name != "pipelines" {
                    problems.push(format!(
                        "connectors.{name}.{key}: a setting of the pipelines connector only"
                    ));
                }
            }
        }
        if !any_enabled {
            problems.push(
                "connectors: no connector is enabled (add a [connectors.repos] or [connectors.boards] section)".into(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid {
                file: file.to_string(),
                problems,
            })
        }
    }

    /// The key stored in every row's `org` column.
    /// Settings that work but expose something in transit, one sentence each, logged as
    /// warnings at the start of a run: an `http://` organization or Graph URL (tokens travel
    /// in clear text; acceptable for Server on a trusted network) and a PostgreSQL URL to
    /// another machine without `sslmode=verify-full` or `verify-ca` (the connection may be
    /// unencrypted or its certificate unchecked). Loopback hosts are exempt: nothing leaves
    /// the machine.
    pub fn transport_warnings(&self) -> Vec<String> {
        let remote = |u: &url::Url| {
            !matches!(
                u.host_str(),
                Some("localhost" | "127.0.0.1" | "[::1]" | "::1") | None
            )
        };
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (key, value) in [
            ("organization.url", self.organization.url.clone()),
            ("organization.graph_url", self.graph_url()),
            ("organization.release_url", self.release_url()),
        ] {
            // A host that defaults to the organization URL is said once, under its name.
            if !seen.insert(value.clone()) {
                continue;
            }
            if let Ok(u) = url::Url::parse(&value)
                && u.scheme() == "http"
                && remote(&u)
            {
                out.push(format!(
                    "{key} is http://{}: tokens travel in clear text; use https:// unless this is \
                     Azure DevOps Server on a trusted network",
                    u.host_str().unwrap_or_default()
                ));
            }
        }
        if let Ok(u) = url::Url::parse(&self.database.url)
            && matches!(u.scheme(), "postgres" | "postgresql")
            && remote(&u)
        {
            let mode = u
                .query_pairs()
                .find(|(k, _)| k == "sslmode")
                .map(|(_, v)| v.into_owned());
            if !matches!(mode.as_deref(), Some("verify-full" | "verify-ca")) {
                out.push(format!(
                    "database.url connects to {} with sslmode={}: the server's certificate is \
                     not verified; add ?sslmode=verify-full (and sslrootcert= if needed)",
                    u.host_str().unwrap_or_default(),
                    mode.as_deref().unwrap_or("prefer (the default)")
                ));
            }
        }
        out
    }

    pub fn org_key(&self) -> String {
        if let Some(n) = &self.organization.name {
            return n.clone();
        }
        url::Url::parse(&self.organization.url)
            .ok()
            .and_then(|u| {
                u.path_segments()
                    .and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_string))
                    .or_else(|| legacy_services_org(&u).map(str::to_string))
                    .or_else(|| u.host_str().map(str::to_string))
            })
            .unwrap_or_else(|| self.organization.url.clone())
    }

    /// The release management organization URL (API_FACTS §0: `vsrm.` on Services; the
    /// collection URL on Server).
    pub fn release_url(&self) -> String {
        match &self.organization.release_url {
            Some(r) => r.clone(),
            None => self.services_host("vsrm"),
        }
    }

    /// The Graph API's organization URL (API_FACTS §0: `vssps.` on Services).
    pub fn graph_url(&self) -> String {
        match &self.organization.graph_url {
            Some(g) => g.clone(),
            None => self.services_host("vssps"),
        }
    }

    /// The organization URL on Services' `service` host (`vsrm`, `vssps`): a sub-host of
    /// `dev.azure.com`, or of the legacy `{org}.visualstudio.com`; any other URL is a Server
    /// collection, which serves every area itself (API_FACTS §5).
    fn services_host(&self, service: &str) -> String {
        match url::Url::parse(&self.organization.url) {
            Ok(u) if u.host_str() == Some("dev.azure.com") => {
                format!("https://{service}.dev.azure.com/{}", self.org_key())
            }
            Ok(u) => match legacy_services_org(&u) {
                Some(org) => format!("https://{org}.{service}.visualstudio.com"),
                None => self.organization.url.clone(),
            },
            Err(_) => self.organization.url.clone(),
        }
    }

    /// The backfill horizon, parsed.
    pub fn since(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.sync.since.as_deref().and_then(parse_since)
    }
}

impl ConnectorsSettings {
    /// Every configured connector by name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &ConnectorSettings)> {
        [
            ("repos", self.repos.as_ref()),
            ("boards", self.boards.as_ref()),
            ("pull_commits", self.pull_commits.as_ref()),
            ("commits", self.commits.as_ref()),
            ("pipelines", self.pipelines.as_ref()),
        ]
        .into_iter()
        .filter_map(|(n, c)| c.map(|c| (n, c)))
    }

    /// Names of the connectors this build knows.
    pub const KNOWN: &'static [&'static str] =
        &["repos", "boards", "pull_commits", "commits", "pipelines"];
}

fn parse_since(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

pub use crate::redact::redact_url;

/// serde's messages say "unknown field `x`, expected one of …"; keep them, they name the key.
fn describe_shape_error(msg: &str) -> String {
    msg.to_string()
}

pub mod identity;
mod server;
pub use server::ServerSettings;
mod secrets;
pub use identity::Identity;
pub use secrets::{
    Credential, PoolEntry, Token, TokenRef, expose, is_literal, resolve_secret, stored_name,
};

#[cfg(test)]
mod tests;
