//! The harness of the end-to-end browser tests: the local server in-process on a free port,
//! and headless Chromium driven over WebDriver (thirtyfour talking to a chromedriver this
//! harness starts on a free loopback port, and kills when done).
//!
//! Chromium and chromedriver are Debian's `chromium` and `chromium-driver`
//! (`infra/browser/ensure.sh` installs them; `make test` runs it). When either is missing,
//! a browser test fails saying how to install it. `STELLER_CHROMIUM` and
//! `STELLER_CHROMEDRIVER` point elsewhere. Screenshots go to
//! `target/browser/<test name>/<name>.png` under the workspace root.
#![allow(dead_code)] // each browser test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use steller::Store;
use steller::email::Outbox;
use steller_local::{Engine, Options};
use thirtyfour::prelude::*;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The ops key the local server registers at start-up.
pub const OPS_KEY: &str = "stl_ops_browser0123456789abcdefghijklmnopqrstuv";
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// How long one WebDriver call, or one wait for the page, may take before the test fails
/// rather than hangs.
const PATIENCE: Duration = Duration::from_secs(30);

const HOW_TO_INSTALL: &str = "install them with `infra/browser/ensure.sh` (as root or with sudo; `make test` runs it), \
     i.e. `sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium chromium-driver`, \
     or point STELLER_CHROMIUM and STELLER_CHROMEDRIVER at a Chromium and the chromedriver of its version";

fn executable(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// Chromium, and the chromedriver to drive it.
pub fn binaries() -> (PathBuf, PathBuf) {
    (executable("STELLER_CHROMIUM", "/usr/bin/chromium"), executable("STELLER_CHROMEDRIVER", "/usr/bin/chromedriver"))
}

/// Ok when both exist, else what is missing and how to install it.
pub fn installed(chromium: &Path, chromedriver: &Path) -> Result<(), String> {
    let missing: Vec<String> =
        [chromium, chromedriver].iter().filter(|path| !path.is_file()).map(|path| path.display().to_string()).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the browser tests need Chromium and chromedriver, and {} is missing: {HOW_TO_INSTALL}",
            missing.join(" and ")
        ))
    }
}

/// The folder of a test's screenshots: `target/browser/<test>` under the workspace root.
pub fn screenshot_folder(test: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/browser")).join(test)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("a bound address").port()
}

/// A chromedriver process, killed when dropped.
struct Chromedriver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Chromedriver {
    async fn start(binary: &Path, log: PathBuf) -> Self {
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}; {HOW_TO_INSTALL}", binary.display()));
        let mut driver = Chromedriver { child, url: format!("http://127.0.0.1:{port}"), log };
        driver.wait_until_ready().await;
        driver
    }

    async fn wait_until_ready(&mut self) {
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            let status = http.get(format!("{}/status", self.url)).send().await;
            if let Ok(response) = status
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return;
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("chromedriver exited at start-up ({exit}); see {}", self.log.display());
            }
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver is not ready after {PATIENCE:?}; see {}",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder deleted when dropped: Chromium's profile, new for every session, so no state
/// leaks between tests.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Self {
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed);
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("chromium-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a profile folder");
        Profile(path)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A headless Chromium session. Fields drop in order: the session quits while its
/// chromedriver still runs, then chromedriver is killed, then the profile is deleted.
pub struct Browser {
    driver: Option<WebDriver>,
    chromedriver: Chromedriver,
    profile: Profile,
    screenshots: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at desktop size, for the test named
    /// `test` (its screenshots' folder). Fails, saying how to install them, when Chromium
    /// or chromedriver is missing.
    pub async fn start(test: &str) -> Self {
        let (chromium, chromedriver) = binaries();
        if let Err(missing) = installed(&chromium, &chromedriver) {
            panic!("{missing}");
        }
        let screenshots = screenshot_folder(test);
        std::fs::create_dir_all(&screenshots).expect("the screenshot folder");
        let chromedriver = Chromedriver::start(&chromedriver, screenshots.join("chromedriver.log")).await;
        let profile = Profile::new();

        let mut capabilities = DesiredCapabilities::chrome();
        capabilities.set_binary(&chromium.to_string_lossy()).expect("a binary path");
        // As root Chromium needs --no-sandbox; the rest keep it from calling Google (sync,
        // component updates, field trials), which hangs or fails on a closed network.
        let profile_arg = format!("--user-data-dir={}", profile.0.display());
        let size_arg = format!("--window-size={},{}", DESKTOP.0, DESKTOP.1);
        for arg in [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            &profile_arg,
            &size_arg,
        ] {
            capabilities.add_arg(arg).expect("a Chromium argument");
        }
        let driver = WebDriver::builder(chromedriver.url.as_str(), capabilities)
            .request_timeout(PATIENCE)
            .await
            .unwrap_or_else(|error| panic!("no Chromium session: {error}; see {}", chromedriver.log.display()));
        driver.set_page_load_timeout(PATIENCE).await.expect("a page-load timeout");
        let browser = Browser { driver: Some(driver), chromedriver, profile, screenshots };
        browser.desktop().await;
        browser
    }

