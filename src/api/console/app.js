/* global window, document, localStorage, sessionStorage, fetch, Node, AudioContext, EventSource, location, URLSearchParams, HTMLInputElement, HTMLTextAreaElement, HTMLSelectElement */
// The operator console (SPEC §6): plain JavaScript modules served by the gateway, no framework,
// no network beyond the gateway. Views are hash routes; the live feed is Server-Sent Events.
// Every text from the gateway goes in through textContent (never innerHTML).
import { CHANNEL_COLORS, drawNeutron, drawProfile } from './chart.js';

const state = {
  me: null,
  lanes: new Map(),
  openAlarms: new Map(),
  codes: null,
  muted: localStorage.getItem('rpmg-muted') === '1',
  feed: null,
  audio: null,
  view: null,
  lastSample: new Map(),
};

// ---------- helpers ----------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    // The console's CSP forbids style attributes; custom properties go through the CSSOM.
    else if (k === 'color') el.style.setProperty('--c', v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const $ = (sel) => document.querySelector(sel);
const main = () => $('#main');
const time = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const canDo = (...roles) => state.me && roles.includes(state.me.role);

async function api(path, options = {}) {
  const res = await fetch(path, {
    credentials: 'same-origin',
    ...options,
    headers: { ...(options.body ? { 'content-type': 'application/json' } : {}), ...(options.headers || {}) },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  if (res.status === 401 && !path.endsWith('/auth/login')) {
    showLogin('Your session has ended: log in again.');
    throw new Error('unauthenticated');
  }
  const type = res.headers.get('content-type') || '';
  const body = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const err = new Error(body && body.message ? body.message : `HTTP ${res.status}`);
    err.body = body;
    throw err;
  }
  return body;
}

// ---------- sound ----------
function beep() {
  if (state.muted) return;
  try {
    state.audio ??= new AudioContext();
    const ctx = state.audio;
    if (ctx.state === 'suspended') void ctx.resume();
    [0, 0.35].forEach((offset) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'square';
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, ctx.currentTime + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + offset + 0.25);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + offset);
      osc.stop(ctx.currentTime + offset + 0.3);
    });
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  } catch {
    // No audio device: the toast still shows.
  }
}
function renderMute() {
  const b = $('#mute');
  b.textContent = state.muted ? 'Sound off' : 'Sound on';
  b.setAttribute('aria-pressed', String(state.muted));
}
function toggleMute() {
  state.muted = !state.muted;
  localStorage.setItem('rpmg-muted', state.muted ? '1' : '0');
  renderMute();
}

function toast(text, href) {
  const t = $('#toast');
  t.replaceChildren(
    text,
    href ? h('a', { href, id: 'toast-open' }, 'Open') : '',
    h('button', { type: 'button', onclick: () => (t.hidden = true) }, 'Dismiss'),
  );
  t.hidden = false;
}

// ---------- login ----------
function showLogin(message) {
  state.me = null;
  state.feed?.close();
  state.feed = null;
  $('#top').hidden = true;
  $('#keys').hidden = true;
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error' }, message || '');
  const form = h(
    'form',
    { class: 'panel login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'rpm-gateway — log in'),
    h('label', { for: 'username' }, 'User'),
    h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true }),
    h('label', { for: 'password' }, 'Password'),
    h('input', {
      id: 'password',
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
    }),
    h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Log in')),
    error,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // The login click is the user gesture browsers want before they allow sound.
    try {
      state.audio ??= new AudioContext();
      void state.audio.resume();
    } catch {
      // No audio device: alarms still show.
    }
    try {
      state.me = await api('/api/v1/auth/login', {
        method: 'POST',
        body: { username: form.username.value, password: form.password.value },
      });
      await start();
    } catch (e) {
      error.textContent =
        e.body?.code === 'RATE_LIMITED' ? 'Too many attempts: wait a minute.' : 'Wrong user or password.';
    }
  });
  main().replaceChildren(form);
  $('#username').focus();
}

async function start() {
  $('#top').hidden = false;
  $('#keys').hidden = false;
  $('#whoami').textContent = `${state.me.username} (${state.me.role})`;
  for (const a of document.querySelectorAll('nav a[data-roles]'))
    a.hidden = !a.dataset.roles.split(' ').includes(state.me.role);
  renderMute();
  state.codes = await api('/api/v1/adjudication-codes');
  const lanes = await api('/api/v1/lanes');
  state.lanes = new Map(lanes.map((l) => [l.id, l]));
  const open = await api('/api/v1/alarms?open=true');
  state.openAlarms = new Map(open.items.map((a) => [a.id, a]));
  connectFeed();
  route();
}

