//! Load mode for the API access profile: N concurrent clients, each signed
//! in once, then refreshing their tokens (RFC 6749 6) and calling the
//! resource API gateway with the new access token, bounded in count and
//! time and on loopback only. It reports the throughput, the latency
//! percentiles of the IdP's token endpoint and of the whole call (refresh
//! plus API call), and the errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use tokio::sync::{Barrier, Semaphore};
use url::Url;

use crate::http::HttpClient;
use crate::login::Credentials;
use crate::oidc::discovery::Discovery;
use crate::oidc::token::{ClientAuth, form};
use crate::secret::{Scrubber, Secret};
use crate::targets::TargetInfo;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Concurrent clients.
    pub clients: usize,
    /// Refresh-and-call iterations per client.
    pub iterations: usize,
    /// No iteration starts after this much time in the measured phase.
    pub max_duration: Duration,
    /// The realm client role the clients use.
    pub role: String,
    /// The scope they sign in with.
    pub scope: String,
    /// The API path they call.
    pub path: String,
    /// Logins run at most this many at a time.
    pub login_concurrency: usize,
    /// Unmeasured refresh-and-call iterations per client before the
    /// measured ones: they open the connections, so that the figures are
    /// of a warm system rather than of a thousand simultaneous TCP
    /// handshakes.
    pub warmup: usize,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples`.
    #[must_use]
    pub fn of(mut samples: Vec<Duration>) -> Percentiles {
        samples.sort_unstable();
        let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
        let rank = |p: f64| {
            if samples.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest sample with at least p% at or below it.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
            let idx = ((p / 100.0) * samples.len() as f64).ceil() as usize;
            ms(samples[idx.clamp(1, samples.len()) - 1])
        };
        Percentiles {
            count: samples.len(),
            p50_ms: rank(50.0),
            p95_ms: rank(95.0),
            p99_ms: rank(99.0),
            max_ms: samples.last().copied().map_or(0.0, ms),
        }
    }
}

/// The figures of one load run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Target name.
    pub target: String,
    /// Concurrent clients.
    pub clients: usize,
    /// Iterations each client was asked for.
    pub iterations: usize,
    /// The client role.
    pub role: String,
    /// Seconds the logins took (not measured further).
    pub login_secs: f64,
    /// Seconds of the measured phase.
    pub wall_secs: f64,
    /// Whole calls completed per second (successful or not).
    pub calls_per_sec: f64,
    /// The token endpoint's refresh latency.
    pub token_endpoint: Percentiles,
    /// The whole call: refresh plus API call.
    pub whole_call: Percentiles,
    /// Iterations that completed.
    pub calls: usize,
    /// Iterations that failed, by reason.
    pub errors: std::collections::BTreeMap<String, usize>,
    /// Iterations not started because the time bound was reached.
    pub not_started: usize,
    /// Unmeasured warm-up iterations per client.
    pub warmup: usize,
    /// Warm-up iterations that failed (not in `errors`).
    pub warmup_errors: usize,
}

impl LoadReport {
    /// Total errors.
    #[must_use]
    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    /// The report as lines for the console.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        let p = |x: &Percentiles| {
            format!("p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms", x.p50_ms, x.p95_ms, x.p99_ms, x.max_ms)
        };
        let mut out = vec![
            format!(
                "{}: {} concurrent clients ({}), {} calls in {:.2} s: {:.0} calls/s; {} logins took {:.2} s",
                self.target,
                self.clients,
                self.role,
                self.calls,
                self.wall_secs,
                self.calls_per_sec,
                self.clients,
                self.login_secs
            ),
            format!("  token endpoint (refresh): {}", p(&self.token_endpoint)),
            format!("  whole call (refresh + API): {}", p(&self.whole_call)),
        ];
        if self.errors.is_empty() {
            out.push("  errors: 0".into());
        } else {
            for (why, n) in &self.errors {
                out.push(format!("  errors: {n} x {why}"));
            }
        }
        if self.warmup_errors > 0 {
            out.push(format!("  {} of the unmeasured warm-up iterations failed", self.warmup_errors));
        }
        if self.not_started > 0 {
            out.push(format!("  {} iterations not started: the time bound was reached", self.not_started));
        }
        out
    }
}

/// A signed-in client: its refresh token.
struct Session {
    refresh_token: String,
}

/// Signs one client in through the login page and redeems the code.
async fn sign_in(
    target: &TargetInfo,
    discovery: &Discovery,
    client: &kensa_mocks::realm::Client,
    scope: &str,
) -> anyhow::Result<Session> {
    // A scrubber of its own: the run's would grow by every client's code
    // and tokens, and rebuild its matcher for each. Errors are scrubbed
    // with it before they leave.
    let scrubber = Scrubber::new();
    scrubber.register(&client.client_secret.clone().unwrap_or_default());
    let result = sign_in_with(target, discovery, &scrubber, client, scope).await;
    result.map_err(|e| anyhow!(scrubber.scrub(&format!("{e:#}"))))
}

async fn sign_in_with(
    target: &TargetInfo,
    discovery: &Discovery,
    scrubber: &Scrubber,
    client: &kensa_mocks::realm::Client,
    scope: &str,
) -> anyhow::Result<Session> {
    let user = target.user().map_err(|e| anyhow!(e))?;
    let creds = Credentials { username: user.username.clone(), password: Secret::new(&user.password) };
    let s = crate::oidc::flow::SignIn {
        discovery,
        client,
        creds: &creds,
        driver: &target.login,
        http: &target.http,
        scope,
    };
    let resp = crate::oidc::flow::sign_in(&s, scrubber).await?;
    let rt = resp
        .get("refresh_token")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| anyhow!("the code exchange gave no refresh token"))?;
    Ok(Session { refresh_token: rt.to_owned() })
}

/// One iteration's outcome.
enum Step {
    Done { token: Duration, whole: Duration },
    Failed { why: String, token: Option<Duration>, whole: Duration },
}

/// Refreshes and calls the API once; returns the new refresh token too.
async fn iterate(
    http: &reqwest::Client,
    token_endpoint: &Url,
    auth: &ClientAuth,
    api_url: &str,
    session: &mut Session,
) -> Step {
    let started = Instant::now();
    let f = form(&[("grant_type", "refresh_token"), ("refresh_token", &session.refresh_token)]);
    let request = match auth {
        ClientAuth::Basic { client_id, secret } => {
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            http.post(token_endpoint.clone()).basic_auth(enc(client_id), Some(enc(secret.expose()))).form(&f)
        }
        ClientAuth::Post { client_id, secret } => {
            let mut f = f.clone();
            f.push(("client_id".into(), client_id.clone()));
            f.push(("client_secret".into(), secret.expose().to_owned()));
            http.post(token_endpoint.clone()).form(&f)
        }
        ClientAuth::None { client_id } => {
            let mut f = f.clone();
            f.push(("client_id".into(), client_id.clone()));
            http.post(token_endpoint.clone()).form(&f)
        }
        ClientAuth::Anonymous => http.post(token_endpoint.clone()).form(&f),
    };
    let response = request.header("accept", "application/json").send().await;
    let token_time = started.elapsed();
    let fail = |why: String, token: Option<Duration>| Step::Failed { why, token, whole: started.elapsed() };
    let response = match response {
        Ok(r) => r,
        Err(e) => return fail(format!("token endpoint unreachable ({})", short(&e)), None),
    };
    let status = response.status().as_u16();
    let body: serde_json::Value = match response.json().await {
        Ok(b) => b,
        Err(_) => return fail(format!("token endpoint {status} without JSON"), Some(token_time)),
    };
    let Some(access) = body.get("access_token").and_then(serde_json::Value::as_str) else {
        let error = body.get("error").and_then(serde_json::Value::as_str).unwrap_or("no access_token");
        return fail(format!("refresh {status} {error}"), Some(token_time));
    };
    if let Some(rt) = body.get("refresh_token").and_then(serde_json::Value::as_str) {
        rt.clone_into(&mut session.refresh_token);
    }
    match http.get(api_url).bearer_auth(access).send().await {
        Ok(r) if r.status().is_success() => {
            // Read the body so that the connection is reused.
            let _ = r.bytes().await;
            Step::Done { token: token_time, whole: started.elapsed() }
        }
        Ok(r) => {
            let status = r.status().as_u16();
            let challenge = r
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .and_then(|c| c.split("error=").nth(1))
                .map(|e| e.split(',').next().unwrap_or(e).trim_matches('"').to_owned());
            // Without a challenge (503: the gateway could not ask the IdP),
            // the gateway's reason up to its first colon.
            let why = match challenge {
                Some(c) => c,
                None => r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|b| b.get("error_description").and_then(|d| d.as_str()).map(str::to_owned))
                    .map(|d| format!("({})", d.split(':').next().unwrap_or(&d)))
                    .unwrap_or_default(),
            };
            fail(format!("API {status} {why}").trim_end().to_owned(), Some(token_time))
        }
        Err(e) => fail(format!("API unreachable ({})", short(&e)), Some(token_time)),
    }
}

/// A transport error without URLs (which could carry tokens).
fn short(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    }
}

/// A task that is aborted when dropped, on every way out of a function.
struct Ticker(tokio::task::JoinHandle<()>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Prints a progress line every two seconds until `done` reaches `total`.
fn progress(what: &'static str, done: Arc<AtomicUsize>, total: usize) -> Ticker {
    Ticker(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.tick().await;
        loop {
            tick.tick().await;
            let n = done.load(Ordering::Relaxed);
            if n >= total {
                break;
            }
            crate::outln!("kensa: load: {n}/{total} {what}");
        }
    }))
}

/// Runs the plan against a started target.
///
/// # Errors
/// When the target is not on loopback, lacks the client or the gateway
/// rules, or a login fails.
pub async fn run(
    target: Arc<TargetInfo>,
    rules: kensa_mocks::api::Rules,
    plan: &LoadPlan,
    scrubber: &Scrubber,
) -> anyhow::Result<LoadReport> {
    if !crate::http::is_loopback(&target.issuer) {
        bail!("load mode runs only against targets on this machine; the issuer {} is not on loopback", target.issuer);
    }
    let client = target.client(&plan.role).map_err(|e| anyhow!(e))?.clone();
    if !plan.path.starts_with('/') || rules.route(&plan.path).is_none() {
        let prefixes: Vec<&str> = rules.routes.iter().map(|r| r.prefix.as_str()).collect();
        bail!("--path {:?} is under none of the API's routes ({})", plan.path, prefixes.join(", "));
    }
    let http = HttpClient::new(scrubber.clone())?;
    let discovery = Discovery::fetch(&http, &target.issuer).await?;
    let gateway =
        kensa_mocks::api::ResourceApi::start(crate::world::gateway_config(&target, &discovery, rules)?).await?;

    // Sign every client in, a few at a time; not measured.
    crate::outln!("kensa: load: signing in {} clients ({}) ...", plan.clients, client.client_id);
    let login_started = Instant::now();
    let signed = Arc::new(AtomicUsize::new(0));
    let ticker = progress("clients signed in", Arc::clone(&signed), plan.clients);
    let gate = Arc::new(Semaphore::new(plan.login_concurrency.max(1)));
    let mut logins = tokio::task::JoinSet::new();
    let shared = Arc::new((Arc::clone(&target), discovery.clone(), client.clone()));
    for i in 0..plan.clients {
        let gate = Arc::clone(&gate);
        let shared = Arc::clone(&shared);
        let scope = plan.scope.clone();
        let signed = Arc::clone(&signed);
        logins.spawn(async move {
            let _permit = gate.acquire().await;
            let (target, discovery, client) = &*shared;
            let session = sign_in(target, discovery, client, &scope)
                .await
                .with_context(|| format!("client {} could not sign in", i + 1));
            signed.fetch_add(1, Ordering::Relaxed);
            session
        });
    }
    let mut sessions = Vec::with_capacity(plan.clients);
    while let Some(joined) = logins.join_next().await {
        let session = joined.map_err(|e| anyhow!("a login task failed: {e}"))?;
        sessions.push(session?);
    }
    drop(ticker);
    let login_secs = login_started.elapsed().as_secs_f64();

    // The measured phase: every client starts together.
    let pool = kensa_mocks::client_builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(plan.clients)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let token_endpoint = discovery.endpoint("token_endpoint")?;
    let auth = crate::world::KensaWorld::auth_for(&client, None, None)?;
    let api_url = format!("{}{}", gateway.base_url(), plan.path);
    let total = plan.clients * plan.iterations;
    let done = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(sessions.len() + 1));
    let max_duration = plan.max_duration;
    let mut tasks = tokio::task::JoinSet::new();
    for mut session in sessions {
        let (pool, token_endpoint, auth, api_url) =
            (pool.clone(), token_endpoint.clone(), auth.clone(), api_url.clone());
        let (barrier, done) = (Arc::clone(&barrier), Arc::clone(&done));
        let (iterations, warmup) = (plan.iterations, plan.warmup);
        tasks.spawn(async move {
            let mut warmup_errors = 0;
            for _ in 0..warmup {
                if let Step::Failed { .. } = iterate(&pool, &token_endpoint, &auth, &api_url, &mut session).await {
                    warmup_errors += 1;
                }
            }
            // The clock starts when every client has warmed up.
            barrier.wait().await;
            let deadline = Instant::now() + max_duration;
            let mut steps = Vec::with_capacity(iterations);
            let mut skipped = 0;
            for _ in 0..iterations {
                if Instant::now() >= deadline {
                    skipped += 1;
                    continue;
                }
                steps.push(iterate(&pool, &token_endpoint, &auth, &api_url, &mut session).await);
                done.fetch_add(1, Ordering::Relaxed);
            }
            (steps, skipped, warmup_errors)
        });
    }
    if plan.warmup > 0 {
        crate::outln!("kensa: load: warming up ({} unmeasured iteration(s) per client) ...", plan.warmup);
    }
    // Every client task reaches the barrier unless it died during its
    // warm-up; each warm-up request is bounded by the client's timeout.
    let warmup_bound = Duration::from_secs(60) * u32::try_from(plan.warmup + 1).unwrap_or(u32::MAX);
    if tokio::time::timeout(warmup_bound, barrier.wait()).await.is_err() {
        tasks.abort_all();
        bail!("the warm-up did not finish within {} s", warmup_bound.as_secs());
    }
    let started = Instant::now();
    crate::outln!("kensa: load: {} clients x {} refresh-and-call iterations ...", plan.clients, plan.iterations);
    let ticker = progress("calls done", Arc::clone(&done), total);
    let (mut token_times, mut whole_times) = (Vec::new(), Vec::new());
    let mut errors = std::collections::BTreeMap::new();
    let mut not_started = 0;
    let mut warmup_errors = 0;
    while let Some(joined) = tasks.join_next().await {
        let (steps, skipped, failed_warmups) = joined.map_err(|e| anyhow!("a client task failed: {e}"))?;
        not_started += skipped;
        warmup_errors += failed_warmups;
        for step in steps {
            match step {
                Step::Done { token, whole } => {
                    token_times.push(token);
                    whole_times.push(whole);
                }
                Step::Failed { why, token, whole } => {
                    token_times.extend(token);
                    whole_times.push(whole);
                    *errors.entry(why).or_insert(0) += 1;
                }
            }
        }
    }
    drop(ticker);
    let wall = started.elapsed().as_secs_f64();
    let calls = whole_times.len();
    #[allow(clippy::cast_precision_loss)]
    let calls_per_sec = if wall > 0.0 { calls as f64 / wall } else { 0.0 };
    Ok(LoadReport {
        target: target.name.clone(),
        clients: plan.clients,
        iterations: plan.iterations,
        role: plan.role.clone(),
        login_secs: (login_secs * 100.0).round() / 100.0,
        wall_secs: (wall * 100.0).round() / 100.0,
        calls_per_sec: calls_per_sec.round(),
        token_endpoint: Percentiles::of(token_times),
        whole_call: Percentiles::of(whole_times),
        calls,
        errors,
        not_started,
        warmup: plan.warmup,
        warmup_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = Percentiles::of(samples);
        assert_eq!((p.count, p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms), (100, 50.0, 95.0, 99.0, 100.0));
        let p = Percentiles::of(vec![Duration::from_millis(7)]);
        assert_eq!((p.p50_ms, p.p99_ms), (7.0, 7.0));
        assert_eq!(Percentiles::of(Vec::new()).count, 0);
    }

    #[test]
    fn loopback_only() {
        assert!(crate::http::is_loopback("http://127.0.0.1:8080"));
        assert!(crate::http::is_loopback("http://[::1]:8080/realms/x"));
        assert!(crate::http::is_loopback("http://localhost:3000"));
        assert!(!crate::http::is_loopback("https://idp.example.com"));
        assert!(!crate::http::is_loopback("http://10.0.0.1"));
        assert!(!crate::http::is_loopback("not a url"));
    }
}
