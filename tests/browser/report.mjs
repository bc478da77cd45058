// Opens kensa's HTML report in Chromium (Debian's, driven by playwright-core)
// and checks what a reader relies on, from the rendered page: each matrix
// verdict sits under its target's header, the filters and the search box show
// exactly the rows they should, links land on the right check, a failing
// check's last exchange is open, decoded JWTs show their claims, nothing is
// fetched from the network, the console stays clean, and hostile text from an
// IdP stays text and keeps the page's width.
//
// The expectations come from the run's summary.json, never from the markup.
//
//   node report.mjs KIND=DIR [KIND=DIR ...]
//
// KIND is `multi` (a run of several targets), `faults` (a run with failures,
// known and stale deviations and skipped checks) or `hostile` (a run against
// an IdP that answers with markup and very long tokens). Each DIR holds
// index.html and summary.json. Prints one line per assertion group and
// `figure:` lines with timings; exits 1 if any assertion failed.
//
// Environment: KENSA_CHROMIUM (default /usr/bin/chromium), KENSA_SCREENSHOT_DIR
// (where to write a screenshot of each report's matrix; default: none).

import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const VIEWPORT = { width: 1280, height: 900 };
const CLASS = { pass: 'pass', fail: 'fail', expected_fail: 'xfail', unexpected_pass: 'xpass', not_run: 'notrun', skipped: 'skipped' };
const TEXT = { pass: 'pass', fail: 'FAIL', xfail: 'known deviation', xpass: 'stale deviation', notrun: 'not run', skipped: 'skipped' };

let failures = 0;
function check(cond, what, detail) {
  if (cond) {
    console.log(`ok: ${what}`);
  } else {
    failures += 1;
    console.log(`FAIL: ${what}${detail === undefined ? '' : `\n  ${typeof detail === 'string' ? detail : JSON.stringify(detail).slice(0, 2000)}`}`);
  }
}