// ---------- live feed ----------
function connectFeed() {
  state.feed?.close();
  const es = new EventSource('/api/v1/live');
  state.feed = es;
  const feedState = $('#feed-state');
  es.onopen = () => {
    feedState.textContent = 'live';
    feedState.className = 'feed live';
  };
  es.onerror = () => {
    feedState.textContent = 'reconnecting…';
    feedState.className = 'feed';
  };
  es.addEventListener('hello', (ev) => {
    for (const l of JSON.parse(ev.data).lanes) state.lanes.set(l.id, l);
    refreshLanes();
  });
  es.addEventListener('lane', (ev) => {
    const l = JSON.parse(ev.data);
    state.lanes.set(l.id, { ...state.lanes.get(l.id), ...l });
    refreshLanes();
  });
  es.addEventListener('sample', (ev) => {
    const s = JSON.parse(ev.data);
    if (s.radiation === 'gamma') state.lastSample.set(s.lane, s);
  });
  es.addEventListener('alarm', (ev) => {
    const a = JSON.parse(ev.data);
    const known = state.openAlarms.has(a.id);
    if (a.status === 'adjudicated') state.openAlarms.delete(a.id);
    else state.openAlarms.set(a.id, a);
    if (!known && a.status === 'raised') {
      beep();
      toast(`New alarm: ${a.lane} #${a.seq} — ${a.category}, ${a.disposition}`, `#/alarm/${a.id}`);
    }
    refreshLanes();
    if (state.view?.onAlarm) state.view.onAlarm(a);
  });
  es.addEventListener('occupancy', (ev) => {
    if (state.view?.onOccupancy) state.view.onOccupancy(JSON.parse(ev.data));
  });
  es.addEventListener('scan', (ev) => {
    if (state.view?.onScan) state.view.onScan(JSON.parse(ev.data));
  });
  es.addEventListener('scanner', (ev) => {
    const { lane, link, linkDetail, problem, status, since } = JSON.parse(ev.data);
    const l = state.lanes.get(lane);
    if (!l) return;
    l.scannerPlc = { link, linkDetail, problem, status, since };
    refreshLanes();
  });
  es.addEventListener('audit', (ev) => {
    if (state.view?.onAudit) state.view.onAudit(JSON.parse(ev.data));
  });
  es.addEventListener('config', (ev) => {
    const c = JSON.parse(ev.data);
    const lane = state.lanes.get(c.lane);
    if (lane) lane.alarm = c.config.alarm;
    if (state.view?.onConfig) state.view.onConfig(c);
  });
}

