//! The HTML report: one self-contained page (inline style and script, no
//! fetches) that opens from a CI artifact. First the verdict and the failing
//! checks, then the run summary, the target x check matrix (filterable), and
//! per check its spec, steps, message and HTTP transcript with decoded JWTs.
//! Built from the scrubbed results and the recorder's redacted exchanges.

use std::fmt::Write as _;

use super::{CheckResult, Summary, TargetSummary, Verdict, time::iso8601};
use crate::http::Exchange;

/// Escapes text for HTML element content and attribute values.
#[must_use]
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where a spec tag's text can be read, e.g. `RFC6749-4.1.2` ->
/// `https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2`.
#[must_use]
pub fn spec_url(tag: &str) -> Option<String> {
    if let Some(rest) = tag.strip_prefix("RFC") {
        let (num, section) = rest.split_once('-').unwrap_or((rest, ""));
        if num.chars().all(|c| c.is_ascii_digit()) && !num.is_empty() {
            let anchor = if section.is_empty() { String::new() } else { format!("#section-{section}") };
            return Some(format!("https://www.rfc-editor.org/rfc/rfc{num}{anchor}"));
        }
    }
    let doc = [
        ("OIDC-Core-", "openid-connect-core-1_0"),
        ("OIDC-Discovery-", "openid-connect-discovery-1_0"),
        ("OIDC-Registration-", "openid-connect-registration-1_0"),
    ]
    .iter()
    .find(|(p, _)| tag.starts_with(p))?;
    Some(format!("https://openid.net/specs/{}.html", doc.1))
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::ExpectedFail => "xfail",
        Verdict::UnexpectedPass => "xpass",
        Verdict::NotRun => "notrun",
        Verdict::Skipped => "skipped",
    }
}

/// The badge of one result: a failed SHOULD or MAY check is a warning.
fn result_text(c: &CheckResult) -> &'static str {
    if c.is_warning() { "WARN" } else { verdict_text(c.verdict) }
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "FAIL",
        Verdict::ExpectedFail => "known deviation",
        Verdict::UnexpectedPass => "stale deviation",
        Verdict::NotRun => "not run",
        Verdict::Skipped => "skipped",
    }
}

fn anchor(target: &str, id: &str) -> String {
    format!("c-{}-{}", target.replace(|c: char| !c.is_ascii_alphanumeric(), "_"), id)
}

fn pretty(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) if v.is_object() || v.is_array() => serde_json::to_string_pretty(&v).unwrap_or_else(|_| body.to_owned()),
        _ => body.to_owned(),
    }
}