function sameSet(a, b) {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

function setDiff(a, b) {
  const sb = new Set(b);
  return [...new Set(a)].filter((x) => !sb.has(x));
}

/// What the summary says the matrix must show: rows in first-seen order, the
/// verdict class per target (a target without the check shows skipped).
function expectations(summary) {
  const targets = summary.targets.map((t) => t.target);
  const rows = new Map();
  for (const t of summary.targets) {
    for (const c of t.checks) {
      if (!rows.has(c.id)) rows.set(c.id, { id: c.id, title: c.title, specs: c.specs || [], cells: {} });
    }
  }
  for (const row of rows.values()) {
    for (const t of summary.targets) {
      const c = t.checks.find((x) => x.id === row.id);
      row.cells[t.target] = c ? CLASS[c.verdict] : 'skipped';
    }
  }
  return { targets, rows: [...rows.values()] };
}

/// Ids of the matrix rows a reader sees (rendered, not hidden).
async function visibleRows(page) {
  return page.$$eval('#matrix tbody tr', (trs) =>
    trs.filter((tr) => tr.getClientRects().length > 0).map((tr) => tr.cells[0].innerText.trim()));
}

/// How long the page takes to apply a filter button or a search, measured in
/// the page: the handler's run plus the style and layout it causes.
async function inPageMs(page, what) {
  return page.evaluate(([kind, arg]) => {
    const t0 = performance.now();
    if (kind === 'filter') {
      document.querySelector(`.filters button[data-f="${arg}"]`).click();
    } else {
      const s = document.getElementById('search');
      s.value = arg;
      s.dispatchEvent(new Event('input', { bubbles: true }));
    }
    document.body.getBoundingClientRect();
    void document.body.offsetHeight;
    return Math.round((performance.now() - t0) * 10) / 10;
  }, what);
}

/// Every cell's horizontal centre lies between its target header's edges,
/// and its text is the verdict the summary gives.
async function matrixGeometry(page, exp, kind) {
  const layout = await page.$eval('#matrix', (table) => {
    const heads = [...table.tHead.rows[0].cells].map((th) => {
      const r = th.getBoundingClientRect();
      return { text: th.innerText.trim(), left: r.left, right: r.right };
    });
    const rows = [...table.tBodies[0].rows].map((tr) => ({
      id: tr.cells[0].innerText.trim(),
      cells: [...tr.cells].map((td) => {
        const r = td.getBoundingClientRect();
        return { text: td.innerText.trim(), centre: (r.left + r.right) / 2, top: r.top, bottom: r.bottom };
      }),
      top: tr.getBoundingClientRect().top,
    }));
    return { heads, rows };
  });
  const headTexts = layout.heads.map((h) => h.text);
  check(
    JSON.stringify(headTexts.slice(3)) === JSON.stringify(exp.targets),
    `${kind}: the matrix has one column per target (${exp.targets.join(', ')})`,
    headTexts,
  );
  check(
    JSON.stringify(layout.rows.map((r) => r.id)) === JSON.stringify(exp.rows.map((r) => r.id)),
    `${kind}: the matrix has one row per check, in the summary's order (${exp.rows.length})`,
    setDiff(exp.rows.map((r) => r.id), layout.rows.map((r) => r.id)),
  );
  const misplaced = [];
  const wrongText = [];
  for (const row of layout.rows) {
    const want = exp.rows.find((r) => r.id === row.id);
    if (!want) continue;
    exp.targets.forEach((target, i) => {
      const head = layout.heads[3 + i];
      const cell = row.cells[3 + i];
      if (!cell || !head || cell.centre < head.left || cell.centre > head.right) {
        misplaced.push(`${row.id} ${target}: cell centre ${cell ? cell.centre.toFixed(0) : 'none'}, header ${head ? `${head.left.toFixed(0)}..${head.right.toFixed(0)}` : 'none'}`);
      }
      if (!cell || cell.text !== TEXT[want.cells[target]]) {
        wrongText.push(`${row.id} ${target}: shows "${cell ? cell.text : ''}", summary says ${TEXT[want.cells[target]]}`);
      }
    });
    // One row's cells share a line: a cell taken out of the table layout
    // lands elsewhere.
    const tops = row.cells.map((c) => c.top);
    if (Math.max(...tops) - Math.min(...tops) > 1) misplaced.push(`${row.id}: cells on different lines (${tops.map((t) => t.toFixed(0)).join(', ')})`);
  }
  check(misplaced.length === 0, `${kind}: every verdict cell sits under its target's header`, misplaced.slice(0, 8).join('\n  '));
  check(wrongText.length === 0, `${kind}: every cell shows the summary's verdict`, wrongText.slice(0, 8).join('\n  '));
  return layout;
}

async function filters(page, exp, kind, figures) {
  const all = exp.rows.map((r) => r.id);
  const buttons = await page.$$eval('.filters button', (bs) => bs.map((b) => ({ f: b.dataset.f, label: b.innerText.trim() })));
  for (const { f, label } of buttons) {
    if (f === 'all') continue;
    const want = exp.rows.filter((r) => Object.values(r.cells).includes(f)).map((r) => r.id);
    const ms = await inPageMs(page, ['filter', f]);
    figures.push(`filter ${f} ${ms} ms`);
    await page.click('.filters button[data-f="all"]');
    // The reader's click, which the assertions judge.
    await page.click(`.filters button[data-f="${f}"]`);
    const seen = await visibleRows(page);
    check(sameSet(seen, want), `${kind}: the "${label}" filter shows exactly the ${want.length} rows with that verdict`, { missing: setDiff(want, seen), extra: setDiff(seen, want) });
    await page.click('.filters button[data-f="all"]');
    const back = await visibleRows(page);
    check(back.length === all.length, `${kind}: "all" shows every row again after "${label}"`, `${back.length} of ${all.length}`);
  }
  // The search box: a check id's part, a word of a title, a spec tag.
  const probes = [];
  if (exp.rows.length > 0) {
    probes.push(exp.rows[0].id.split('-')[0].toLowerCase());
    const withSpec = exp.rows.find((r) => r.specs.length > 0);
    if (withSpec) probes.push(withSpec.specs[0]);
    const word = (exp.rows[exp.rows.length - 1].title.split(/\s+/).find((w) => w.length > 5) || '').toUpperCase();
    if (word) probes.push(word);
  }
  for (const q of probes) {
    const needle = q.toLowerCase();
    const want = exp.rows
      .filter((r) => [r.id, r.title, ...r.specs].some((s) => s.toLowerCase().includes(needle)))
      .map((r) => r.id);
    const ms = await inPageMs(page, ['search', q]);
    figures.push(`search "${q}" ${ms} ms`);
    await page.fill('#search', '');
    await page.fill('#search', q);
    const seen = await visibleRows(page);
    check(sameSet(seen, want), `${kind}: searching "${q}" shows exactly the ${want.length} rows whose id, title or spec match`, { missing: setDiff(want, seen), extra: setDiff(seen, want) });
  }
  await page.fill('#search', '');
  // A filter and the search box together.
  const fail = buttons.find((b) => b.f === 'fail');
  if (fail && probes.length > 0) {
    await page.click('.filters button[data-f="fail"]');
    await page.fill('#search', probes[0]);
    const want = exp.rows
      .filter((r) => Object.values(r.cells).includes('fail') && r.id.toLowerCase().includes(probes[0]))
      .map((r) => r.id);
    const seen = await visibleRows(page);
    check(sameSet(seen, want), `${kind}: the failing filter with a search shows rows matching both`, { missing: setDiff(want, seen), extra: setDiff(seen, want) });
    await page.fill('#search', '');
    await page.click('.filters button[data-f="all"]');
  }
  const back = await visibleRows(page);
  check(back.length === all.length, `${kind}: clearing the search and filter shows every row`, `${back.length} of ${all.length}`);
}

/// Where a click on a link took the reader: the element in view, whether it
/// is open, which check and which target section it belongs to.
async function landing(page) {
  return page.evaluate(() => {
    const id = decodeURIComponent(location.hash.slice(1));
    const el = document.getElementById(id);
    if (!el) return { hash: location.hash, found: false };
    const r = el.getBoundingClientRect();
    let h = el.previousElementSibling;
    while (h && h.tagName !== 'H2') h = h.previousElementSibling;
    const summary = el.querySelector('summary');
    const exchanges = [...el.querySelectorAll('.body > details.ex')];
    const last = exchanges[exchanges.length - 1];
    return {
      hash: location.hash,
      found: true,
      open: el.open === true,
      inView: r.top >= -1 && r.top < window.innerHeight,
      check: summary ? summary.querySelector('b').innerText.trim() : '',
      badge: summary ? summary.querySelector('.badge').innerText.trim() : '',
      section: h ? h.firstChild.textContent.trim() : '',
      exchanges: exchanges.length,
      lastOpen: last ? last.open && last.querySelector(':scope > table, :scope > pre, :scope > .cap') !== null && last.getBoundingClientRect().height > last.querySelector('summary').getBoundingClientRect().height + 4 : null,
      othersClosed: exchanges.slice(0, -1).every((d) => !d.open),
    };
  });
}

async function links(page, exp, summary, kind) {
  // "What needs attention": every link lands on its check, open, in view.
  const attention = await page.$$eval('ul.fails li a', (as) => as.map((a, i) => ({ i, text: a.innerText.trim(), target: a.parentElement.innerText.match(/\[([^\]]+)\]/)?.[1] || '' })));
  const failing = summary.targets.flatMap((t) => t.checks.filter((c) => ['fail', 'not_run', 'unexpected_pass'].includes(c.verdict)).map((c) => `${t.target}/${c.id}`));
  check(
    sameSet(attention.map((a) => `${a.target}/${a.text}`), failing),
    `${kind}: "What needs attention" lists exactly the ${failing.length} failing, not-run and stale checks`,
    { missing: setDiff(failing, attention.map((a) => `${a.target}/${a.text}`)), extra: setDiff(attention.map((a) => `${a.target}/${a.text}`), failing) },
  );
  const bad = [];
  let withExchanges = 0;
  for (const a of attention.slice(0, 12)) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.locator('ul.fails li a').nth(a.i).click();
    const l = await landing(page);
    const c = summary.targets.find((t) => t.target === a.target).checks.find((x) => x.id === a.text);
    if (!l.found || !l.open || !l.inView || l.check !== a.text || l.section !== a.target) bad.push({ link: `${a.target}/${a.text}`, landed: l });
    if (c && ['fail', 'not_run'].includes(c.verdict) && l.exchanges > 0) {
      withExchanges += 1;
      if (!l.lastOpen || !l.othersClosed) bad.push({ link: `${a.target}/${a.text}`, lastExchangeOpen: l.lastOpen, othersClosed: l.othersClosed });
    }
  }
  check(bad.length === 0, `${kind}: links from "What needs attention" land on their check, open and in view, with the last exchange of a failure open (${withExchanges} with a transcript)`, bad.slice(0, 5));
  if (failing.some((f) => !f.endsWith('/')) && kind === 'faults') {
    check(withExchanges > 0, `${kind}: a failing check with a transcript was followed`);
  }

  // Matrix cells: one per verdict kind and target, each lands on its check in
  // its target's section.
  const picks = [];
  const seen = new Set();
  for (const row of exp.rows) {
    for (const t of exp.targets) {
      const key = `${t}:${row.cells[t]}`;
      const ran = summary.targets.find((x) => x.target === t).checks.some((c) => c.id === row.id);
      if (ran && !seen.has(key)) {
        seen.add(key);
        picks.push({ id: row.id, target: t, col: exp.targets.indexOf(t) });
      }
    }
  }
  const wrong = [];
  for (const p of picks) {
    await page.evaluate(() => window.scrollTo(0, 0));
    const rowIndex = exp.rows.findIndex((r) => r.id === p.id);
    await page.locator('#matrix tbody tr').nth(rowIndex).locator('td').nth(3 + p.col).locator('a').click();
    const l = await landing(page);
    if (!l.found || !l.open || !l.inView || l.check !== p.id || l.section !== p.target) wrong.push({ cell: `${p.target}/${p.id}`, landed: l });
  }
  check(wrong.length === 0, `${kind}: matrix cells (${picks.length}: each target x verdict) link to their check in their target's section, opened and in view`, wrong.slice(0, 5));
}