// ---------- router ----------
const routes = [
  [/^#?\/?$/, lanesView],
  [/^#\/occupancies$/, occupanciesView],
  [/^#\/occupancy\/([^/]+)\/(\d+)$/, (m) => occupancyView(m[1], Number(m[2]), null)],
  // Alarm ids are `<lane>:<occupancy seq>` (older alarms: ULIDs).
  [/^#\/alarm\/([0-9A-Za-z][0-9A-Za-z_:-]*)$/, (m) => alarmView(m[1])],
  [/^#\/devices$/, devicesView],
  [/^#\/health$/, healthView],
  [/^#\/audit$/, auditView],
  [/^#\/users$/, usersView],
];

async function route() {
  if (!state.me) return;
  const hash = location.hash || '#/';
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === hash || (hash.startsWith('#/alarm') && a.getAttribute('href') === '#/'))
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  state.view = null;
  for (const [re, view] of routes) {
    const m = hash.match(re);
    if (m) {
      try {
        await view(m);
      } catch (e) {
        if (e.message !== 'unauthenticated') main().replaceChildren(h('p', { class: 'error' }, e.message));
      }
      main().focus({ preventScroll: true });
      return;
    }
  }
  main().replaceChildren(h('p', {}, 'No such page.'));
}
window.addEventListener('hashchange', route);

// ---------- lanes + alarm queue ----------
function laneTile(l) {
  const sample = state.lastSample.get(l.id);
  const bg = l.background?.gammaCps;
  return h(
    'section',
    { class: `tile ${l.state}`, 'aria-label': `${l.name}: ${l.state}`, 'data-lane': l.id },
    h('h3', {}, l.name, ' ', h('span', { class: 'muted' }, l.id)),
    h(
      'div',
      {},
      h('span', { class: `badge ${l.state} state` }, l.state),
      ' ',
      l.connection !== 'connected' ? `link ${l.connection}` : '',
    ),
    h(
      'div',
      { class: 'muted' },
      `${l.driver} · ${l.channels.gamma}γ + ${l.channels.neutron}n channels · nSigma ${l.alarm?.nSigma ?? '?'}`,
    ),
    h('div', {}, 'γ background: ', bg ? `${Math.round(bg.reduce((a, b) => a + b, 0))} cps` : '—'),
    l.occupancySeq != null && sample
      ? h('div', {}, `vehicle #${l.occupancySeq}: ${sample.counts.reduce((a, b) => a + b, 0)} counts/sample`)
      : '',
    l.lastOccupancy
      ? h(
          'div',
          {},
          'last: ',
          h('a', { href: `#/occupancy/${l.id}/${l.lastOccupancy.seq}` }, `#${l.lastOccupancy.seq}`),
          ' ',
          h('span', { class: `badge ${l.lastOccupancy.disposition}` }, l.lastOccupancy.disposition),
        )
      : '',
    l.activeFaults?.length || l.tamper
      ? h(
          'div',
          { class: 'error' },
          [...(l.activeFaults || []), l.tamper ? 'tamper' : ''].filter(Boolean).join(', '),
        )
      : '',
    scannerLine(l.id, l.scannerPlc),
  );
}

// Commands the scanner's state takes, for the roles that may send them (the gateway checks both
// again); none when its PLC is under local control or in emergency stop (only stop then).
const SCANNER_COMMANDS = {
  idle: [['arm', 'Arm']],
  ready: [
    ['start', 'Start scan'],
    ['stop', 'Stop'],
  ],
  scanning: [['stop', 'Stop']],
  fault: [['reset', 'Reset fault']],
};
function scannerButtons(laneId, s) {
  if (!s.remoteEnabled) return [];
  const crew = canDo('operator', 'technician', 'admin');
  const tech = canDo('technician', 'admin');
  return (SCANNER_COMMANDS[s.state] ?? [])
    .filter(([command]) => (command === 'reset' ? tech : crew) && (!s.emergencyStop || command === 'stop'))
    .map(([command, label]) =>
      h(
        'button',
        { type: 'button', class: 'small', onclick: () => scannerCommand(laneId, command, label) },
        label,
      ),
    );
}

async function scannerCommand(laneId, command, label) {
  try {
    await api(`/api/v1/lanes/${encodeURIComponent(laneId)}/scanner/command`, {
      method: 'POST',
      body: { command },
    });
    toast(`${laneId} scanner: ${label.toLowerCase()} sent`);
  } catch (e) {
    if (e.message !== 'unauthenticated') toast(`${laneId} scanner: ${e.message}`);
  }
}

// The lane's cargo scanner as its PLC reports it: state, what needs attention, or a lost link.
const SCANNER_BADGE = { idle: 'idle', ready: 'idle', scanning: 'occupied', fault: 'fault' };
function scannerLine(laneId, p) {
  if (!p) return '';
  const s = p.status;
  if (p.link !== 'connected') {
    const last = s ? ` (last: ${s.state})` : '';
    const what =
      p.link === 'connecting' ? 'connecting to PLC…' : `PLC link down since ${time(p.since)}${last}`;
    return h(
      'div',
      {
        class: p.link === 'connecting' ? 'muted' : 'error',
        'data-scanner': p.link,
        title: p.linkDetail ?? '',
      },
      'X-ray: ',
      what,
    );
  }
  if (p.problem)
    return h(
      'div',
      { class: 'error', 'data-scanner': 'problem' },
      `X-ray: PLC status not understood (${p.problem}) — check the register map`,
    );
  if (!s) return h('div', { class: 'muted', 'data-scanner': 'connected' }, 'X-ray: PLC connected');
  const notes = [
    s.state === 'fault' ? `fault code ${s.faultCode}` : '',
    s.emergencyStop ? 'EMERGENCY STOP' : '',
    s.radiationOn ? 'radiation on' : '',
  ].filter(Boolean);
  return h(
    'div',
    { 'data-scanner': s.state },
    'X-ray: ',
    h('span', { class: `badge ${SCANNER_BADGE[s.state] ?? ''} state` }, s.state),
    ...scannerButtons(laneId, s),
    notes.length
      ? h('span', { class: s.state === 'fault' || s.emergencyStop ? 'error' : '' }, ` ${notes.join(', ')}`)
      : '',
  );
}

function alarmRow(a) {
  return h(
    'tr',
    { class: a.status === 'raised' ? 'open' : '', 'data-alarm': a.id },
    h('td', {}, time(a.raisedAt)),
    h('td', {}, a.lane),
    h('td', {}, `#${a.seq}`),
    // A referral (INVESTIGATE with no alarm: in doubt) has no radiation alarm to show.
    a.gammaAlarm || a.neutronAlarm
      ? h('td', {}, [a.gammaAlarm ? 'γ' : '', a.neutronAlarm ? 'n' : ''].join(' '))
      : h('td', { class: 'muted', title: 'Referred for inspection without an alarm (in doubt)' }, 'referral'),
    h('td', {}, a.category, ' ', h('span', { class: `badge ${a.disposition}` }, a.disposition)),
    h('td', {}, h('span', { class: `badge ${a.status}` }, a.status)),
    h(
      'td',
      {},
      h('a', { href: `#/alarm/${a.id}` }, 'Open'),
      ' ',
      canDo('operator', 'admin') && a.status === 'raised'
        ? h('button', { type: 'button', onclick: () => acknowledge(a) }, 'Acknowledge')
        : '',
    ),
  );
}

async function acknowledge(a) {
  try {
    const after = await api(`/api/v1/alarms/${a.id}/acknowledge`, {
      method: 'POST',
      body: { expectedVersion: a.version },
    });
    state.openAlarms.set(after.id, after);
    refreshLanes();
    if (state.view?.onAlarm) state.view.onAlarm(after);
  } catch (e) {
    toast(`Could not acknowledge: ${e.message}`);
  }
}

function refreshLanes() {
  if (state.view?.name === 'lanes') state.view.render();
}

async function lanesView() {
  const tiles = h('div', { class: 'tiles', id: 'tiles' });
  const queue = h('tbody', { id: 'queue' });
  main().replaceChildren(
    h('h1', {}, 'Lanes'),
    tiles,
    h('h2', { id: 'queue-title' }, 'Alarm queue'),
    h(
      'table',
      { 'aria-labelledby': 'queue-title' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Raised', 'Lane', 'Vehicle', 'Radiation', 'Assessment', 'Status', ''].map((t) =>
            h('th', {}, t),
          ),
        ),
      ),
      queue,
    ),
  );
  const render = () => {
    tiles.replaceChildren(...[...state.lanes.values()].map(laneTile));
    const open = [...state.openAlarms.values()].sort((a, b) => a.raisedAt.localeCompare(b.raisedAt));
    queue.replaceChildren(
      ...(open.length
        ? open.map(alarmRow)
        : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No open alarms.'))]),
    );
  };
  state.view = { name: 'lanes', render };
  render();
}

// ---------- occupancy / alarm ----------
async function alarmView(id) {
  const alarm = await api(`/api/v1/alarms/${id}`);
  await occupancyView(alarm.lane, alarm.seq, alarm);
}

async function occupancyView(lane, seq, alarmHint) {
  const data = await api(`/api/v1/occupancies/${lane}/${seq}`);
  const o = data.occupancy;
  let alarm = data.alarm || alarmHint;
  const profileCanvas = h('canvas', { class: 'profile', role: 'img', 'aria-label': 'gamma count profile' });
  const neutronCanvas = h('canvas', { class: 'neutron', role: 'img', 'aria-label': 'neutron counts' });
  const summary = h('p', { class: 'muted', id: 'profile-summary' });
  const alarmPanel = h('div', { class: 'panel', id: 'alarm-panel' });
  const auditPanel = h('div', { class: 'panel', id: 'audit-panel' });
  const legend = h(
    'div',
    { class: 'legend' },
    ...(data.profile?.gammaChannelNames || []).map((n, i) => h('span', { color: CHANNEL_COLORS[i % 4] }, n)),
    h('span', { color: '#111' }, '1 s mean per channel'),
    h('span', { class: 'dash', color: '#2e7d32' }, 'background'),
    h('span', { class: 'dash', color: '#c4161c' }, `threshold (${data.profile?.nSigma ?? '?'}σ)`),
    h('span', { color: '#f6c5c7' }, 'RPM alarm samples'),
  );
  const a = o.assessment;
  // Hidden until a scan is linked to this vehicle (most lanes have no scanner).
  const scanPanel = h('section', {
    class: 'panel scan',
    id: 'scan-panel',
    'aria-labelledby': 'scan-title',
    hidden: true,
  });
  main().replaceChildren(
    h(
      'h1',
      {},
      `${o.lane} · vehicle #${o.seq}`,
      o.index != null ? h('span', { class: 'muted' }, ` (device ${o.index})`) : '',
    ),
    h(
      'div',
      { class: 'grid2' },
      h(
        'div',
        {},
        h(
          'div',
          { class: 'panel' },
          h('h2', {}, 'Count profile'),
          data.profile
            ? [profileCanvas, legend, neutronCanvas, summary]
            : h('p', { class: 'muted' }, 'No profile was recorded for this occupancy.'),
        ),
        h(
          'div',
          { class: 'panel', id: 'assessment' },
          h('h2', {}, 'Assessment'),
          h(
            'p',
            {},
            h('strong', {}, a.category),
            ' ',
            h('span', { class: `badge ${a.disposition}` }, a.disposition),
            ` confidence ${Math.round(a.confidence * 100)} %`,
          ),
          h('h3', {}, 'Reasons'),
          h('ul', { class: 'reasons' }, ...a.reasons.map((r) => h('li', {}, r))),
          h(
            'p',
            { class: 'muted' },
            `${time(o.start)} → ${time(o.end)} · ${o.durationS} s · ${o.speedKph != null ? o.speedKph + ' km/h' : 'speed unknown'} · ` +
              `RPM: ${o.device.gammaAlarm || o.device.neutronAlarm ? 'ALARM' : 'clear'} · gateway γ ${o.gamma.maxSigma}σ` +
              (o.neutron.alarm ? ` · neutron ${o.neutron.maxCounts} counts` : ''),
          ),
          data.n42
            ? h(
                'p',
                {},
                h(
                  'a',
                  { href: `/api/v1/occupancies/${o.lane}/${o.seq}/n42`, download: `${o.lane}-${o.seq}.n42` },
                  'Download N42.42',
                ),
              )
            : '',
        ),
        scanPanel,
      ),
      h('div', {}, alarmPanel, auditPanel),
    ),
  );
  if (data.profile) {
    const draw = () => {
      summary.textContent = drawProfile(profileCanvas, data.profile, o.gamma.backgroundCps);
      drawNeutron(neutronCanvas, data.profile);
    };
    draw();
    // Redraw whenever the chart's box changes (window resize, a scrollbar appearing when the
    // scan panel loads): a canvas drawn at one width and shown at another is blurred.
    let width = profileCanvas.getBoundingClientRect().width;
    const observer = new window.ResizeObserver(() => {
      if (!profileCanvas.isConnected) return observer.disconnect();
      const now = profileCanvas.getBoundingClientRect().width;
      if (now !== width) {
        width = now;
        draw();
      }
    });
    observer.observe(profileCanvas);
  }
  const renderAlarm = () =>
    renderAlarmPanel(alarmPanel, alarm, (next) => {
      alarm = next;
      renderAlarm();
      void loadAudit();
    });
  const loadAudit = async () => {
    if (!alarm || !canDo('operator', 'technician', 'admin')) {
      auditPanel.hidden = true;
      return;
    }
    const entries = await api(`/api/v1/audit?target=alarm/${alarm.id}`);
    const history = await api(`/api/v1/alarms/${alarm.id}/history`);
    auditPanel.replaceChildren(
      h('h2', {}, 'History and audit'),
      h(
        'ol',
        { id: 'alarm-history' },
        ...history.map((e) =>
          h('li', {}, `${time(e.at)} — ${e.action}${e.implicit ? ' (implied)' : ''} by ${e.by}`),
        ),
      ),
      h(
        'table',
        { id: 'audit-records' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'When'), h('th', {}, 'Who'), h('th', {}, 'What'), h('th', {}, 'After')),
        ),
        h(
          'tbody',
          {},
          ...entries.items.map((e) =>
            h(
              'tr',
              {},
              h('td', {}, time(e.at)),
              h('td', {}, `${e.actor} (${e.role})`),
              h('td', {}, e.action),
              h('td', {}, h('pre', { class: 'json' }, summarizeAfter(e.after))),
            ),
          ),
        ),
      ),
    );
  };
  renderAlarm();
  void loadAudit();
  const scans = scanLoader(scanPanel, o.lane, o.seq);
  void scans.load();
  state.view = {
    name: 'occupancy',
    alarmId: alarm?.id,
    // A scan analyzed or linked on this lane: reload when it is (or may now be) this vehicle's.
    onScan: (r) => {
      if (r.lane !== o.lane) return;
      const seq = r.fusion ? r.fusion.occupancySeq : null;
      if (seq === o.seq || scans.shows(r.scanId)) void scans.load();
    },
    onAlarm: (next) => {
      if (alarm && next.id === alarm.id) {
        alarm = next;
        renderAlarm();
        void loadAudit();
      }
    },
    acknowledge: () => alarm && alarm.status === 'raised' && acknowledge(alarm),
  };
}

function summarizeAfter(after) {
  if (after && after.adjudication) {
    const j = after.adjudication;
    return `code ${j.code} ${j.label}; secondary ${j.secondaryInspection}${j.notes ? `; “${j.notes}”` : ''}`;
  }
  return JSON.stringify(after, null, 1);
}

// ---------- X-ray scans of an occupancy (SPEC §3 item 6, §6) ----------
const PRIORITY_TEXT = {
  normal: 'normal',
  elevated: 'elevated',
  high: 'HIGH',
  critical: 'CRITICAL',
};

function scanLoader(panel, lane, seq) {
  let shown = new Set();
  let generation = 0;
  return {
    shows: (scanId) => shown.has(scanId),
    async load() {
      const mine = ++generation;
      let list;
      try {
        list = await api(`/api/v1/occupancies/${encodeURIComponent(lane)}/${seq}/scans`);
      } catch (e) {
        if (e.message === 'unauthenticated' || mine !== generation) return;
        panel.hidden = false;
        panel.replaceChildren(
          h('h2', { id: 'scan-title' }, 'X-ray scan'),
          h('p', { class: 'error', role: 'alert' }, `The scans could not be loaded: ${e.message}`),
        );
        return;
      }
      // The analysis (boxes) of each scan; a scan whose detail fails still shows its image and counts.
      const details = await Promise.all(
        list.map((s) => api(`/api/v1/scans/${encodeURIComponent(s.scanId)}`).catch(() => null)),
      );
      if (mine !== generation || !panel.isConnected) return;
      shown = new Set(list.map((s) => s.scanId));
      panel.hidden = list.length === 0;
      panel.replaceChildren(
        h('h2', { id: 'scan-title' }, list.length > 1 ? `X-ray scans (${list.length})` : 'X-ray scan'),
        ...list.map((s, i) => scanItem(s, details[i]?.analysis ?? null)),
      );
    },
  };
}

function box(r) {
  return `${r.width} × ${r.height} px at (${r.x}, ${r.y})`;
}

function scanItem(s, analysis) {
  const id = encodeURIComponent(s.scanId);
  const overlay = `/api/v1/scans/${id}/overlay.png`;
  const regions = analysis?.regions ?? null;
  const suspects = analysis?.shieldingSuspects ?? null;
  const captionId = `scan-caption-${s.scanId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return h(
    'article',
    { class: 'scan-item', 'data-scan-id': s.scanId, 'aria-describedby': captionId },
    h(
      'p',
      { id: captionId },
      h('strong', {}, 'Priority '),
      h(
        'span',
        { class: `badge priority-${s.priority}`, 'data-priority': s.priority },
        PRIORITY_TEXT[s.priority] ?? s.priority,
      ),
      s.raised ? ' raised by the scan' : '',
      h('span', { class: 'muted' }, ` · scan ${s.scanId} · ${time(s.time)}`),
    ),
    h(
      'a',
      {
        href: overlay,
        target: '_blank',
        rel: 'noopener',
        class: 'scan-image',
        title: 'Open the overlay full size',
      },
      h('img', {
        src: overlay,
        alt: `X-ray image of scan ${s.scanId} with the anomaly heat map and boxes: ${s.regions} anomaly region(s), ${s.shieldingSuspects} shielding suspect(s)`,
      }),
    ),
    h(
      'p',
      { class: 'muted' },
      h('a', { href: overlay, target: '_blank', rel: 'noopener' }, 'Overlay full size'),
      ' · ',
      h('a', { href: `/api/v1/scans/${id}/image.png`, target: '_blank', rel: 'noopener' }, 'Original image'),
      ` · highest anomaly score ${Number(s.maxScore).toFixed(2)}`,
    ),
    s.reasons.length ? h('ul', { class: 'reasons' }, ...s.reasons.map((r) => h('li', {}, r))) : '',
    h('h3', {}, `Shielding suspects (${s.shieldingSuspects})`),
    suspects === null || suspects.length === 0
      ? h(
          'p',
          { class: 'muted' },
          s.shieldingSuspects ? 'Details unavailable.' : 'None: the X-ray penetrated everywhere.',
        )
      : h(
          'ul',
          { class: 'scan-suspects' },
          ...suspects.map((r) => h('li', {}, `${box(r)} — ${Math.round(r.opaqueFraction * 100)} % opaque`)),
        ),
    h('h3', {}, `Anomaly regions (${s.regions})`),
    regions === null || regions.length === 0
      ? h('p', { class: 'muted' }, s.regions ? 'Details unavailable.' : 'None above the threshold.')
      : h(
          'ul',
          { class: 'scan-regions' },
          ...regions.map((r) => h('li', {}, `${box(r)} — score ${Number(r.score).toFixed(2)}`)),
        ),
  );
}

function renderAlarmPanel(panel, alarm, onChange) {
  if (!alarm) {
    panel.replaceChildren(
      h('h2', {}, 'Alarm'),
      h('p', { class: 'muted' }, 'This occupancy raised no alarm.'),
    );
    return;
  }
  const parts = [
    h('h2', {}, 'Alarm ', h('span', { class: `badge ${alarm.status}`, id: 'alarm-status' }, alarm.status)),
    h('p', { class: 'muted' }, `raised ${time(alarm.raisedAt)}`),
    alarm.acknowledged
      ? h('p', {}, `acknowledged by ${alarm.acknowledged.by}, ${time(alarm.acknowledged.at)}`)
      : '',
  ];
  if (alarm.adjudication) {
    const j = alarm.adjudication;
    parts.push(
      h(
        'p',
        { id: 'adjudication' },
        `Adjudicated ${j.code} — ${j.label} (${j.group}) by ${j.by}, ${time(j.at)}; secondary inspection ${j.secondaryInspection}`,
      ),
      j.notes ? h('p', {}, `Notes: ${j.notes}`) : '',
    );
  } else if (canDo('operator', 'admin')) {
    const message = h('p', { role: 'status' });
    if (alarm.status === 'raised') {
      parts.push(
        h(
          'p',
          {},
          h(
            'button',
            {
              type: 'button',
              id: 'ack',
              onclick: async () => {
                try {
                  onChange(
                    await api(`/api/v1/alarms/${alarm.id}/acknowledge`, {
                      method: 'POST',
                      body: { expectedVersion: alarm.version },
                    }),
                  );
                } catch (e) {
                  message.textContent = e.message;
                }
              },
            },
            'Acknowledge (a)',
          ),
        ),
      );
    }
    const groups = new Map();
    for (const c of state.codes.codes) {
      if (!groups.has(c.group)) groups.set(c.group, []);
      groups.get(c.group).push(c);
    }
    const form = h(
      'form',
      { id: 'adjudicate-form', 'aria-label': 'Adjudication' },
      h('label', { for: 'code' }, 'Adjudication code'),
      h(
        'select',
        { id: 'code', name: 'code', required: true },
        h('option', { value: '' }, '— choose —'),
        ...[...groups].map(([group, codes]) =>
          h(
            'optgroup',
            { label: group },
            ...codes.map((c) => h('option', { value: c.code }, `${c.code} — ${c.label}`)),
          ),
        ),
      ),
      h('label', { for: 'secondary' }, 'Secondary inspection'),
      h(
        'select',
        { id: 'secondary', name: 'secondary' },
        ...state.codes.secondaryInspection.map((s) => h('option', { value: s }, s)),
      ),
      h('label', { for: 'notes' }, 'Notes'),
      h('textarea', { id: 'notes', name: 'notes', rows: 3, maxlength: 4000 }),
      h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Record adjudication')),
      message,
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!form.code.value) {
        message.textContent = 'Choose an adjudication code.';
        form.code.focus();
        return;
      }
      try {
        onChange(
          await api(`/api/v1/alarms/${alarm.id}/adjudication`, {
            method: 'POST',
            body: {
              code: Number(form.code.value),
              secondaryInspection: form.secondary.value,
              notes: form.notes.value,
              expectedVersion: alarm.version,
            },
          }),
        );
      } catch (e) {
        message.textContent = e.message;
      }
    });
    parts.push(form);
  }
  panel.replaceChildren(...parts);
}

// ---------- occupancies ----------
async function occupanciesView() {
  const params = new URLSearchParams(sessionStorage.getItem('rpmg-occ-filter') || '');
  let offset = 0;
  const body = h('tbody');
  const count = h('p', { class: 'muted', role: 'status' });
  const laneSel = h(
    'select',
    { id: 'f-lane' },
    h('option', { value: '' }, 'all'),
    ...[...state.lanes.keys()].map((id) => h('option', { value: id }, id)),
  );
  const alarmSel = h(
    'select',
    { id: 'f-alarm' },
    h('option', { value: '' }, 'all'),
    h('option', { value: 'true' }, 'alarmed'),
    h('option', { value: 'false' }, 'clear'),
  );
  const dispSel = h(
    'select',
    { id: 'f-disposition' },
    h('option', { value: '' }, 'all'),
    h('option', { value: 'INVESTIGATE' }, 'INVESTIGATE'),
    h('option', { value: 'RELEASE' }, 'RELEASE'),
  );
  const from = h('input', { id: 'f-from', type: 'datetime-local' });
  const to = h('input', { id: 'f-to', type: 'datetime-local' });
  laneSel.value = params.get('lane') || '';
  alarmSel.value = params.get('alarm') || '';
  dispSel.value = params.get('disposition') || '';
  const prev = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        offset = Math.max(0, offset - 50);
        void load();
      },
    },
    '← Newer',
  );
  const next = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        offset += 50;
        void load();
      },
    },
    'Older →',
  );
  const load = async () => {
    const q = new URLSearchParams({ limit: '50', offset: String(offset) });
    if (laneSel.value) q.set('lane', laneSel.value);
    if (alarmSel.value) q.set('alarm', alarmSel.value);
    if (dispSel.value) q.set('disposition', dispSel.value);
    if (from.value) q.set('from', new Date(from.value).toISOString());
    if (to.value) q.set('to', new Date(to.value).toISOString());
    sessionStorage.setItem('rpmg-occ-filter', q.toString());
    const page = await api(`/api/v1/occupancies?${q}`);
    count.textContent = `${page.total} occupancies; showing ${page.total ? offset + 1 : 0}–${offset + page.items.length}`;
    prev.disabled = offset === 0;
    next.disabled = offset + page.items.length >= page.total;
    body.replaceChildren(
      ...page.items.map((o) =>
        h(
          'tr',
          {},
          h('td', {}, time(o.start)),
          h('td', {}, o.lane),
          h('td', {}, h('a', { href: `#/occupancy/${o.lane}/${o.seq}` }, `#${o.seq}`)),
          h('td', {}, `${o.durationS} s`),
          h('td', {}, o.device.gammaAlarm || o.device.neutronAlarm ? 'ALARM' : 'clear'),
          h('td', {}, `γ ${o.gamma.maxSigma}σ${o.neutron.alarm ? ' · n' : ''}`),
          h(
            'td',
            {},
            o.assessment.category,
            ' ',
            h('span', { class: `badge ${o.assessment.disposition}` }, o.assessment.disposition),
          ),
        ),
      ),
    );
  };
  const form = h(
    'form',
    { class: 'panel row', 'aria-label': 'Filter' },
    h('div', {}, h('label', { for: 'f-lane' }, 'Lane'), laneSel),
    h('div', {}, h('label', { for: 'f-alarm' }, 'Alarm'), alarmSel),
    h('div', {}, h('label', { for: 'f-disposition' }, 'Disposition'), dispSel),
    h('div', {}, h('label', { for: 'f-from' }, 'From'), from),
    h('div', {}, h('label', { for: 'f-to' }, 'To'), to),
    h('div', {}, h('button', { class: 'primary', type: 'submit' }, 'Filter')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    offset = 0;
    void load();
  });
  main().replaceChildren(
    h('h1', {}, 'Occupancies'),
    form,
    count,
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Start', 'Lane', 'Vehicle', 'Duration', 'RPM', 'Gateway', 'Assessment'].map((t) =>
            h('th', {}, t),
          ),
        ),
      ),
      body,
    ),
    h('p', { class: 'row' }, prev, next),
  );
  await load();
  state.view = {
    name: 'occupancies',
    onOccupancy: () => {
      if (offset === 0) void load();
    },
  };
}

