// worker-page.mjs: a worker's own page in headless Chromium, on a phone-sized screen
// (issue 18; the field's part of check-browser.mjs, which calls checkWorkerPage()).
//
// The doctor of a household with an open alert gets their link from doorwatchctl, then taps
// through the page as on a phone: the page shows the alert and their households; "confirm"
// acknowledges it (channel worker-page); a reading of 80 °C is refused with a clear answer,
// 36.8 °C is recorded; "I am at the door" checks in; the same form sent twice acts once and
// answers alike; a revoked link says so. Screenshots: worker-*.png.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

function ctl(ctx, ...args) {
  return execFileSync(path.join(ctx.build, 'doorwatchctl'), ['-c', ctx.conf, '--json', ...args]).toString();
}

function db(ctx, sql) {
  return execFileSync('sqlite3', ['-readonly', path.join(ctx.tmp, 'doorwatch.db'), sql]).toString().trim();
}

// The result page after tapping a form's button.
async function tapAndWait(page, locator) {
  await Promise.all([page.waitForNavigation(), locator.tap()]);
  return page.locator('main').innerText();
}

export async function checkWorkerPage(ctx) {
  const { browser, base, shots, log, api, waitFor } = ctx;
  // An open alert (the status page check leaves one) and its household's doctor.
  const open = await waitFor('an open alert', async () => {
    const a = await api(base, '/api/v1/alerts?state=open');
    return a.alerts.length > 0 && a.alerts;
  });
  const alert = open[0];
  const household = ctx.households.find((h) => h.id === alert.household);
  const doctor = household.team.medical;
  const link = JSON.parse(ctl(ctx, 'worker', 'link', doctor));
  if (!link.url.startsWith(base + '/w/')) throw new Error('worker link: ' + JSON.stringify(link));

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
                                             locale: 'zh-CN', isMobile: true, hasTouch: true,
                                             userAgent: 'Mozilla/5.0 (Linux; Android 12) Mobile MicroMessenger/8.0' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push('worker page error: ' + e.message));
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });

  // 1. The page: the alert and the doctor's households; nothing changed by opening it.
  await page.goto(link.url);
  await page.locator(`[data-alert="${alert.id}"]`).waitFor();
  const text = await page.locator('main').innerText();
  for (const want of ['我的工作页面', '待处理告警', household.address, '我负责的住户', '最近开门'])
    if (!text.includes(want)) throw new Error(`worker page lacks "${want}"`);
  await page.screenshot({ path: path.join(shots, 'worker-page.png'), fullPage: true });
  if ((await api(base, `/api/v1/alerts/${alert.id}`)).state !== 'open') throw new Error('opening the page acted');

  // 2. Confirm the alert.
  let result = await tapAndWait(page, page.locator(`[data-alert="${alert.id}"] form.ack button`));
  if (!result.includes('已确认')) throw new Error('no confirmation: ' + result);
  await page.screenshot({ path: path.join(shots, 'worker-ack.png'), fullPage: true });
  const acked = await api(base, `/api/v1/alerts/${alert.id}`);
  if (acked.state !== 'acked' || acked.acked_by !== doctor || acked.ack_channel !== 'worker-page')
    throw new Error(`after the tap: ${acked.state} by ${acked.acked_by} via ${acked.ack_channel}`);

  // 3. A reading of 80 °C: refused, said plainly; then 36.8 °C recorded.
  await Promise.all([page.waitForNavigation(), page.locator('a.button').tap()]);
  const card = page.locator(`[data-household="${household.id}"]`);
  await card.locator('details summary').tap();
  await card.locator('form.reading input[name="temperature"]').evaluate((e) => { e.min = ''; e.max = ''; });
  await card.locator('form.reading input[name="temperature"]').fill('80');
  result = await tapAndWait(page, card.locator('form.reading button'));
  if (!result.includes('体温 80.0℃ 超出 34–43℃')) throw new Error('80 °C: ' + result);
  await page.screenshot({ path: path.join(shots, 'worker-reading-refused.png'), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.locator('a.button').tap()]);
  await card.locator('details summary').tap();
  await card.locator('form.reading input[name="temperature"]').fill('36.8');
  await card.locator('form.reading textarea[name="note"]').fill('精神好');
  result = await tapAndWait(page, card.locator('form.reading button'));
  if (!result.includes('已记录体温')) throw new Error('36.8 °C: ' + result);
  const stored = db(ctx, `SELECT worker || ' ' || channel || ' ' || temperature FROM reading WHERE household = '${household.id}'`);
  if (stored !== `${doctor} worker-page 36.8`) throw new Error('reading stored as ' + stored);

  // 4. "I am at the door", sent twice as a flaky network would: one check-in, one answer.
  await Promise.all([page.waitForNavigation(), page.locator('a.button').tap()]);
  const form = card.locator('form.checkin');
  const fields = {};
  for (const input of await form.locator('input[type="hidden"]').all())
    fields[await input.getAttribute('name')] = await input.getAttribute('value');
  const send = () => page.request.post(link.url, { form: fields });
  const first = await send(), second = await send();
  if (first.status() !== 200 || second.status() !== 200 || (await first.text()) !== (await second.text()))
    throw new Error(`check-in twice: ${first.status()} / ${second.status()}`);
  const checkins = db(ctx, `SELECT count(*) || ' ' || group_concat(channel) FROM checkin WHERE household = '${household.id}'`);
  if (checkins !== '1 worker-page') throw new Error('check-ins: ' + checkins);

  // 5. A revoked link says so.
  ctl(ctx, 'worker', 'link', doctor, '--revoke');
  const gone = await page.goto(link.url);
  const goneText = await page.locator('main').innerText();
  if (gone.status() !== 410 || !goneText.includes('已被停用')) throw new Error(`revoked link: ${gone.status()} ${goneText}`);
  await page.screenshot({ path: path.join(shots, 'worker-revoked.png'), fullPage: true });

  if (external.length) throw new Error('external requests: ' + external.join(', '));
  if (problems.length) throw new Error(problems.join('; '));
  await context.close();
  log(`worker page: ${doctor} acknowledged ${alert.id}, refused 80 °C, recorded 36.8 °C, checked in once for two sends,`,
      'revoked link refused; screenshots worker-*.png');
}