async function jwts(page, kind) {
  const count = await page.locator('.jwt').count();
  check(count > 0, `${kind}: the report has decoded JWTs`);
  if (count === 0) return;
  // Open the enclosing check and exchange as a reader does, by their summaries.
  const jwt = page.locator('.jwt').first();
  const chain = await jwt.evaluate((el) => {
    const out = [];
    for (let d = el.closest('details'); d; d = d.parentElement.closest('details')) out.unshift(d.open);
    return out;
  });
  for (let depth = 0; depth < chain.length; depth += 1) {
    const opened = await jwt.evaluate((el, depth) => {
      const ds = [];
      for (let d = el.closest('details'); d; d = d.parentElement.closest('details')) ds.unshift(d);
      return ds[depth].open;
    }, depth);
    if (!opened) {
      const handle = await jwt.evaluateHandle((el, depth) => {
        const ds = [];
        for (let d = el.closest('details'); d; d = d.parentElement.closest('details')) ds.unshift(d);
        return ds[depth].querySelector(':scope > summary');
      }, depth);
      await handle.asElement().scrollIntoViewIfNeeded();
      await handle.asElement().click();
    }
  }
  const visible = await jwt.isVisible();
  const text = visible ? await jwt.innerText() : '';
  const claims = /"iss"\s*:/.test(text) && /"exp"\s*:|"sub"\s*:|"aud"\s*:/.test(text);
  check(visible && claims, `${kind}: an opened exchange shows a decoded JWT's header and claims`, text.slice(0, 300));
}

