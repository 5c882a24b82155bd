// check-browser.mjs: the status page and a one-tap acknowledge link in headless Chromium.
//
// Starts its own mosquitto and doorwatchd (the example configuration in conf/, observation
// windows moved around today, HTTP on a free loopback port), opens two doors, then:
//   1. the status page asks for the API token, shows both open alerts (oldest first, per
//      community) and the households under observation;
//   2. the ack link of one notification shows the alert; tapping confirm acknowledges it
//      (checked through the API: state acked, by the link's worker, channel http-link);
//   3. the status page, polling, shows the alert acknowledged; the state filter hides it;
//   4. checkDailyReport(): the status page opens the office's daily report (charts, A4);
//   5. checkWorkerPage() (worker-page.mjs): a worker's own page: acknowledge, readings,
//      check-in, a revoked link.
// Screenshots go to $SCREENSHOTS (default $BUILD/screenshots). Exit 0 on success.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { checkWorkerPage } from './worker-page.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const build = path.resolve(root, process.env.BUILD || 'build');
const shots = path.resolve(root, process.env.SCREENSHOTS || path.join(build, 'screenshots'));
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const token = 'browser-check-token-0123456789abcdef';
const children = [];
let tmp;
let stopping = false;

function log(...a) {
  console.log('check-browser:', ...a);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
}

function start(name, argv) {
  const out = fs.openSync(path.join(tmp, name + '.log'), 'a');
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out] });
  children.push(child);
  return child;
}

// The example configuration, made to run here and now.
function writeConfig(mqttPort, httpPort) {
  const conf = path.join(tmp, 'conf');
  fs.cpSync(path.join(root, 'conf'), conf, { recursive: true });
  const day = 24 * 3600 * 1000;
  const iso = (t) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
  const files = [path.join(conf, 'households.json')];
  const dir = path.join(conf, 'households.d');
  if (fs.existsSync(dir))
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort())
      files.push(path.join(dir, f));
  for (const f of files) {
    const households = JSON.parse(fs.readFileSync(f, 'utf8'));
    for (const h of households) {
      if (h.observation) h.observation = { start: iso(Date.now() - 2 * day), end: iso(Date.now() + 12 * day) };
      // The check runs at any time of day: a scheduled visit window must not make its door
      // openings expected (this is a page test, the rules have their own tests).
      delete h.schedule;
    }
    fs.writeFileSync(f, JSON.stringify(households, null, 2));
  }
  const main = JSON.parse(fs.readFileSync(path.join(conf, 'doorwatch.json'), 'utf8'));
  main.database = path.join(tmp, 'doorwatch.db');
  main.mqtt = { ...main.mqtt, host: '127.0.0.1', port: mqttPort, username: null, password_file: null,
                tls: { ca_file: null, cert_file: null, key_file: null } };
  main.http = { listen: `127.0.0.1:${httpPort}`, public_url: `http://127.0.0.1:${httpPort}`,
                token_file: 'secrets/api.token', ack_secret_file: 'secrets/ack.key' };
  fs.writeFileSync(path.join(conf, 'doorwatch.json'), JSON.stringify(main, null, 2));
  fs.mkdirSync(path.join(conf, 'secrets'), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(conf, 'secrets/api.token'), token + '\n', { mode: 0o600 });
  fs.writeFileSync(path.join(conf, 'secrets/ack.key'), 'browser-check-link-key-' + process.pid + '-abcdefgh\n',
                   { mode: 0o600 });
  return { conf, households: files.flatMap((f) => JSON.parse(fs.readFileSync(f, 'utf8'))) };
}

async function api(base, p, init = {}) {
  const res = await fetch(base + p, { ...init, headers: { Authorization: 'Bearer ' + token, ...(init.headers || {}) } });
  const body = await res.json();
  if (!res.ok) throw new Error(`${p}: HTTP ${res.status}: ${body.error}`);
  return body;
}

function publish(mqttPort, topic, payload) {
  execFileSync(path.join(build, 'doorwatch-sim'), ['-p', String(mqttPort), 'pub', topic, JSON.stringify(payload)]);
}