fn headers_table(out: &mut String, title: &str, headers: &[(String, String)]) {
    if headers.is_empty() {
        return;
    }
    let _ = write!(out, "<table class=hdr><caption>{}</caption>", esc(title));
    for (k, v) in headers {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    out.push_str("</table>");
}

fn exchange(out: &mut String, ex: &Exchange, open: bool, note: &str) {
    let status = ex.status.map_or_else(|| "error".to_owned(), |s| s.to_string());
    let class = match ex.status {
        Some(s) if s >= 400 => "st4",
        Some(s) if s >= 300 => "st3",
        Some(_) => "st2",
        None => "st4",
    };
    let _ = write!(
        out,
        "<details class=ex{}><summary><span class=\"st {class}\">{}</span> <b>{}</b> <code>{}</code> <span class=ms>{} ms</span>{}</summary>",
        if open { " open" } else { "" },
        esc(&status),
        esc(&ex.method),
        esc(&ex.url),
        ex.elapsed_ms,
        if note.is_empty() { String::new() } else { format!(" <span class=note>{}</span>", esc(note)) }
    );
    headers_table(out, "request headers", &ex.request_headers);
    if let Some(b) = &ex.request_body {
        let _ = write!(out, "<div class=cap>request body</div><pre>{}</pre>", esc(&pretty(b)));
    }
    if let Some(e) = &ex.error {
        let _ = write!(out, "<div class=cap>error</div><pre class=err>{}</pre>", esc(e));
    }
    headers_table(out, "response headers", &ex.response_headers);
    if !ex.response_body.is_empty() {
        let _ = write!(out, "<div class=cap>response body</div><pre>{}</pre>", esc(&pretty(&ex.response_body)));
    }
    for j in &ex.jwts {
        let _ = write!(
            out,
            "<div class=cap>{} — decoded JWT (compact form and signature redacted)</div><div class=jwt><pre>{}</pre><pre>{}</pre></div>",
            esc(&j.location),
            esc(&serde_json::to_string_pretty(&j.header).unwrap_or_default()),
            esc(&serde_json::to_string_pretty(&j.claims).unwrap_or_default())
        );
    }
    out.push_str("</details>");
}

fn diff(out: &mut String, d: &super::ClaimDiff) {
    let differing = d.differing();
    let side = |v: &serde_json::Value| -> String {
        match v.as_object() {
            Some(m) => {
                let mut rows = String::new();
                for (k, val) in m {
                    let class = if differing.contains(k) { " class=dif" } else { "" };
                    let _ = write!(rows, "<tr{class}><th>{}</th><td>{}</td></tr>", esc(k), esc(&val.to_string()));
                }
                format!("<table class=claims>{rows}</table>")
            }
            None => format!("<pre>{}</pre>", esc(&serde_json::to_string_pretty(v).unwrap_or_default())),
        }
    };
    let _ = write!(
        out,
        "<div class=cap>{}{}</div><div class=diff><div><div class=cap>{}</div>{}</div><div><div class=cap>{}</div>{}</div></div>",
        esc(&d.title),
        if differing.is_empty() { String::new() } else { format!(" — differs in: {}", esc(&differing.join(", "))) },
        esc(&d.left_label),
        side(&d.left),
        esc(&d.right_label),
        side(&d.right)
    );
}

fn check_section(out: &mut String, t: &TargetSummary, c: &CheckResult) {
    let failed = matches!(c.verdict, Verdict::Fail | Verdict::NotRun);
    let _ = write!(
        out,
        "<details class=\"check k-{}\" id=\"{}\"{}><summary><span class=\"badge v-{}\">{}</span> <b>{}</b> <span class=lvl>{}</span> {} <span class=ms>{} ms</span></summary>",
        verdict_class(c.verdict),
        anchor(&t.target, &c.id),
        if failed { " open" } else { "" },
        verdict_class(c.verdict),
        result_text(c),
        esc(&c.id),
        esc(&c.level),
        esc(&c.title),
        c.duration_ms
    );
    out.push_str("<div class=body><p class=spec>");
    for s in &c.specs {
        match spec_url(s) {
            Some(u) => {
                let _ = write!(out, "<a href=\"{}\">{}</a> ", esc(&u), esc(s));
            }
            None => {
                let _ = write!(out, "{} ", esc(s));
            }
        }
    }
    let _ = write!(out, "<span class=lvl>{}</span></p>", esc(&c.level));
    if let Some(s) = &c.sentence {
        let _ = write!(out, "<blockquote>{}</blockquote>", esc(s));
    }
    if let Some(r) = &c.expected_reason {
        let _ = write!(out, "<p class=xreason><b>expected.toml:</b> {}</p>", esc(r));
    }
    if let Some(m) = &c.message {
        let _ = write!(out, "<pre class=msg>{}</pre>", esc(m));
    }
    for note in &c.notes {
        let _ = write!(out, "<p class=note>note: {}</p>", esc(note));
    }
    for d in &c.diffs {
        diff(out, d);
    }
    out.push_str("<ol class=steps>");
    for s in &c.steps {
        let _ = write!(
            out,
            "<li class=\"s-{}\"><span class=sk>{}</span> {} <span class=ss>{}</span></li>",
            s.status.replace(' ', "-"),
            esc(&s.keyword),
            esc(&s.text),
            esc(s.status)
        );
    }
    out.push_str("</ol>");
    if !c.exchanges.is_empty() {
        let _ = write!(out, "<div class=cap>HTTP transcript ({} exchanges)</div>", c.exchanges.len());
        let last = c.exchanges.len() - 1;
        for (i, ex) in c.exchanges.iter().enumerate() {
            let breaking = failed && i == last;
            exchange(out, ex, breaking, if breaking { "last exchange before the failure" } else { "" });
        }
    }
    out.push_str("</div></details>");
}

const STYLE: &str = r##"
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{padding:16px 24px;color:#fff}header.ok{background:#1f7a3a}header.bad{background:#b3261e}
header h1{margin:0;font-size:22px}header p{margin:4px 0 0}
main{padding:8px 24px 40px;max-width:1400px}
h2{font-size:17px;margin:22px 0 8px}
table{border-collapse:collapse;background:#fff}th,td{border:1px solid #d9dde3;padding:3px 8px;text-align:left;vertical-align:top}
.fails{background:#fff;border-left:5px solid #b3261e;padding:8px 14px}.fails li{margin:4px 0}.fails .m{color:#5b6270;font-size:13px}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:600}
td.cell{font-size:12px;font-weight:600;white-space:nowrap}td.id{white-space:nowrap}
#matrix thead th{position:sticky;top:0;background:#fff;box-shadow:0 1px 0 #d9dde3}
.v-pass{background:#dff3e4;color:#17602c}.v-fail{background:#fbe0de;color:#9c1c14}.v-xfail{background:#fff1cc;color:#7a5400}
.v-xpass{background:#e8dcff;color:#4b2a8a}.v-notrun,.v-skipped{background:#e6e8eb;color:#444}
td.cell a{color:inherit;text-decoration:none;display:block}
.filters button{margin:0 4px 6px 0;border:1px solid #c3c8d0;background:#fff;border-radius:3px;padding:2px 9px;cursor:pointer}
.filters button.on{background:#1d2330;color:#fff}
details.check{background:#fff;border:1px solid #d9dde3;border-left-width:5px;border-radius:4px;margin:6px 0}
.k-pass{border-left-color:#3f9b5a}.k-fail{border-left-color:#b3261e}.k-xfail{border-left-color:#d9a400}
.k-xpass{border-left-color:#6b45c2}.k-notrun,.k-skipped{border-left-color:#9aa3b2}
details.check>summary{padding:6px 10px;cursor:pointer}.body{padding:4px 14px 12px}
blockquote{margin:6px 0;padding:4px 10px;border-left:3px solid #9aa3b2;color:#3c4454;background:#f3f4f7}
pre{background:#f3f4f7;padding:8px;overflow:auto;white-space:pre-wrap;word-break:break-all;margin:4px 0;font-size:12.5px}
pre.msg{background:#fbe0de;color:#5d0f0a}.lvl{color:#5b6270;font-size:12px}.ms{color:#8a91a0;font-size:12px}
ol.steps{margin:6px 0;padding-left:22px}.s-failed{color:#9c1c14;font-weight:600}.s-not-reached,.s-undefined{color:#8a91a0}
.ss{font-size:11px;color:#8a91a0}.sk{font-weight:600}
details.ex{border:1px solid #e3e6ea;margin:4px 0;border-radius:3px}details.ex>summary{padding:3px 8px;cursor:pointer;font-size:13px}
.st{font-weight:700;padding:0 5px;border-radius:3px}.st2{background:#dff3e4}.st3{background:#e3ecfb}.st4{background:#fbe0de}
.note{color:#9c1c14;font-weight:600;font-size:12px}.cap{font-size:12px;color:#5b6270;margin-top:6px}
table.hdr{font-size:12px;margin:4px 0}table.hdr caption{text-align:left;color:#5b6270}
.jwt{display:grid;grid-template-columns:1fr 2fr;gap:6px}code{font-size:12.5px}
.xreason{background:#fff8e1;padding:4px 8px}
code,.fails .m,table.hdr td,table.claims td,blockquote,.xreason,.note,details.check>summary{overflow-wrap:anywhere}
.diff{display:grid;grid-template-columns:1fr 1fr;gap:8px}table.claims{font-size:12px;width:100%}tr.dif td,tr.dif th{background:#fbe0de}
"##;

const SCRIPT: &str = r##"
(function(){
 var on=null, q='';
 function apply(){
  document.querySelectorAll('#matrix tbody tr').forEach(function(r){
   var okV=!on||r.dataset.v.split(' ').indexOf(on)>=0;
   var okQ=!q||r.dataset.q.indexOf(q)>=0;
   r.style.display=okV&&okQ?'':'none';});
 }
 document.querySelectorAll('.filters button').forEach(function(b){
  b.addEventListener('click',function(){
   on=(on===b.dataset.f||b.dataset.f==='all')?null:b.dataset.f;
   document.querySelectorAll('.filters button').forEach(function(x){x.classList.toggle('on',x.dataset.f===on);});
   apply();});});
 var s=document.getElementById('search');if(s)s.addEventListener('input',function(){q=s.value.toLowerCase();apply();});
 document.querySelectorAll('a[href^="#c-"]').forEach(function(a){a.addEventListener('click',function(){
  var d=document.getElementById(a.getAttribute('href').slice(1));if(d)d.open=true;});});
})();
"##;

/// Renders the report.
#[must_use]
pub fn render(summary: &Summary) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let c = summary.counts;
    let bad = c.failed + c.not_run > 0 || summary.targets.iter().any(|t| t.error.is_some());
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\"><title>kensa: {}</title><style>{STYLE}</style></head><body>",
        if bad { "FAILED" } else { "passed" }
    );
    let targets: Vec<&str> = summary.targets.iter().map(|t| t.target.as_str()).collect();
    let _ = write!(
        out,
        "<header class={}><h1>kensa {} — {}</h1><p>{} on {} · started {} · {:.2} s{}</p></header><main>",
        if bad { "bad" } else { "ok" },
        esc(summary.kensa),
        if bad { "checks failed" } else { "all checks passed" },
        esc(&c.line()),
        esc(&targets.join(", ")),
        esc(&iso8601(summary.started_ms)),
        summary.wall_ms as f64 / 1000.0,
        summary.fault.as_deref().map(|f| format!(" · reference IdP with fault <b>{}</b>", esc(f))).unwrap_or_default()
    );

    // First screen: what failed, with the message's first line.
    let failing: Vec<(&TargetSummary, &CheckResult)> = summary
        .targets
        .iter()
        .flat_map(|t| t.checks.iter().map(move |c| (t, c)))
        .filter(|(_, c)| matches!(c.verdict, Verdict::Fail | Verdict::NotRun | Verdict::UnexpectedPass))
        .collect();
    let broken: Vec<&TargetSummary> = summary.targets.iter().filter(|t| t.error.is_some()).collect();
    if !failing.is_empty() || !broken.is_empty() {
        out.push_str("<h2>What needs attention</h2><ul class=fails>");
        for t in broken {
            let _ = write!(
                out,
                "<li><b>target {}</b>: <pre>{}</pre></li>",
                esc(&t.target),
                esc(t.error.as_deref().unwrap_or(""))
            );
        }
        for (t, ch) in &failing {
            let first = ch.message.as_deref().and_then(|m| m.lines().nth(1).or(m.lines().next())).unwrap_or("");
            let _ = write!(
                out,
                "<li><span class=\"badge v-{}\">{}</span> <a href=\"#{}\"><b>{}</b></a> [{}] {} <span class=lvl>{} {}</span><div class=m>{}</div></li>",
                verdict_class(ch.verdict),
                result_text(ch),
                anchor(&t.target, &ch.id),
                esc(&ch.id),
                esc(&t.target),
                esc(&ch.title),
                esc(&ch.level),
                esc(&ch.specs.join(" ")),
                esc(first)
            );
        }
        out.push_str("</ul>");
    }

    // Summary: targets and counts by level and verdict.
    out.push_str("<h2>Run</h2><table><tr><th>target</th><th>kind</th><th>version</th><th>issuer</th><th>time</th><th>result</th></tr>");
    for t in &summary.targets {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2} s</td><td>{}</td></tr>",
            esc(&t.target),
            esc(&t.kind),
            esc(t.version.as_deref().unwrap_or("")),
            esc(t.issuer.as_deref().unwrap_or("")),
            t.wall_ms as f64 / 1000.0,
            esc(&t
                .error
                .as_deref()
                .map_or_else(|| t.counts.line(), |e| format!("did not run: {}", e.lines().next().unwrap_or(""))))
        );
    }
    out.push_str("</table>");
    let verdicts = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::ExpectedFail,
        Verdict::UnexpectedPass,
        Verdict::NotRun,
        Verdict::Skipped,
    ];
    out.push_str("<table style=\"margin-top:8px\"><tr><th>level</th>");
    for v in verdicts {
        let _ = write!(out, "<th>{}</th>", verdict_text(v));
    }
    out.push_str("</tr>");
    for level in ["MUST", "SHOULD", "MAY", "BASELINE"] {
        let _ = write!(out, "<tr><th>{level}</th>");
        for v in verdicts {
            let n =
                summary.targets.iter().flat_map(|t| &t.checks).filter(|c| c.level == level && c.verdict == v).count();
            let _ = write!(out, "<td>{n}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");

    // The matrix.
    out.push_str("<h2>Matrix</h2><div class=filters>");
    for (f, label) in [
        ("all", "all"),
        ("fail", "failing"),
        ("xfail", "known deviations"),
        ("xpass", "stale"),
        ("notrun", "not run"),
        ("skipped", "skipped"),
        ("pass", "passing"),
    ] {
        let _ = write!(out, "<button data-f=\"{f}\">{label}</button>");
    }
    out.push_str("<input id=search placeholder=\"filter: id, title, spec\"></div><table id=matrix><thead><tr><th>check</th><th>level</th><th>title</th>");
    for t in &summary.targets {
        let _ = write!(out, "<th>{}</th>", esc(&t.target));
    }
    out.push_str("</tr></thead><tbody>");
    let mut ids: Vec<&CheckResult> = Vec::new();
    for t in &summary.targets {
        for ch in &t.checks {
            if !ids.iter().any(|c| c.id == ch.id) {
                ids.push(ch);
            }
        }
    }
    for check in ids {
        let (id, level, title) = (check.id.as_str(), check.level.as_str(), check.title.as_str());
        let mut cells = String::new();
        let mut classes = Vec::new();
        for t in &summary.targets {
            match t.checks.iter().find(|c| c.id == id) {
                Some(ch) => {
                    classes.push(verdict_class(ch.verdict));
                    let _ = write!(
                        cells,
                        "<td class=\"cell v-{}\"><a href=\"#{}\">{}</a></td>",
                        verdict_class(ch.verdict),
                        anchor(&t.target, id),
                        verdict_text(ch.verdict)
                    );
                }
                None => {
                    classes.push("skipped");
                    cells.push_str("<td class=\"cell v-skipped\" title=\"the target did not run\">skipped</td>");
                }
            }
        }
        // What the search box matches: the id, the title and the spec tags,
        // which the row does not show.
        let searchable = format!("{id} {title} {}", check.specs.join(" ")).to_lowercase();
        let _ = write!(
            out,
            "<tr data-v=\"{}\" data-q=\"{}\"><td class=id>{}</td><td>{}</td><td>{}</td>{cells}</tr>",
            classes.join(" "),
            esc(&searchable),
            esc(id),
            esc(level),
            esc(title)
        );
    }
    out.push_str("</tbody></table>");

    // Every check, failing ones open.
    for t in &summary.targets {
        let _ = write!(
            out,
            "<h2>{} <span class=lvl>{}</span></h2>",
            esc(&t.target),
            esc(t.version.as_deref().unwrap_or(""))
        );
        if let Some(e) = &t.error {
            let _ = write!(out, "<pre class=msg>{}</pre>", esc(e));
        }
        let mut checks: Vec<&CheckResult> = t.checks.iter().collect();
        checks.sort_by_key(|c| (!matches!(c.verdict, Verdict::Fail | Verdict::NotRun), c.id.clone()));
        for ch in checks {
            check_section(&mut out, t, ch);
        }
    }
    let _ = write!(out, "</main><script>{SCRIPT}</script></body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_spec_links() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(spec_url("RFC6749-4.1.2").unwrap(), "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2");
        assert_eq!(spec_url("RFC9207").unwrap(), "https://www.rfc-editor.org/rfc/rfc9207");
        assert!(spec_url("OIDC-Core-3.1.3.7").unwrap().ends_with("openid-connect-core-1_0.html"));
        assert!(spec_url("Unknown-1").is_none());
    }
}