// ---------- devices (technicians) ----------
async function devicesView() {
  const devices = await api('/api/v1/devices');
  const editable = canDo('technician', 'admin');
  const panels = devices.map((d) => {
    const c = d.config;
    const message = h('p', { role: 'status', id: `msg-${d.lane}` });
    const form = h(
      'form',
      { class: 'panel', 'aria-label': `Configuration of ${d.lane}`, 'data-lane': d.lane },
      h(
        'h2',
        {},
        `${c.name || d.lane} `,
        h('span', { class: 'muted' }, `${d.lane} · ${c.driver} · link ${d.connection}`),
      ),
      h(
        'div',
        { class: 'row' },
        h(
          'div',
          {},
          h('label', { for: `name-${d.lane}` }, 'Name'),
          h('input', { id: `name-${d.lane}`, name: 'name', value: c.name || '', disabled: !editable }),
        ),
        h(
          'div',
          {},
          h('label', { for: `nsigma-${d.lane}` }, 'Gamma N-sigma (live)'),
          h('input', {
            id: `nsigma-${d.lane}`,
            name: 'nSigma',
            type: 'number',
            step: '0.1',
            min: 1,
            max: 50,
            value: c.alarm.nSigma,
            disabled: !editable,
          }),
        ),
        h(
          'div',
          {},
          h('label', { for: `nfap-${d.lane}` }, 'Neutron false-alarm P (live)'),
          h('input', {
            id: `nfap-${d.lane}`,
            name: 'nfap',
            type: 'number',
            step: 'any',
            value: c.alarm.neutronFalseAlarmProbability,
            disabled: !editable,
          }),
        ),
        h(
          'div',
          {},
          h('label', { for: `address-${d.lane}` }, 'Address (restart)'),
          h('input', {
            id: `address-${d.lane}`,
            name: 'address',
            value: c.address,
            size: 36,
            disabled: !editable,
          }),
        ),
        h(
          'div',
          {},
          h('label', { for: `enabled-${d.lane}` }, 'Enabled (restart)'),
          h('input', {
            id: `enabled-${d.lane}`,
            name: 'enabled',
            type: 'checkbox',
            checked: c.enabled,
            disabled: !editable,
          }),
        ),
        editable ? h('div', {}, h('button', { class: 'primary', type: 'submit' }, 'Save')) : '',
      ),
      message,
      Object.keys(d.reportedSetup).length
        ? h(
            'details',
            {},
            h('summary', {}, 'Setup reported by the device'),
            h(
              'table',
              {},
              h(
                'tbody',
                {},
                ...Object.entries(d.reportedSetup).map(([section, values]) =>
                  h(
                    'tr',
                    {},
                    h('th', {}, section),
                    h(
                      'td',
                      {},
                      Object.entries(values)
                        .map(([k, v]) => `${k}=${v}`)
                        .join(', '),
                    ),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'The device has not reported its setup yet.'),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const patch = {
        alarm: { nSigma: Number(form.nSigma.value), neutronFalseAlarmProbability: Number(form.nfap.value) },
        address: form.address.value,
        enabled: form.enabled.checked,
        ...(form.name.value ? { name: form.name.value } : {}),
      };
      try {
        const r = await api(`/api/v1/devices/${d.lane}/config`, { method: 'PATCH', body: patch });
        message.className = 'ok';
        message.textContent =
          (r.live.length ? `Applied now: ${r.live.join(', ')}.` : 'Nothing changed that applies live.') +
          (r.restartRequired.length
            ? ` Stored, in effect after a restart: ${r.restartRequired.join(', ')}.`
            : '');
      } catch (e) {
        message.className = 'error';
        message.textContent = e.message;
      }
    });
    return form;
  });
  main().replaceChildren(
    h('h1', {}, 'Devices and thresholds'),
    editable ? '' : h('p', { class: 'muted' }, 'Read only: technicians and admins change settings.'),
    ...panels,
  );
  state.view = { name: 'devices' };
}

// ---------- health ----------
async function healthView() {
  const r = await api('/api/v1/detector-health');
  main().replaceChildren(
    h('h1', {}, 'Detector health'),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[
            'Lane',
            'State',
            'Link',
            'γ background (cps per channel)',
            'n background',
            'Unusable input',
            'Findings',
          ].map((t) => h('th', {}, t)),
        ),
      ),
      h(
        'tbody',
        {},
        ...r.lanes.map((l) =>
          h(
            'tr',
            {},
            h('td', {}, l.lane),
            h('td', {}, h('span', { class: `badge ${l.state}` }, l.state)),
            h('td', {}, l.connection),
            h(
              'td',
              {},
              l.gammaBackgroundCps ? l.gammaBackgroundCps.join(' · ') : '—',
              l.gammaFault !== 'none' ? ` (${l.gammaFault})` : '',
            ),
            h('td', {}, l.neutronBackgroundCps ? l.neutronBackgroundCps.join(' · ') : '—'),
            h(
              'td',
              {},
              Object.entries(l.badInput)
                .map(([k, v]) => `${k}: ${v}`)
                .join(', ') || '0',
            ),
            h(
              'td',
              {},
              l.findings.length
                ? h('ul', { class: 'reasons' }, ...l.findings.map((f) => h('li', {}, f)))
                : 'OK',
            ),
          ),
        ),
      ),
    ),
  );
  state.view = { name: 'health' };
}