async function main() {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doorwatch-browser-'));
  fs.mkdirSync(shots, { recursive: true });
  const mqttPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === mqttPort) httpPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const { conf, households } = writeConfig(mqttPort, httpPort);

  const user = os.userInfo().username;
  const brokerConf = fs.readFileSync(path.join(root, 'tests/fixtures/mosquitto-test.conf.in'), 'utf8')
    .replaceAll('@PORT@', String(mqttPort)).replaceAll('@DIR@', tmp).replaceAll('@USER@', user);
  fs.writeFileSync(path.join(tmp, 'mosquitto.conf'), brokerConf);
  start('mosquitto', ['/usr/sbin/mosquitto', '-c', path.join(tmp, 'mosquitto.conf')]);
  await waitFor('mosquitto', () => new Promise((resolve) => {
    const s = net.connect(mqttPort, '127.0.0.1', () => { s.end(); resolve(true); });
    s.on('error', () => resolve(false));
  }));
  const daemon = start('doorwatchd', [path.join(build, 'doorwatchd'), '-c', conf, '-v']);
  daemon.on('exit', (code, sig) => { if (!stopping) log(`doorwatchd exited early (${code ?? sig})`); });
  await waitFor('doorwatchd ready', async () => (await fetch(base + '/readyz')).ok);
  log(`broker on ${mqttPort}, doorwatchd HTTP on ${httpPort}`);

  // Two doors open in two households of one community (the first one a little earlier):
  // the board orders alerts oldest first within a community.
  const withDoor = households.filter((h) => h.devices.some((d) => d.kind === 'door_contact'));
  const first = withDoor.find((h) => withDoor.some((o) => o !== h && o.community === h.community));
  if (!first) throw new Error('the example configuration has no community with two doors');
  const second = withDoor.find((o) => o !== first && o.community === first.community);
  const door = (h) => h.devices.find((d) => d.kind === 'door_contact');
  publish(mqttPort, `doorwatch/v1/devices/${door(first).id}/events`, { id: 'b-1', type: 'door', state: 'open' });
  await new Promise((r) => setTimeout(r, 1100));
  publish(mqttPort, `doorwatch/v1/devices/${door(second).id}/events`, { id: 'b-2', type: 'door', state: 'open' });
  const open = await waitFor('two open alerts', async () => {
    const a = await api(base, '/api/v1/alerts?state=open');
    return a.alerts.length === 2 && a.alerts;
  });
  const target = open.find((a) => a.household === first.id);

  // The ack link of the first worker notified (the notification's payload, from the outbox;
  // who that is depends on the roster at this hour).
  const notification = await waitFor('the notification', () => {
    const out = execFileSync('sqlite3', ['-readonly', path.join(tmp, 'doorwatch.db'),
      `SELECT payload FROM notification WHERE alert_id = '${target.id}' AND worker IS NOT NULL` +
      ' ORDER BY created_usec, id LIMIT 1']).toString().trim();
    return out && JSON.parse(out);
  });
  const worker = notification.worker;
  const ackUrl = notification.ack_url;
  if (!ackUrl || !ackUrl.startsWith(base + '/ack/')) throw new Error('no ack_url in ' + JSON.stringify(notification));

  const browser = await chromium.launch({
    executablePath: browserPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    // A phone-sized window.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
                                               locale: 'zh-CN', isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });

    // 1. Status page: token once, then the board.
    await page.goto(base + '/');
    await page.locator('#token').fill(token);
    await page.locator('#login button').tap();
    await page.locator(`tr[data-alert="${target.id}"]`).waitFor({ timeout: 10000 });
    const rows = await page.locator('#alerts tr[data-alert]').count();
    if (rows !== 2) throw new Error(`status page shows ${rows} alerts, expected 2`);
    const top = await page.locator('#alerts tr[data-alert]').first().getAttribute('data-alert');
    if (top !== target.id) throw new Error('alerts are not oldest first');
    await page.locator(`tr[data-household="${first.id}"]`).waitFor();
    const text = await page.locator('#board').innerText();
    for (const want of ['异常开门', first.address])
      if (!text.includes(want)) throw new Error(`status page lacks "${want}"`);
    // The household's own row says its door is open ("开", not "关" or "未知").
    const row = await page.locator(`tr[data-household="${first.id}"]`).innerText();
    if (!/(^|\s)开(\s|$)/.test(row)) throw new Error(`household row does not show the door open: ${row}`);
    await page.screenshot({ path: path.join(shots, 'status.png'), fullPage: true });
    log('status page:', rows, 'open alerts; screenshot', path.join(shots, 'status.png'));

    // 2. The ack link: shows, and only the tap acknowledges.
    const ack = await context.newPage();
    ack.on('pageerror', (e) => problems.push('ack page error: ' + e.message));
    await ack.goto(ackUrl);
    await ack.locator('#confirm').waitFor();
    const ackText = await ack.locator('main').innerText();
    if (!ackText.includes(first.address) || !ackText.includes('待确认'))
      throw new Error('ack page lacks the alert: ' + ackText);
    await ack.screenshot({ path: path.join(shots, 'ack.png'), fullPage: true });
    let state = (await api(base, `/api/v1/alerts/${target.id}`)).state;
    if (state !== 'open') throw new Error(`opening the link changed the alert to ${state}`);
    await Promise.all([ack.waitForNavigation(), ack.locator('#confirm').tap()]);
    const done = await ack.locator('main').innerText();
    if (!done.includes('已确认')) throw new Error('no confirmation page: ' + done);
    await ack.screenshot({ path: path.join(shots, 'ack-confirmed.png'), fullPage: true });
    const after = await api(base, `/api/v1/alerts/${target.id}`);
    if (after.state !== 'acked' || after.acked_by !== worker || after.ack_channel !== 'http-link')
      throw new Error(`after the tap: ${after.state} by ${after.acked_by} via ${after.ack_channel}`);
    log(`ack link: ${target.id} acknowledged by ${worker} via http-link; screenshots ack.png, ack-confirmed.png`);

    // 3. The status page, polling, shows it acknowledged (still to handle, after the open
    // one, with who acknowledged); the filter "未确认" (state open) leaves it out.
    await page.reload();
    const acked = page.locator(`tr[data-alert="${target.id}"][data-state="acked"]`);
    await acked.waitFor({ timeout: 15000 });
    const ackedText = await acked.innerText();
    if (!ackedText.includes('已确认')) throw new Error('acknowledged alert shown as: ' + ackedText);
    // Both alerts are of one community (chosen so above): the open one first.
    const order = await page.locator('#alerts tr[data-alert]').evaluateAll((rows) => rows.map((r) => r.dataset.state));
    if (order.join() !== 'open,acked') throw new Error('worklist order: ' + order.join());
    await page.screenshot({ path: path.join(shots, 'status-after-ack.png'), fullPage: true });
    // Filtered to "未确认": the other alert alone is left (not an empty board that was never
    // drawn, which a wait for the acknowledged row to go would also accept).
    await page.locator('#f-state').selectOption('open');
    const other = open.find((a) => a.household === second.id);
    await page.locator(`tr[data-alert="${target.id}"]`).waitFor({ state: 'detached', timeout: 15000 });
    await page.locator(`tr[data-alert="${other.id}"]`).waitFor({ timeout: 15000 });
    const left = await page.locator('#alerts tr[data-alert]').count();
    if (left !== 1) throw new Error(`the filtered list shows ${left} alerts, expected 1`);
    if ((await page.locator('#alert-title').innerText()) !== '未确认的告警')
      throw new Error('the filter did not retitle the list');
    if (problems.length) throw new Error(problems.join('; '));
    await context.close();

    await checkDailyReport(browser, base);

    // 5. A worker's own page (the field's part, worker-page.mjs).
    await checkWorkerPage({ browser, base, shots, log, api, waitFor, build, tmp, conf, households });
  } finally {
    await browser.close();
  }
}

