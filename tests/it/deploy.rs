//! The deploy files stay in step with the binary: the configurations in deploy/ load with the
//! real config loader and listen where the container ports point, every `ado-ingest …`
//! command line in the Dockerfile, compose.yaml and the Kubernetes manifests is accepted by
//! the real CLI, and every `env:` token reference is supplied where the config runs.
//!
//! No YAML parser is available to the tests (and none is added for this), so the files are
//! read line by line: each extractor looks for one known shape, documented on it, and fails
//! naming the file and the shape when it is not there, rather than silently checking nothing.
//! The shapes are what the deploy files use on purpose: exec-form JSON arrays on one line for
//! commands, a `key: |` block for the embedded TOML.

use ado_ingest::cli::{Cli, Command};
use ado_ingest::config::{self, Settings};
use clap::Parser;
use std::collections::BTreeSet;
use std::path::Path;

/// Where the configs are mounted; every command line must point `--config` there.
const CONFIG_PATH: &str = "/etc/ado-ingest/ado-ingest.toml";

/// A file of this repository, by path relative to its root.
fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The lines nested under the first line whose trimmed text is `header` (YAML: the lines after
/// it that are blank or indented deeper than it), dedented by the first nested line's indent.
/// `None` when no line is `header`.
fn block_under(text: &str, header: &str) -> Option<Vec<String>> {
    let mut lines = text.lines();
    let start = lines.by_ref().find(|l| l.trim() == header)?;
    let base = indent(start);
    let nested: Vec<&str> = lines
        .take_while(|l| l.trim().is_empty() || indent(l) > base)
        .collect();
    let inner = nested
        .iter()
        .find(|l| !l.trim().is_empty())
        .map_or(0, |l| indent(l));
    Some(
        nested
            .iter()
            .map(|l| l.get(inner..).unwrap_or("").to_string())
            .collect(),
    )
}

/// The TOML embedded in a ConfigMap as the literal block scalar `ado-ingest.toml: |`.
fn configmap_toml(yaml: &str, file: &str) -> Result<String, String> {
    let block = block_under(yaml, "ado-ingest.toml: |").ok_or_else(|| {
        format!("{file}: no `ado-ingest.toml: |` block (the config file as a literal block)")
    })?;
    let text = block.join("\n");
    if text.trim().is_empty() {
        return Err(format!("{file}: the `ado-ingest.toml: |` block is empty"));
    }
    Ok(text)
}

/// Environment variable names defined as YAML list entries `- name: VAR` (a container's
/// `env:`); upper-case names only, which leaves out containers, ports and volumes.
fn k8s_env_names(yaml: &str) -> BTreeSet<String> {
    yaml.lines()
        .filter_map(|l| l.trim().strip_prefix("- name: "))
        .map(str::trim)
        .filter(|n| is_env_name(n))
        .map(str::to_string)
        .collect()
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The `KEY:` entries of the mapping nested under `header` (e.g. a Secret's `stringData:`).
fn mapping_keys(yaml: &str, header: &str, file: &str) -> Result<BTreeSet<String>, String> {
    let block =
        block_under(yaml, header).ok_or_else(|| format!("{file}: no `{header}` block found"))?;
    let keys: BTreeSet<String> = block
        .iter()
        .filter(|l| !l.starts_with(' ') && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim().to_string()))
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return Err(format!("{file}: the `{header}` block has no keys"));
    }
    Ok(keys)
}

/// The lines of compose.yaml's `ado-ingest` service (nested under `services:`).
fn compose_service(compose: &str) -> Result<String, String> {
    let services = block_under(compose, "services:")
        .ok_or("deploy/compose.yaml: no `services:` block")?
        .join("\n");
    let service = block_under(&services, "ado-ingest:")
        .ok_or("deploy/compose.yaml: no `ado-ingest:` service under `services:`")?;
    Ok(service.join("\n"))
}

/// Every one-line JSON-style flow sequence that follows `key` (`args: ["run", …]`), parsed.
/// Deploy files write commands this way so that they can be checked.
fn flow_sequences(text: &str, key: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(key))
        .filter_map(|rest| serde_json::from_str::<Vec<String>>(rest.trim()).ok())
        .collect()
}

/// The Dockerfile's instructions, continuation lines joined, comments and blanks dropped.
fn dockerfile_instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(t);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// The JSON array after the first `marker` in an instruction (`CMD [...]`).
fn exec_form(instruction: &str, marker: &str) -> Result<Vec<String>, String> {
    let at = instruction
        .find(marker)
        .ok_or_else(|| format!("`{marker}` not in `{instruction}`"))?;
    let rest = instruction[at + marker.len()..].trim();
    serde_json::from_str(rest).map_err(|e| {
        format!("`{instruction}`: not the exec form {marker}[\"…\", …] ({e}); use a JSON array")
    })
}