// ---------- audit ----------
async function auditView() {
  const r = await api('/api/v1/audit?limit=100');
  const v = await api('/api/v1/audit/verify');
  main().replaceChildren(
    h('h1', {}, 'Audit log'),
    h(
      'p',
      { class: v.intact ? 'ok' : 'error' },
      v.intact ? `Hash chain intact (${r.total} entries).` : `Hash chain broken at entry ${v.firstBadId}.`,
    ),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h('tr', {}, ...['When', 'Who', 'Action', 'Target', 'Before', 'After'].map((t) => h('th', {}, t))),
      ),
      h(
        'tbody',
        {},
        ...r.items.map((e) =>
          h(
            'tr',
            {},
            h('td', {}, time(e.at)),
            h('td', {}, `${e.actor} (${e.role})`),
            h('td', {}, e.action),
            h('td', {}, e.target),
            h('td', {}, h('pre', { class: 'json' }, JSON.stringify(e.before, null, 1))),
            h('td', {}, h('pre', { class: 'json' }, JSON.stringify(e.after, null, 1))),
          ),
        ),
      ),
    ),
  );
  state.view = { name: 'audit', onAudit: () => void auditView() };
}

// ---------- users ----------
async function usersView() {
  const users = await api('/api/v1/users');
  const message = h('p', { role: 'status' });
  const form = h(
    'form',
    { class: 'panel row', 'aria-label': 'New user' },
    h(
      'div',
      {},
      h('label', { for: 'nu-name' }, 'User'),
      h('input', { id: 'nu-name', name: 'username', required: true }),
    ),
    h(
      'div',
      {},
      h('label', { for: 'nu-role' }, 'Role'),
      h(
        'select',
        { id: 'nu-role', name: 'role' },
        ...['viewer', 'operator', 'technician', 'admin'].map((r) => h('option', { value: r }, r)),
      ),
    ),
    h(
      'div',
      {},
      h('label', { for: 'nu-pass' }, 'Password (12+)'),
      h('input', {
        id: 'nu-pass',
        name: 'password',
        type: 'password',
        minlength: 12,
        required: true,
        autocomplete: 'new-password',
      }),
    ),
    h('div', {}, h('button', { class: 'primary', type: 'submit' }, 'Create')),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('/api/v1/users', {
        method: 'POST',
        body: { username: form.username.value, role: form.role.value, password: form.password.value },
      });
      await usersView();
    } catch (e) {
      message.textContent = e.message;
    }
  });
  main().replaceChildren(
    h('h1', {}, 'Users'),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...['User', 'Role', 'State', 'Created'].map((t) => h('th', {}, t)))),
      h(
        'tbody',
        {},
        ...users.map((u) =>
          h(
            'tr',
            {},
            h('td', {}, u.username),
            h('td', {}, u.role),
            h('td', {}, u.disabled ? 'disabled' : 'enabled'),
            h('td', {}, time(u.createdAt)),
          ),
        ),
      ),
    ),
    h('h2', {}, 'New user'),
    form,
    message,
  );
  state.view = { name: 'users' };
}

