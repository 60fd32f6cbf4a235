/* global window */
// The count profile chart (SPEC §6): every gamma channel per sample, the 1 s mean per channel the
// alarm test compares, the background and the N-sigma threshold, drawn on a <canvas> by hand so
// the console works with no network and no library.
//
// The gateway's gamma test (SPEC §1.1, §3) sums all channels over 1 s (5 samples) and alarms when
// the sum exceeds E + n·√E, E = background (cps, summed) × 1 s. Shown per channel per sample so it
// sits on the same axis as the channels: threshold = (E + n·√E) / (5 · channels).

export const CHANNEL_COLORS = ['#1d5fbf', '#2a9d8f', '#8e44ad', '#d35400'];
const WINDOW = 5;

/** Draws the gamma profile; returns a one-line summary for screen readers. */
export function drawProfile(canvas, profile, backgroundCpsSum) {
  const g = profile.gamma;
  const ctx = setup(canvas);
  const { width: w, height: h } = canvas.getBoundingClientRect();
  const pad = { l: 52, r: 12, t: 14, b: 34 };
  ctx.clearRect(0, 0, w, h);
  if (g.offsetsMs.length === 0) {
    ctx.fillStyle = '#555';
    ctx.fillText('No gamma samples recorded for this occupancy.', pad.l, h / 2);
    return 'no gamma samples';
  }
  const n = g.offsetsMs.length;
  const channels = g.channels;
  const perSample = g.intervalMs / 1000;
  const bgSum = g.backgroundCps ? g.backgroundCps.reduce((a, b) => a + b, 0) : backgroundCpsSum;
  const bgLine = bgSum != null ? (bgSum * perSample) / channels : null;
  const E = bgSum != null ? bgSum * WINDOW * perSample : null;
  const threshold = E != null ? (E + profile.nSigma * Math.sqrt(E)) / (WINDOW * channels) : null;
  const mean = g.counts.map((row) => row.reduce((a, b) => a + b, 0) / channels);
  const rolling = mean.map((_, i) => {
    if (i < WINDOW - 1) return null;
    let s = 0;
    for (let k = i - WINDOW + 1; k <= i; k++) s += mean[k];
    return s / WINDOW;
  });
  const xs = g.offsetsMs.map((t) => t / 1000);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs, xMin + 1);
  let yMax = Math.max(...g.counts.flat(), threshold ?? 0, bgLine ?? 0);
  yMax = niceCeil(yMax * 1.08);
  const X = (x) => pad.l + ((x - xMin) / (xMax - xMin)) * (w - pad.l - pad.r);
  const Y = (y) => h - pad.b - (y / yMax) * (h - pad.t - pad.b);

  // Device-alarm samples (GA lines) and the pre-trigger look-back as bands.
  for (let i = 0; i < n; i++) {
    const x0 = X(xs[i]);
    const x1 = i + 1 < n ? X(xs[i + 1]) : x0 + 4;
    if (g.preTrigger[i]) {
      ctx.fillStyle = '#eef0f3';
      ctx.fillRect(x0, pad.t, x1 - x0, h - pad.t - pad.b);
    }
    if (g.deviceAlarm[i]) {
      ctx.fillStyle = '#f6c5c7';
      ctx.fillRect(x0, pad.t, x1 - x0, 8);
    }
  }
  // Axes and grid.
  ctx.strokeStyle = '#d6d9de';
  ctx.fillStyle = '#333';
  ctx.lineWidth = 1;
  ctx.font = '12px system-ui, sans-serif';
  const yStep = niceStep(yMax / 5);
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    ctx.beginPath();
    ctx.moveTo(pad.l, Y(y));
    ctx.lineTo(w - pad.r, Y(y));
    ctx.stroke();
    ctx.fillText(String(Math.round(y)), 6, Y(y) + 4);
  }
  const xStep = niceStep((xMax - xMin) / 8);
  for (let x = Math.ceil(xMin / xStep) * xStep; x <= xMax; x += xStep) {
    ctx.fillText(`${x.toFixed(xStep < 1 ? 1 : 0)} s`, X(x) - 10, h - pad.b + 16);
  }
  ctx.fillText(`counts per ${g.intervalMs} ms sample`, pad.l, h - 4);

  const line = (values, color, width, dash) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.setLineDash(dash ?? []);
    ctx.beginPath();
    let started = false;
    values.forEach((v, i) => {
      if (v == null) return;
      if (!started) ctx.moveTo(X(xs[i]), Y(v));
      else ctx.lineTo(X(xs[i]), Y(v));
      started = true;
    });
    ctx.stroke();
    ctx.setLineDash([]);
  };
  for (let c = 0; c < channels; c++)
    line(
      g.counts.map((row) => row[c]),
      CHANNEL_COLORS[c % 4],
      1.2,
    );
  line(rolling, '#111', 2.5);
  if (bgLine != null)
    line(
      xs.map(() => bgLine),
      '#2e7d32',
      1.5,
      [6, 4],
    );
  if (threshold != null)
    line(
      xs.map(() => threshold),
      '#c4161c',
      2,
      [10, 5],
    );

  const peak = rolling.reduce((best, v, i) => (v != null && v > best.v ? { v, i } : best), { v: -1, i: 0 });
  return (
    `${n} gamma samples over ${(xMax - xMin).toFixed(1)} s; highest 1 s mean per channel ${peak.v.toFixed(1)} ` +
    `at ${xs[peak.i].toFixed(1)} s` +
    (threshold != null
      ? `; threshold ${threshold.toFixed(1)} (${profile.nSigma}σ), background ${bgLine.toFixed(1)}`
      : '; no background known')
  );
}

/** Neutron counts per sample (summed over tubes) as bars. */
export function drawNeutron(canvas, profile) {
  const s = profile.neutron;
  const ctx = setup(canvas);
  const { width: w, height: h } = canvas.getBoundingClientRect();
  ctx.clearRect(0, 0, w, h);
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#333';
  if (s.offsetsMs.length === 0) {
    ctx.fillText('No neutron samples.', 52, h / 2);
    return;
  }
  const sums = s.counts.map((row) => row.reduce((a, b) => a + b, 0));
  const yMax = Math.max(4, ...sums) * 1.1;
  const bw = (w - 64) / sums.length;
  sums.forEach((v, i) => {
    ctx.fillStyle = s.deviceAlarm[i] ? '#c4161c' : '#6d4c41';
    const bh = (v / yMax) * (h - 24);
    ctx.fillRect(52 + i * bw, h - 18 - bh, Math.max(1, bw - 2), bh);
  });
  ctx.fillStyle = '#333';
  ctx.fillText(`neutron counts per ${s.intervalMs} ms (all tubes); max ${Math.max(...sums)}`, 52, 12);
}

function setup(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  canvas.width = Math.round(rect.width * ratio);
  canvas.height = Math.round(rect.height * ratio);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

function niceCeil(v) {
  const s = niceStep(v / 5);
  return Math.max(s, Math.ceil(v / s) * s);
}