/// A command line as the image runs it: `argv[0]` is the binary (by path or name).
struct CommandLine {
    origin: String,
    argv: Vec<String>,
}

/// The command lines of the Dockerfile: ENTRYPOINT + CMD, and HEALTHCHECK's CMD.
fn dockerfile_commands(text: &str) -> Result<Vec<CommandLine>, String> {
    let instructions = dockerfile_instructions(text);
    // The last ENTRYPOINT/CMD of the last stage is what the image runs.
    let last = |word: &str| {
        instructions
            .iter()
            .rfind(|i| i.split_whitespace().next() == Some(word))
            .ok_or_else(|| format!("Dockerfile: no {word} instruction"))
    };
    let entrypoint = exec_form(last("ENTRYPOINT")?, "ENTRYPOINT")?;
    let cmd = exec_form(last("CMD")?, "CMD")?;
    let health = exec_form(last("HEALTHCHECK")?, "CMD")?;
    Ok(vec![
        CommandLine {
            origin: "Dockerfile ENTRYPOINT + CMD".into(),
            argv: entrypoint.into_iter().chain(cmd).collect(),
        },
        CommandLine {
            origin: "Dockerfile HEALTHCHECK".into(),
            argv: health,
        },
    ])
}

/// A YAML file's commands: each `key: [...]` line is the arguments of the image's entrypoint.
fn arg_lines(text: &str, file: &str, key: &str) -> Result<Vec<CommandLine>, String> {
    let found = flow_sequences(text, key);
    if found.is_empty() {
        return Err(format!(
            "{file}: no `{key} [\"…\", …]` line (the arguments as a one-line JSON-style list)"
        ));
    }
    Ok(found
        .into_iter()
        .map(|args| CommandLine {
            origin: format!("{file} {key}"),
            argv: std::iter::once("ado-ingest".to_string())
                .chain(args)
                .collect(),
        })
        .collect())
}

/// compose healthcheck `test: ["CMD", "/usr/local/bin/ado-ingest", …]` lines of a service.
fn compose_healthchecks(service: &str) -> Result<Vec<CommandLine>, String> {
    let found: Vec<CommandLine> = flow_sequences(service, "test:")
        .into_iter()
        .filter_map(|t| match t.split_first() {
            Some((first, argv)) if first == "CMD" => Some(CommandLine {
                origin: "deploy/compose.yaml healthcheck".into(),
                argv: argv.to_vec(),
            }),
            _ => None,
        })
        .collect();
    if found.is_empty() {
        return Err(
            "deploy/compose.yaml: ado-ingest has no healthcheck `test: [\"CMD\", …]`".into(),
        );
    }
    Ok(found)
}

/// Parses a command line with the real CLI; the binary must be `ado-ingest`.
fn parse(line: &CommandLine) -> Result<Cli, String> {
    let binary = line.argv.first().map(String::as_str).unwrap_or("");
    if Path::new(binary).file_name().and_then(|n| n.to_str()) != Some("ado-ingest") {
        return Err(format!(
            "{}: runs `{binary}`, not ado-ingest: {:?}",
            line.origin, line.argv
        ));
    }
    Cli::try_parse_from(&line.argv)
        .map_err(|e| format!("{}: ado-ingest rejects {:?}:\n{e}", line.origin, line.argv))
}

/// Parses and checks the subcommand (`expected`: its name) and, for the ones that load a
/// configuration, that `--config` names the mounted file.
fn check_command(line: &CommandLine, expected: &str) -> Result<Cli, String> {
    let cli = parse(line)?;
    let actual = match &cli.command {
        Command::Run => "run",
        Command::Sync => "sync",
        Command::Backfill => "backfill",
        Command::Migrate => "migrate",
        Command::Healthcheck { .. } => "healthcheck",
        #[allow(unreachable_patterns)]
        _ => "another subcommand",
    };
    if actual != expected {
        return Err(format!(
            "{}: expected `{expected}`, found `{actual}` in {:?}",
            line.origin, line.argv
        ));
    }
    if expected != "healthcheck" && cli.config.as_deref() != Some(Path::new(CONFIG_PATH)) {
        return Err(format!(
            "{}: --config must be {CONFIG_PATH} (where the config is mounted), not {:?}",
            line.origin, cli.config
        ));
    }
    Ok(cli)
}