// ---------- keyboard ----------
document.addEventListener('keydown', (ev) => {
  if (!state.me || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement)
    return;
  const nav = document.querySelector(`nav a[data-key="${ev.key}"]`);
  if (nav && !nav.hidden) {
    location.hash = nav.getAttribute('href');
    ev.preventDefault();
  } else if (ev.key === 'n') {
    const next = [...state.openAlarms.values()].sort((a, b) => a.raisedAt.localeCompare(b.raisedAt))[0];
    if (next) location.hash = `#/alarm/${next.id}`;
  } else if (ev.key === 'a') {
    state.view?.acknowledge?.();
  } else if (ev.key === 'm') {
    toggleMute();
  } else if (ev.key === '?') {
    window.open('/api/docs', '_blank', 'noopener');
  }
});

$('#mute').addEventListener('click', toggleMute);
$('#logout').addEventListener('click', async () => {
  await api('/api/v1/auth/logout', { method: 'POST' }).catch(() => {});
  showLogin('Logged out.');
});

// ---------- boot ----------
(async () => {
  try {
    const res = await fetch('/api/v1/auth/me', { credentials: 'same-origin' });
    if (res.ok) {
      state.me = await res.json();
      await start();
    } else showLogin();
  } catch {
    showLogin('The gateway does not answer.');
  }
})();