    pub fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("the session is open until quit")
    }

    pub async fn goto(&self, url: &str) {
        self.driver().goto(url).await.unwrap_or_else(|error| panic!("opening {url}: {error}"));
    }

    /// Lays the page out in a `width` × `height` CSS-pixel viewport, as a phone does when
    /// `mobile` (the page's `<meta name="viewport">` counts) or a desktop window.
    pub async fn viewport(&self, (width, height): (u32, u32), mobile: bool) {
        let emulation = self.driver().cdp();
        let set = emulation.emulation().set_device_metrics_override(width, height, 1.0, mobile).await;
        set.unwrap_or_else(|error| panic!("a {width}x{height} viewport: {error}"));
    }

    /// A 1280 × 900 desktop viewport (the size each session starts at).
    pub async fn desktop(&self) {
        self.viewport(DESKTOP, false).await;
    }

    /// A 390 × 844 phone viewport.
    pub async fn phone(&self) {
        self.viewport(PHONE, true).await;
    }

    /// Runs `script` (a function body; `return` gives its value) in the page.
    pub async fn script(&self, script: &str) -> Value {
        let result = self.driver().execute(script, Vec::new()).await;
        result.unwrap_or_else(|error| panic!("running {script}: {error}")).json().clone()
    }

    /// Waits until `script` returns `true`, failing with `describe`'s value when it has
    /// not after a while.
    pub async fn wait_until(&self, script: &str, describe: &str) {
        let started = Instant::now();
        while self.script(script).await != Value::Bool(true) {
            if started.elapsed() > PATIENCE {
                panic!("still not ({script}) after {PATIENCE:?}: {}", self.script(describe).await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The first element `css` selects, failing with the page's text when there is none.
    pub async fn find(&self, css: &str) -> WebElement {
        match self.driver().find(By::Css(css)).await {
            Ok(element) => element,
            Err(error) => panic!("no `{css}` on {}: {error}\n{}", self.path().await, self.text("body").await),
        }
    }

    /// The visible text of the first element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        let element = self.driver().find(By::Css(css)).await;
        let element = element.unwrap_or_else(|error| panic!("no `{css}`: {error}"));
        element.text().await.unwrap_or_else(|error| panic!("the text of `{css}`: {error}"))
    }

    /// The page's path and query, such as `/dashboard/sandbox?cursor=…`.
    pub async fn path(&self) -> String {
        let url = self.driver().current_url().await.expect("the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The page's `<h1>`.
    pub async fn heading(&self) -> String {
        self.text("h1").await
    }

    /// Types `text` into the field `css` selects, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|error| panic!("clearing `{css}`: {error}"));
        field.send_keys(text).await.unwrap_or_else(|error| panic!("typing into `{css}`: {error}"));
    }

    /// Runs `act` (a click or a key that submits a form) and waits until the next page has
    /// loaded: a marker set on this page's window is gone, and the new one is complete.
    pub async fn navigates<F: std::future::Future<Output = WebDriverResult<()>>>(&self, what: &str, act: F) {
        self.script("window.__stellerLeaving = true; return true").await;
        act.await.unwrap_or_else(|error| panic!("{what}: {error}"));
        self.wait_until(
            "return window.__stellerLeaving !== true && document.readyState === 'complete'",
            "return location.href + ' ' + document.readyState",
        )
        .await;
    }

    /// Clicks the element `css` selects (a submit button or a link) and waits for the page
    /// it leads to.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.navigates(&format!("clicking `{css}`"), element.click()).await;
    }

    /// Every form control of the page without a label (`<label for>`, a wrapping label or
    /// `aria-label`), and every button without a name: what a screen reader could not
    /// announce.
    pub async fn unlabelled(&self) -> Vec<String> {
        let found = self
            .script(
                "return Array.from(document.querySelectorAll('input:not([type=hidden]), textarea, select, button'))
                    .filter(el => el.tagName === 'BUTTON'
                        ? !(el.textContent.trim() || el.getAttribute('aria-label'))
                        : !((el.labels && el.labels.length) || el.getAttribute('aria-label')))
                    .map(el => el.outerHTML)",
            )
            .await;
        serde_json::from_value(found).expect("a list of elements")
    }

    /// How much wider than the viewport the page is laid out, in CSS pixels (0 when nothing
    /// needs scrolling sideways).
    pub async fn overflow(&self) -> i64 {
        let found = self.script("return document.documentElement.scrollWidth - window.innerWidth").await;
        found.as_i64().expect("a number of pixels")
    }

    /// Saves the page as `target/browser/<test>/<name>.png` and returns the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.driver().screenshot_as_png().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
        path
    }

    /// Ends the session (and Chromium), then chromedriver.
    pub async fn quit(mut self) {
        if let Some(driver) = self.driver.take() {
            driver.quit().await.expect("the session ends");
        }
    }
}

/// The width and height of a PNG file, from its header.
pub fn png_size(path: &Path) -> (u32, u32) {
    let png = std::fs::read(path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let number = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().expect("four bytes"));
    assert!(png.len() > 24 && png.starts_with(b"\x89PNG"), "{} is not a PNG", path.display());
    (number(16), number(20))
}

/// How often the in-process server's analytics run: often, so a usage page shows the
/// requests a test just made within a second or so.
pub const ANALYTICS_INTERVAL: Duration = Duration::from_millis(300);

/// The local server (`steller_local::serve`) in-process on a free port: in-memory storage,
/// with `OPS_KEY` registered.
pub struct LocalServer {
    pub base: String,
    /// Every email the server sent (sign-in codes among them).
    pub outbox: Outbox,
    /// The store the server runs on, to set up what no page can.
    pub store: Store,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl LocalServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let options = Options {
            engine: Engine::Embedded(None),
            table_prefix: "steller-local".into(),
            ops_key: Some(OPS_KEY.into()),
            analytics_interval: ANALYTICS_INTERVAL,
            webhook_retry_scale: 1.0,
            client_timeout: steller_local::DEFAULT_CLIENT_TIMEOUT,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, is_ready) = oneshot::channel::<(Option<Outbox>, Store)>();
        let task = tokio::spawn(steller_local::serve(
            options,
            listener,
            move |running| {
                let _ = ready.send((running.outbox.clone(), running.store.clone()));
            },
            async move {
                let _ = stopped.await;
            },
        ));
        let Ok((outbox, store)) = is_ready.await else {
            let outcome = task.await.expect("the server task ends");
            panic!("the local server did not start: {outcome:?}");
        };
        let outbox = outbox.expect("the embedded engine prints emails to an outbox");
        LocalServer { base, outbox, store, stop: Some(stop), task }
    }

    /// The code in the last sign-in email sent to `email`. The email leaves after the
    /// page is answered (as on Lambda), so this waits a little for it.
    pub async fn last_code(&self, email: &str) -> Option<String> {
        let started = Instant::now();
        loop {
            let code = self
                .outbox
                .sent()
                .iter()
                .rev()
                .filter(|sent| sent.to == email)
                .find_map(|sent| sent.subject.strip_prefix("Your Steller sign-in code: ").map(str::to_owned));
            if code.is_some() || started.elapsed() > Duration::from_secs(5) {
                return code;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server and fails if it did not stop cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.expect("the server task ends").expect("the server stops cleanly");
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[test]
fn a_missing_browser_fails_saying_how_to_install_it() {
    let nowhere = Path::new("/nonexistent/chromium");
    let error = installed(nowhere, nowhere).expect_err("nothing is installed there");
    assert!(error.contains("/nonexistent/chromium"), "{error}");
    assert!(error.contains("infra/browser/ensure.sh"), "{error}");
    assert!(error.contains("apt-get install -y --no-install-recommends chromium chromium-driver"), "{error}");
}
