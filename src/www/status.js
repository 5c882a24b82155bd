// doorwatch status page: the command centre's worklist per community (alerts not yet handled,
// oldest first; acknowledged ones shown as such) with filters by state, community, kind and
// day, and the households under observation, polled from the JSON API every 10 s. The office's API token is asked for once
// and kept in sessionStorage (gone when the browser tab closes). Everything from the server
// is inserted as text, never as HTML.
'use strict';

const KEY = 'doorwatch.token';
const POLL_MS = 10000;
const KINDS = {
  door_open_unexpected: '异常开门', person_left: '有人外出', door_held_open: '门长时间未关',
  too_many_openings: '开门次数超限', pass_overdue: '通行证到期未返回', tamper: '设备被拆动',
  device_offline: '设备离线', battery_low: '设备电量低', monitoring_gap: '监控中断',
  notification_failed: '通知发送失败', storage_failed: '存储故障', observation_ended: '观察结束',
  round_missed: '健康巡查未完成', fever: '发热或可疑症状',
};
const STEPS = { team: '包户小组', leader: '社区值班领导', command: '街道指挥中心' };
const DOOR = { open: ['开', 'red'], closed: ['关', 'green'], unknown: ['未知', ''] };
const HEALTH = {
  ok: ['正常', 'green'], unknown: ['未上报', ''], battery_low: ['电量低', 'amber'],
  offline: ['离线', 'red'], tampered: ['被拆动', 'red'],
};
let timer = null;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function tag(text, cls) {
  return el('span', { class: 'tag ' + (cls || '') }, text);
}

function age(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return s + ' 秒';
  if (s < 3600) return Math.floor(s / 60) + ' 分钟';
  if (s < 86400) return Math.floor(s / 3600) + ' 小时 ' + Math.floor((s % 3600) / 60) + ' 分';
  return Math.floor(s / 86400) + ' 天';
}

// Groups by the community's name (its id when it has none), sorted by name.
function groupBy(items) {
  const groups = new Map();
  for (const it of items) {
    const k = it.community_name || it.community || '—';
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(it);
  }
  return [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0], 'zh-CN'));
}

const STATE_TITLES = {
  unresolved: '未处理的告警', open: '未确认的告警', acked: '已确认、未处理完的告警',
  resolved: '已处理的告警', all: '全部告警',
};

// The alert filters, as the API's query (the same words as doorwatchctl alerts list).
function alertQuery() {
  const q = new URLSearchParams({ state: $('f-state').value, limit: '1000' });
  if ($('f-community').value) q.set('community', $('f-community').value);
  if ($('f-kind').value) q.set('kind', $('f-kind').value);
  if ($('f-date').value) q.set('date', $('f-date').value);
  return q;
}

function stateTag(a, now) {
  if (a.state === 'acked')
    return tag('已确认' + (a.acked_by_name || a.acked_by ? ' · ' + (a.acked_by_name || a.acked_by) : '') +
               (a.acked_at ? ' · ' + age(now - a.acked_at) + '前' : ''), 'amber');
  if (a.state === 'resolved') return tag('已处理', 'green');
  return tag('未确认', 'red');
}

async function api(path) {
  const res = await fetch(path, {
    headers: { Authorization: 'Bearer ' + sessionStorage.getItem(KEY) },
    cache: 'no-store',
  });
  if (res.status === 401) throw Object.assign(new Error('令牌无效，请重新输入'), { auth: true });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status));
  return body;
}

function renderAlerts(data) {
  const box = $('alerts');
  const worklist = ['unresolved', 'open', 'acked'].includes($('f-state').value);
  // A worklist oldest first, the not yet acknowledged before the acknowledged; a history
  // newest first.
  const rank = (a) => (a.state === 'open' ? 0 : 1);
  const alerts = data.alerts.slice().sort((a, b) => worklist
    ? rank(a) - rank(b) || a.raised_at - b.raised_at : b.raised_at - a.raised_at);
  $('alert-title').textContent = STATE_TITLES[$('f-state').value] || '告警';
  $('alert-count').textContent = '（' + alerts.length + '）';
  box.replaceChildren();
  if (!alerts.length) {
    box.append(el('p', { class: 'empty' }, '没有符合条件的告警。'));
    return;
  }
  for (const [community, list] of groupBy(alerts)) {
    const rows = list.map((a) => el('tr', { 'data-alert': a.id, 'data-state': a.state, class: a.state },
      el('td', {}, age(data.now - a.raised_at)),
      el('td', {}, tag(KINDS[a.kind] || a.kind, a.severity === 'low' ? 'amber' : 'red')),
      el('td', {}, stateTag(a, data.now)),
      el('td', {}, a.address || a.household || '—'),
      el('td', {}, a.state === 'open'
        ? (STEPS[a.step] || a.step || '—') + (a.round > 1 ? ' · 第 ' + a.round + ' 轮' : '') : ''),
      el('td', { class: 'wide' }, a.count > 1 ? a.count + ' 次' : ''),
      el('td', { class: 'wide muted' }, a.id)));
    box.append(el('div', { class: 'community' }, el('h3', {}, community),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, '已过去'), el('th', {}, '类型'),
        el('th', {}, '状态'), el('th', {}, '地址'), el('th', {}, '当前通知'),
        el('th', { class: 'wide' }, '次数'), el('th', { class: 'wide' }, '编号'))),
      el('tbody', {}, ...rows))));
  }
}

