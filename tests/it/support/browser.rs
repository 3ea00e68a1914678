//! Headless Chromium (Debian's `chromium`) for the status page: a screenshot at a window
//! size, the DOM after load, the console messages the page caused (Chromium prints them on
//! stderr with `--enable-logging=stderr`), and a layout probe that measures horizontal
//! overflow at a given width. Each call is one short-lived browser with its own profile.
//!
//! When Chromium is not installed, [`Chromium::find`] prints a notice and gives `None` so the
//! caller skips — unless `REQUIRE_CHROMIUM=1`, then it panics (CI installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one browser run may take.
const PATIENCE: Duration = Duration::from_secs(90);

pub struct Chromium {
    path: PathBuf,
}

/// What one load of a page gave.
pub struct Load {
    /// `--dump-dom`'s output (empty for a screenshot).
    pub dom: String,
    /// The console lines (`…:CONSOLE…`) on Chromium's stderr: page errors, uncaught
    /// exceptions, blocked resources. A page without scripts should cause none.
    pub console: Vec<String>,
}

/// What the layout probe measured inside a frame of the given width.
#[derive(Debug)]
pub struct Overflow {
    /// The document's scrollable width and its visible width, in CSS pixels.
    pub scroll_width: u32,
    pub client_width: u32,
    /// Elements whose right edge lies past the visible width (`tag.class`).
    pub wide: Vec<String>,
}

impl Chromium {
    /// The installed browser, or `None` with a notice; panics when it is missing and
    /// `REQUIRE_CHROMIUM=1`.
    pub fn find() -> Option<Chromium> {
        let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        });
        match found {
            Some(path) => Some(Chromium { path }),
            None if std::env::var("REQUIRE_CHROMIUM").as_deref() == Ok("1") => {
                panic!(
                    "REQUIRE_CHROMIUM=1 but chromium is not installed (apt-get install chromium)"
                )
            }
            None => {
                eprintln!(
                    "chromium is not installed: skipping the browser checks of this test \
                     (apt-get install chromium; REQUIRE_CHROMIUM=1 makes this a failure)"
                );
                None
            }
        }
    }

    /// Runs the browser on `url` with `args` and the common headless flags.
    fn run(&self, size: (u32, u32), args: &[String], url: &str) -> Load {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(&self.path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--disable-extensions",
                "--enable-logging=stderr",
            ])
            .arg(format!("--window-size={},{}", size.0, size.1))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.path.display()));
        // Read both pipes on threads so a chatty browser cannot block on a full pipe.
        let mut out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut out, &mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut s);
            s
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for chromium") {
                break status;
            }
            if started.elapsed() > PATIENCE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium took more than {PATIENCE:?} on {url}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let dom = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        assert!(status.success(), "chromium on {url}: {status}\n{stderr}");
        Load {
            dom,
            console: stderr
                .lines()
                .filter(|l| l.contains(":CONSOLE"))
                .map(str::to_string)
                .collect(),
        }
    }

    /// Saves a PNG of `url` at `size` (CSS pixels, device scale 1) to `path`.
    pub fn screenshot(&self, url: &str, size: (u32, u32), path: &Path) -> Load {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        let _ = std::fs::remove_file(path);
        let load = self.run(
            size,
            &[
                "--force-device-scale-factor=1".into(),
                format!("--screenshot={}", path.display()),
            ],
            url,
        );
        let png = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1_000,
            "{} is not a PNG of a rendered page",
            path.display()
        );
        load
    }

    /// The DOM of `url` after it loaded.
    pub fn dump_dom(&self, url: &str, size: (u32, u32)) -> Load {
        self.run(size, &["--dump-dom".into()], url)
    }

    /// Lays `html` out in a frame `width` CSS pixels wide and reports what overflows it.
    ///
    /// Headless Chromium keeps its window at least 500 px wide when it dumps the DOM, so a
    /// phone width cannot be had from `--window-size` alone: the page goes into an `iframe`
    /// of exactly that width (a `srcdoc` frame, same-origin with the probe) and a script of
    /// the probe's own — the page has none — measures it once it loaded.
    pub fn overflow(&self, html: &str, width: u32) -> Overflow {
        let dir = tempfile::tempdir().expect("probe dir");
        let probe = dir.path().join("probe.html");
        let srcdoc = html.replace('&', "&amp;").replace('"', "&quot;");
        std::fs::write(
            &probe,
            format!(
                r#"<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="page" style="border:0;width:{width}px;height:900px" srcdoc="{srcdoc}"></iframe>
<pre id="result">not measured</pre>
<script>
const frame = document.getElementById("page");
function measure() {{
  const doc = frame.contentDocument;
  const visible = doc.documentElement.clientWidth;
  const wide = [];
  for (const e of doc.body.querySelectorAll("*")) {{
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > visible + 0.5) {{
      wide.push(e.tagName.toLowerCase() + (e.className ? "." + String(e.className).trim().split(/\s+/).join(".") : ""));
    }}
  }}
  document.getElementById("result").textContent =
    "scroll=" + doc.documentElement.scrollWidth + " client=" + visible + " wide=" + wide.join(",");
}}
if (frame.contentDocument && frame.contentDocument.readyState === "complete" && frame.contentDocument.body && frame.contentDocument.body.childElementCount > 0) measure();
else frame.addEventListener("load", measure);
</script></body></html>"#
            ),
        )
        .expect("write probe");
        let url = format!("file://{}", probe.display());
        let load = self.dump_dom(&url, (width + 100, 1000));
        assert!(
            load.console.is_empty(),
            "the probe or the page logged: {:?}",
            load.console
        );
        let result = load
            .dom
            .split("<pre id=\"result\">")
            .nth(1)
            .and_then(|s| s.split("</pre>").next())
            .unwrap_or_else(|| panic!("no probe result in:\n{}", load.dom));
        let field = |name: &str| {
            result
                .split(' ')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("probe did not measure: {result}"))
                .to_string()
        };
        Overflow {
            scroll_width: field("scroll").parse().expect("scroll width"),
            client_width: field("client").parse().expect("client width"),
            wide: field("wide")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}