// The office's daily report (issue 17), on a desk-sized screen: the status page opens it for
// today in a tab of its own (fetched with the token, shown from a blob), the page draws its
// charts with its inline style allowed by the server's CSP, and it prints on A4.
// Screenshots: report-status.png, report.png; report.pdf.
async function checkDailyReport(browser, base) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: 'zh-CN' });
  const problems = [];
  context.on('page', (p) => {
    p.on('pageerror', (e) => problems.push('report page error: ' + e.message));
    p.on('console', (m) => { if (m.type() === 'error') problems.push('report console: ' + m.text()); });
  });
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.locator('#token').fill(token);
  await page.locator('#login button').click();
  await page.locator('#report-open').waitFor();
  const names = await page.locator('#report-community option').allInnerTexts();
  if (!names.some((n) => n.endsWith('社区')))
    throw new Error('the report form offers no community by name: ' + names.join(', '));
  await page.screenshot({ path: path.join(shots, 'report-status.png'), fullPage: true });
  const [report] = await Promise.all([context.waitForEvent('page'), page.locator('#report-open').click()]);
  await report.waitForURL(/^blob:/, { timeout: 15000 });
  await report.locator('#summary').waitFor();
  const title = await report.locator('h1').innerText();
  if (!title.includes('居家观察日报')) throw new Error('report title: ' + title);
  for (const id of ['chart-hours', 'chart-alerts', 'chart-ack'])
    if ((await report.locator(`#${id} svg`).count()) !== 1) throw new Error(`report lacks the chart ${id}`);
  const bars = await report.locator('#chart-hours rect.bar').count();
  if (bars < 1) throw new Error('the openings chart draws no bar');
  // The inline style applies (the CSP allows it by its hash): the table's borders collapse.
  const collapse = await report.locator('#summary').evaluate((t) => getComputedStyle(t).borderCollapse);
  if (collapse !== 'collapse') throw new Error('the report page is unstyled (CSP?): ' + collapse);
  const opened = await report.locator('#summary tbody tr').first().innerText();
  await report.screenshot({ path: path.join(shots, 'report.png'), fullPage: true });
  await report.emulateMedia({ media: 'print' });
  const pdf = await report.pdf({ path: path.join(shots, 'report.pdf'), format: 'A4', printBackground: true });
  if (pdf.length < 10000) throw new Error(`the A4 print is ${pdf.length} bytes`);
  if (problems.length) throw new Error(problems.join('; '));
  log(`daily report: "${title}", ${bars} hour bars, first row "${opened.replace(/\s+/g, ' ')}";`,
      'screenshots report-status.png, report.png, report.pdf');
  await context.close();
}