function renderHouseholds(data) {
  const box = $('households');
  $('household-count').textContent = '（' + data.total + '）';
  box.replaceChildren();
  if (!data.households.length) {
    box.append(el('p', { class: 'empty' }, '当前没有观察中的住户。'));
    return;
  }
  for (const [community, list] of groupBy(data.households)) {
    const rows = list.map((h) => {
      const door = DOOR[h.door.state] || DOOR.unknown;
      const health = HEALTH[h.health] || [h.health, ''];
      // Devices worth a look by name; "never reported" shows in the household's tag.
      const bad = h.devices.filter((d) => d.health !== 'ok' && d.health !== 'unknown')
        .map((d) => d.id + '：' + (HEALTH[d.health] || [d.health])[0]);
      return el('tr', { 'data-household': h.id },
        el('td', {}, h.address),
        el('td', {}, tag(door[0], door[1]),
          h.door.changed_at ? el('span', { class: 'muted' }, ' ' + age(data.now - h.door.changed_at) + '前') : ''),
        el('td', {}, tag(health[0], health[1]), bad.length ? el('div', { class: 'muted' }, bad.join('；')) : ''),
        el('td', {}, h.open_alerts ? tag(h.open_alerts + ' 条待确认', 'red') : ''),
        el('td', { class: 'wide muted' }, h.id));
    });
    box.append(el('div', { class: 'community' }, el('h3', {}, community),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, '地址'), el('th', {}, '门'),
        el('th', {}, '设备'), el('th', {}, '告警'), el('th', { class: 'wide' }, '编号'))),
      el('tbody', {}, ...rows))));
  }
}

// The daily report: fetched with the token (links cannot carry it), then shown from a blob
// (HTML, in a tab opened at the click so that no popup blocker stops it) or saved (CSV).
function today() {
  const d = new Date();
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

async function report(format, tab) {
  const q = new URLSearchParams({ date: $('report-date').value || today(), format });
  if ($('report-community').value) q.set('community', $('report-community').value);
  const res = await fetch('api/v1/reports/daily?' + q, {
    headers: { Authorization: 'Bearer ' + sessionStorage.getItem(KEY) }, cache: 'no-store',
  });
  if (!res.ok) {
    if (tab) tab.close();
    const body = await res.json().catch(() => ({}));
    $('error').textContent = '日报：' + (body.error || ('HTTP ' + res.status));
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  if (tab) {
    tab.location = url;
  } else {
    const a = el('a', { href: url, download: '日报-' + q.get('date') + '.' + format });
    document.body.append(a);
    a.click();
    a.remove();
  }
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// The communities (by name) of the households into the filter and report choices.
function fillCommunities(households) {
  for (const sel of [$('report-community'), $('f-community')]) {
    const have = new Set([...sel.options].map((o) => o.value));
    for (const h of households)
      if (h.community && !have.has(h.community)) {
        have.add(h.community);
        sel.append(el('option', { value: h.community }, h.community_name || h.community));
      }
  }
}

async function refresh() {
  clearTimeout(timer);
  try {
    const [alerts, households] = await Promise.all([
      api('api/v1/alerts?' + alertQuery()), api('api/v1/households')]);
    renderAlerts(alerts);
    renderHouseholds(households);
    fillCommunities(households.households);
    $('error').textContent = '';
    $('updated').textContent = '更新于 ' + new Date().toLocaleTimeString('zh-CN');
    $('board').hidden = false;
    document.body.dataset.loaded = 'true';
  } catch (e) {
    $('error').textContent = e.message;
    if (e.auth) {
      sessionStorage.removeItem(KEY);
      showLogin();
      return;
    }
  }
  timer = setTimeout(refresh, POLL_MS);
}

function showLogin() {
  clearTimeout(timer);
  $('board').hidden = true;
  $('login').hidden = false;
  $('token').focus();
}

document.addEventListener('DOMContentLoaded', () => {
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $('token').value.trim());
    $('token').value = '';
    $('login').hidden = true;
    refresh();
  });
  for (const [k, name] of Object.entries(KINDS)) $('f-kind').append(el('option', { value: k }, name));
  for (const id of ['f-state', 'f-community', 'f-kind', 'f-date'])
    $(id).addEventListener('change', () => refresh());
  $('filters').addEventListener('submit', (ev) => ev.preventDefault());
  $('report-date').value = today();
  $('report').addEventListener('submit', (ev) => {
    ev.preventDefault();
    report('html', window.open('', '_blank'));
  });
  $('report-csv').addEventListener('click', () => report('csv', null));
  $('logout').addEventListener('click', (ev) => {
    ev.preventDefault();
    sessionStorage.removeItem(KEY);
    showLogin();
  });
  if (sessionStorage.getItem(KEY)) refresh(); else showLogin();
});