/// The port of the healthcheck URL must be the one the service listens on.
fn check_healthcheck_port(cli: &Cli, listen: &str, origin: &str) {
    let Command::Healthcheck { url } = &cli.command else {
        unreachable!("checked by check_command");
    };
    let port = listen.rsplit(':').next().unwrap_or_default();
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{origin}: bad URL {url}: {e}"));
    assert_eq!(
        parsed
            .port_or_known_default()
            .map(|p| p.to_string())
            .as_deref(),
        Some(port),
        "{origin}: healthcheck asks {url} but the service listens on {listen}"
    );
}

/// Loads `text` with the real loader. Token references to environment variables cannot be
/// handed to it (it reads the process environment, which a test must not change while
/// others run), so: every problem the loader reports must be an `env:` variable that is not
/// set here *and* is among `supplied` (what the deployment sets); then the file is loaded
/// again with those connectors' tokens overridden by `ADO_INGEST__…`, which must succeed.
fn load_config(text: &str, file: &str, supplied: &BTreeSet<String>) -> Result<Settings, String> {
    let problems = match Settings::from_toml(Some(text), file, std::iter::empty()) {
        Ok(settings) => return Ok(settings),
        Err(config::Error::Invalid { problems, .. }) => problems,
        Err(e) => return Err(format!("{file} does not load: {e}")),
    };
    let mut overrides = Vec::new();
    let mut wrong = Vec::new();
    for p in &problems {
        // "connectors.repos.tokens[0]: environment variable ADO_REPOS_PAT is not set"
        let parsed = p.split_once(".tokens[").and_then(|(head, rest)| {
            let connector = head.strip_prefix("connectors.")?;
            let var = rest
                .split_once("environment variable ")?
                .1
                .strip_suffix(" is not set")?;
            Some((connector, var))
        });
        match parsed {
            Some((connector, var)) if supplied.contains(var) => overrides.push((
                format!(
                    "ADO_INGEST__CONNECTORS__{}__TOKENS",
                    connector.to_uppercase()
                ),
                "deploy-test-token".to_string(),
            )),
            Some((_, var)) => wrong.push(format!(
                "{p} — and the deployment does not set {var} (it sets {supplied:?})"
            )),
            None => wrong.push(p.clone()),
        }
    }
    if !wrong.is_empty() {
        return Err(format!(
            "{file} is not a valid configuration:\n  - {}",
            wrong.join("\n  - ")
        ));
    }
    Settings::from_toml(Some(text), file, overrides)
        .map_err(|e| format!("{file} does not load with its tokens supplied: {e}"))
}

/// What a container deployment needs from its config: the port the probes, the healthcheck
/// and the published port point at, and the database that replicas can share.
fn assert_listens_in_container(settings: &Settings, file: &str) {
    assert_eq!(
        settings.server.listen, "0.0.0.0:8080",
        "{file}: in a container the service must listen on 0.0.0.0:8080 (the published port, \
         the probes and the healthcheck point there)"
    );
    assert!(
        settings.database.url.starts_with("postgres"),
        "{file}: the deployments run replicas and a CronJob against one database: PostgreSQL, \
         not {}",
        config::redact_url(&settings.database.url)
    );
}