async function hostile(page, kind) {
  const state = await page.evaluate(() => ({
    pwned: window.__kensaPwned === undefined ? null : String(window.__kensaPwned),
    scripts: document.scripts.length,
    handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).map((e) => e.outerHTML.slice(0, 120)),
    foreign: document.querySelectorAll('img, svg, iframe, object, embed, form, input:not(#search), link, base, meta[http-equiv]').length,
    width: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  check(state.pwned === null, `${kind}: no script from the IdP ran`, state.pwned);
  check(state.scripts === 1, `${kind}: the page holds only its own script (${state.scripts})`);
  check(state.handlers.length === 0, `${kind}: no element carries an event-handler attribute`, state.handlers.slice(0, 3));
  check(state.foreign === 0, `${kind}: the IdP's markup made no element (img, svg, iframe, form, ...)`, state.foreign);
  // The hostile text is there, as text a reader can see once opened.
  await page.$$eval('details', (ds) => ds.forEach((d) => { d.open = true; }));
  const shown = await page.evaluate(() => document.body.innerText.includes('<script>window.__kensaPwned'));
  check(shown, `${kind}: the IdP's markup is shown as text`);
  const layout = await page.evaluate(() => {
    const main = document.querySelector('main').getBoundingClientRect();
    const over = [...document.querySelectorAll('main *')]
      .filter((e) => e.getClientRects().length > 0 && !e.closest('#matrix'))
      .filter((e) => e.getBoundingClientRect().right > main.right + 1)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}: right ${e.getBoundingClientRect().right.toFixed(0)} > ${main.right.toFixed(0)}`);
    return { over, width: document.documentElement.scrollWidth, client: document.documentElement.clientWidth };
  });
  check(layout.width <= layout.client, `${kind}: with every section open, the page is no wider than the window (${layout.width} <= ${layout.client} px)`);
  check(layout.over.length === 0, `${kind}: no element overflows the main column`, layout.over.slice(0, 5));
}

async function one(browser, kind, dir) {
  const file = path.resolve(dir, 'index.html');
  const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  const exp = expectations(summary);
  const context = await browser.newContext({ viewport: VIEWPORT, javaScriptEnabled: true });
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  const dialogs = [];
  const pageUrl = pathToFileURL(file).href;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url === pageUrl || url.startsWith(`${pageUrl}#`)) return route.continue();
    requests.push(url);
    return route.abort();
  });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });

  const figures = [];
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const t0 = Date.now();
  await page.goto(pageUrl, { waitUntil: 'load', timeout: 120000 });
  const loadMs = Date.now() - t0;
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { dcl: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd), nodes: document.getElementsByTagName('*').length };
  });
  const size = readFileSync(file).length;
  figures.push(`page ${(size / 1024).toFixed(0)} KiB, ${nav.nodes} elements, DOMContentLoaded ${nav.dcl} ms, load ${nav.load} ms, goto ${loadMs} ms`);
  // Chromium's own counters: time spent on layout and style, and memory.
  const { metrics } = await cdp.send('Performance.getMetrics');
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  figures.push(`layout ${Math.round(m.LayoutDuration * 1000)} ms, style ${Math.round(m.RecalcStyleDuration * 1000)} ms, script ${Math.round(m.ScriptDuration * 1000)} ms, JS heap ${(m.JSHeapUsedSize / 1048576).toFixed(1)} MiB, DOM nodes ${m.Nodes}`);

  await matrixGeometry(page, exp, kind);
  if (process.env.KENSA_SCREENSHOT_DIR) {
    mkdirSync(process.env.KENSA_SCREENSHOT_DIR, { recursive: true });
    await page.locator('#matrix').screenshot({ path: path.join(process.env.KENSA_SCREENSHOT_DIR, `${kind}-matrix.png`) });
    await page.screenshot({ path: path.join(process.env.KENSA_SCREENSHOT_DIR, `${kind}-top.png`) });
  }
  await filters(page, exp, kind, figures);
  await links(page, exp, summary, kind);
  if (kind !== 'hostile') await jwts(page, kind);
  if (kind === 'hostile') await hostile(page, kind);

  if (kind === 'faults') {
    const verdicts = new Set(summary.targets.flatMap((t) => t.checks.map((c) => CLASS[c.verdict])));
    for (const v of ['pass', 'fail', 'xfail', 'xpass', 'skipped']) check(verdicts.has(v), `${kind}: the run has a ${TEXT[v]} check to show`);
  }
  if (kind === 'multi') check(exp.targets.length >= 3, `${kind}: the run has at least three targets (${exp.targets.length})`);

  check(requests.length === 0, `${kind}: nothing was fetched from the network`, requests.slice(0, 5));
  check(errors.length === 0, `${kind}: no console errors or warnings`, errors.slice(0, 5));
  check(dialogs.length === 0, `${kind}: no dialog opened`, dialogs.slice(0, 3));
  for (const f of figures) console.log(`figure: ${kind}: ${f}`);
  await context.close();
}

const jobs = process.argv.slice(2).map((a) => {
  const i = a.indexOf('=');
  if (i < 0 || !['multi', 'faults', 'hostile'].includes(a.slice(0, i))) {
    console.error(`usage: node report.mjs KIND=DIR ... (KIND: multi, faults, hostile); got ${a}`);
    process.exit(2);
  }
  return [a.slice(0, i), a.slice(i + 1)];
});
const executablePath = process.env.KENSA_CHROMIUM || '/usr/bin/chromium';
// As root, Chromium needs --no-sandbox; the background services would try
// Google's hosts, which a closed network refuses.
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  for (const [kind, dir] of jobs) await one(browser, kind, dir);
} finally {
  await browser.close();
}
if (failures > 0) {
  console.log(`${failures} browser assertion(s) failed`);
  process.exit(1);
}
console.log('all browser assertions passed');