// Stops the broker and the daemon and waits for them to exit (SIGKILL after 20 s) before
// removing their directory: mosquitto saves its persistence and the daemon its last
// checkpoint on SIGTERM, which on a loaded machine outlasts any fixed retry of the removal.
async function cleanup() {
  stopping = true;
  const running = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = (list) => Promise.all(list.map((c) => new Promise((r) => c.once('exit', r))));
  let timer;
  const late = new Promise((r) => { timer = setTimeout(r, 20000, 'late'); });
  const list = running();
  const done = exited(list);
  for (const c of list) c.kill('SIGTERM');
  if ((await Promise.race([done, late])) === 'late') {
    const stuck = running();
    log('still running 20 s after SIGTERM, killed:', stuck.map((c) => c.spawnargs[0]).join(' '));
    const gone = exited(stuck);
    for (const c of stuck) c.kill('SIGKILL');
    await gone;
  }
  clearTimeout(timer);
  if (tmp && !process.env.DOORWATCH_KEEP_TMP)
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  else if (tmp) log('kept', tmp);
}

try {
  await main();
  await cleanup();
  log('1 passed, 0 failed');
} catch (e) {
  console.error('check-browser: FAIL:', e.message);
  for (const f of ['doorwatchd.log', 'mosquitto.log']) {
    const p = tmp && path.join(tmp, f);
    if (p && fs.existsSync(p)) console.error(`--- ${f} (tail)\n` + fs.readFileSync(p, 'utf8').split('\n').slice(-30).join('\n'));
  }
  await cleanup();
  process.exit(1);
}
