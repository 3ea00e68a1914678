//! A strict parser of the Prometheus text exposition format (0.0.4), for checking `/metrics`:
//! every line is a `# HELP`, a `# TYPE` or a sample; a sample's family is declared (`TYPE`)
//! before it; names and label names are valid; label values are quoted with the format's
//! escapes; values are floats; no series appears twice.

use std::collections::{BTreeMap, HashSet};

/// One sample: family name (without `_bucket`/`_sum`/`_count` handling: we emit none), its
/// labels, its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition.
#[derive(Debug, Default)]
pub struct Exposition {
    pub types: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The value of `name` with exactly these labels (among its others), if present.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }

    /// The sum of `name` over every series matching `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }
}

fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses `text`, or says which line is wrong and why.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    let mut helped = HashSet::new();
    let mut seen = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let err = |why: &str| format!("line {}: {why}: {line:?}", i + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("HELP"), Some(name), Some(_)) if valid_name(name) => {
                    if !helped.insert(name.to_string()) {
                        return Err(err("second HELP for a family"));
                    }
                }
                (Some("TYPE"), Some(name), Some(kind)) if valid_name(name) => {
                    if !matches!(
                        kind,
                        "counter" | "gauge" | "histogram" | "summary" | "untyped"
                    ) {
                        return Err(err("unknown type"));
                    }
                    if out
                        .types
                        .insert(name.to_string(), kind.to_string())
                        .is_some()
                    {
                        return Err(err("second TYPE for a family"));
                    }
                }
                _ => return Err(err("a comment that is neither HELP nor TYPE")),
            }
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(at) => line.split_at(at),
            None => return Err(err("no value")),
        };
        if !valid_name(name) {
            return Err(err("invalid metric name"));
        }
        if !out.types.contains_key(name) {
            return Err(err("sample before its family's TYPE"));
        }
        let mut labels = BTreeMap::new();
        let mut rest = rest;
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end = loop {
                // label name
                let start = match chars.peek() {
                    Some((j, '}')) => break *j,
                    Some((j, _)) => *j,
                    None => return Err(err("unterminated labels")),
                };
                let mut eq = None;
                for (j, c) in chars.by_ref() {
                    if c == '=' {
                        eq = Some(j);
                        break;
                    }
                }
                let eq = eq.ok_or_else(|| err("label without ="))?;
                let key = &body[start..eq];
                if !valid_name(key) || key.starts_with("__") {
                    return Err(err("invalid label name"));
                }
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(err("label value not quoted"));
                }
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'n')) => value.push('\n'),
                            _ => return Err(err("bad escape in label value")),
                        },
                        Some((_, '"')) => break,
                        Some((_, '\n')) | None => return Err(err("unterminated label value")),
                        Some((_, c)) => value.push(c),
                    }
                }
                if labels.insert(key.to_string(), value).is_some() {
                    return Err(err("label given twice"));
                }
                match chars.next() {
                    Some((_, ',')) => continue,
                    Some((j, '}')) => break j,
                    _ => return Err(err("expected , or } after a label")),
                }
            };
            rest = &body[end + 1..];
        }
        let mut fields = rest.split_whitespace();
        let value = fields.next().ok_or_else(|| err("no value"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().map_err(|_| err("value is not a float"))?,
        };
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .map_err(|_| err("timestamp is not an integer"))?;
        }
        if fields.next().is_some() {
            return Err(err("trailing text"));
        }
        if out.types[name] == "counter" && value < 0.0 {
            return Err(err("a negative counter"));
        }
        let series = format!("{name}{labels:?}");
        if !seen.insert(series) {
            return Err(err("a series given twice"));
        }
        out.samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(out)
}

#[test]
fn the_parser_rejects_what_prometheus_rejects() {
    let ok = "# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"q\\\"uote\",y=\"\"} 3\n";
    let e = parse(ok).unwrap();
    assert_eq!(e.value("a_total", &[("x", "q\"uote")]), Some(3.0));
    for bad in [
        "a_total 1\n",                      // no TYPE
        "# TYPE a counter\na{x=\"1\" 2\n",  // unterminated
        "# TYPE a counter\na{x=1} 2\n",     // unquoted
        "# TYPE a counter\na 1\na 2\n",     // duplicate series
        "# TYPE a counter\na one\n",        // not a float
        "# TYPE a counter\na -1\n",         // negative counter
        "# TYPE 1a gauge\n",                // bad name
        "# TYPE a gauge\na{x=\"\\q\"} 1\n", // bad escape
        "# comment\n",                      // stray comment
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}