/// Unwraps a check's result; the panic points at the failing check, not here.
#[track_caller]
fn ok<T>(r: Result<T, String>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn kubernetes_config_loads_and_its_tokens_come_from_the_secret() {
    let file = "deploy/kubernetes/configmap.yaml";
    let text = ok(configmap_toml(&repo_file(file), file));
    let secret = ok(mapping_keys(
        &repo_file("deploy/kubernetes/secret.example.yaml"),
        "stringData:",
        "deploy/kubernetes/secret.example.yaml",
    ));
    for workload in [
        "deploy/kubernetes/deployment.yaml",
        "deploy/kubernetes/cronjob.yaml",
    ] {
        let supplied = k8s_env_names(&repo_file(workload));
        let settings = ok(load_config(
            &text,
            &format!("{file} (run by {workload})"),
            &supplied,
        ));
        assert_listens_in_container(&settings, file);
        // The database password is not in the URL: PostgreSQL's client reads PGPASSWORD.
        assert!(
            supplied.contains("PGPASSWORD"),
            "{workload}: sets no PGPASSWORD, and the database URL in {file} has no password"
        );
        let missing: Vec<_> = supplied.difference(&secret).collect();
        assert!(
            missing.is_empty(),
            "{workload} reads {missing:?} from the Secret, which secret.example.yaml does not define"
        );
    }
}

#[test]
fn compose_config_loads_and_its_tokens_come_from_compose() {
    let file = "deploy/ado-ingest.toml";
    let service = ok(compose_service(&repo_file("deploy/compose.yaml")));
    let supplied = ok(mapping_keys(
        &service,
        "environment:",
        "deploy/compose.yaml (service ado-ingest)",
    ));
    let settings = ok(load_config(&repo_file(file), file, &supplied));
    assert_listens_in_container(&settings, file);
    assert!(
        supplied.contains("PGPASSWORD"),
        "deploy/compose.yaml: ado-ingest gets no PGPASSWORD, and {file} has no password"
    );
    assert!(
        service.contains(&format!("./ado-ingest.toml:{CONFIG_PATH}:ro")),
        "deploy/compose.yaml: {file} is not mounted read-only at {CONFIG_PATH}"
    );
}

#[test]
fn every_command_line_in_the_deploy_files_is_accepted_by_the_cli() {
    let listen = "0.0.0.0:8080";
    let docker = ok(dockerfile_commands(&repo_file("Dockerfile")));
    let service = ok(check_command(&docker[0], "run"));
    assert_eq!(service.connectors, Vec::<String>::new());
    let health = ok(check_command(&docker[1], "healthcheck"));
    check_healthcheck_port(&health, listen, &docker[1].origin);

    let compose = ok(compose_service(&repo_file("deploy/compose.yaml")));
    for line in ok(arg_lines(&compose, "deploy/compose.yaml", "command:")) {
        ok(check_command(&line, "run"));
    }
    for line in ok(compose_healthchecks(&compose)) {
        let cli = ok(check_command(&line, "healthcheck"));
        check_healthcheck_port(&cli, listen, &line.origin);
    }

    for (file, expected) in [
        ("deploy/kubernetes/deployment.yaml", "run"),
        ("deploy/kubernetes/cronjob.yaml", "sync"),
    ] {
        for line in ok(arg_lines(&repo_file(file), file, "args:")) {
            ok(check_command(&line, expected));
        }
    }
}

/// The checks above would catch a renamed subcommand or flag, a command that is not
/// ado-ingest, and a file that lost the block they read (instead of passing vacuously).
#[test]
fn the_deploy_checks_can_fail() {
    let renamed = "ENTRYPOINT [\"/usr/local/bin/ado-ingest\"]\nCMD [\"serve\", \"--config\", \
                   \"/etc/ado-ingest/ado-ingest.toml\"]\nHEALTHCHECK CMD [\"ado-ingest\", \"healthcheck\"]\n";
    let lines = ok(dockerfile_commands(renamed));
    let err = check_command(&lines[0], "run").unwrap_err();
    assert!(err.contains("rejects"), "{err}");

    let flag = "args: [\"run\", \"--config-file\", \"/etc/ado-ingest/ado-ingest.toml\"]";
    let line = &ok(arg_lines(flag, "x.yaml", "args:"))[0];
    assert!(check_command(line, "run").is_err());

    let other_config = "args: [\"sync\", \"--config\", \"/etc/other.toml\"]";
    let line = &ok(arg_lines(other_config, "x.yaml", "args:"))[0];
    assert!(
        check_command(line, "sync")
            .unwrap_err()
            .contains("--config")
    );

    let curl = "HEALTHCHECK CMD [\"curl\", \"-f\", \"http://localhost:8080/healthz\"]";
    let line = CommandLine {
        origin: "x".into(),
        argv: exec_form(curl, "CMD").unwrap(),
    };
    assert!(parse(&line).unwrap_err().contains("not ado-ingest"));

    let shell_form = "ENTRYPOINT ado-ingest\nCMD run\nHEALTHCHECK CMD ado-ingest healthcheck\n";
    assert!(dockerfile_commands(shell_form).is_err());
    assert!(arg_lines("args:\n  - run\n", "x.yaml", "args:").is_err());
    assert!(configmap_toml("data:\n  config.toml: |\n    x = 1\n", "x.yaml").is_err());
    assert!(compose_service("services:\n  other:\n    image: x\n").is_err());

    // A config whose token variable the deployment does not set.
    let toml = ok(configmap_toml(
        &repo_file("deploy/kubernetes/configmap.yaml"),
        "configmap.yaml",
    ));
    let unset = load_config(&toml, "configmap.yaml", &BTreeSet::new());
    assert!(
        unset.is_err() || std::env::var_os("ADO_REPOS_PAT").is_some(),
        "a token variable that nothing sets went unnoticed"
    );
}

#[test]
fn block_reader_takes_the_nested_lines_only() {
    let yaml = "a:\n  b: |\n    x = 1\n\n    [s]\n    y = 2\n  c: 3\nd: 4\n";
    assert_eq!(
        block_under(yaml, "b: |").unwrap(),
        vec!["x = 1", "", "[s]", "y = 2"]
    );
    assert_eq!(
        mapping_keys(yaml, "a:", "t").unwrap(),
        BTreeSet::from(["b".to_string(), "c".to_string()])
    );
}
