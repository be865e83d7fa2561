// Timing of the release build in headless Chromium (figures for BENCHMARKS.md):
// - bundle size and first load;
// - keystroke -> updated graph for 200/100, 1,000/500 and 10,000/5,000 (endpoints/policies):
//   from the end of the editor's debounce to the next painted frame after the new graph;
// - pasting 10,000 pods and 5,000 policies -> first graph, with the longest main-thread
//   task seen meanwhile (a PerformanceObserver for long tasks);
// - pan and zoom on the 10,000-pod graph: frames per second while the view moves;
// - the engine alone (Engine::new + connectivity) in the worker's wasm, for the L input.
// Run: `cd e2e && node bench.mjs` after `scripts/build-app.sh`. `BENCH_RUNS` keystrokes each,
// `BENCH_SIZES` (e.g. `200x100,10000x5000`), `BENCH_QUERY` (default `?bench`: the worker also
// times the engine alone once), `BENCH_TASKS=1` lists the long tasks of each paste,
// `NETPOL_DIST` serves another build.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { serve, DIST } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';
import { Playground } from './lib/playground.mjs';
import { generateDocs } from './lib/generate.mjs';

const DEBOUNCE_MS = 150;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bundleSize() {
  let raw = 0;
  let gz = 0;
  for (const f of fs.readdirSync(DIST)) {
    if (!/\.(wasm|js)$/.test(f)) continue;
    const body = fs.readFileSync(path.join(DIST, f));
    raw += body.length;
    gz += zlib.gzipSync(body, { level: 9 }).length;
  }
  return { raw, gz };
}

async function firstLoad(browser, url, runs = 5) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('[data-testid="edge"]', { state: 'attached' });
    times.push(await page.evaluate(() => performance.now()));
    await context.close();
  }
  return median(times);
}

/** Starts recording long tasks (and returns nothing); read them with `longTasks`. */
async function watchLongTasks(page) {
  await page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) { window.__long.push(e.duration); (window.__longAt ??= []).push([Math.round(e.startTime), Math.round(e.duration)]); }
    }).observe({ type: 'longtask', buffered: false });
  });
}

const longTasks = (page) => page.evaluate(() => window.__long ?? []);

/**
 * Pastes both texts at once (one debounce) and waits for the graph; milliseconds. The texts
 * reach the page first, in a task of their own (handing 3.9 MB of arguments to the page is
 * the test harness's work, not the playground's); the long-task observer starts after that.
 */
async function paste(pg, texts) {
  await pg.page.evaluate((texts) => {
    window.__texts = texts;
  }, texts);
  await watchLongTasks(pg.page);
  return pg.page.evaluate(async ({ debounce }) => {
    const { policies, cluster } = window.__texts;
    const app = document.querySelector('[data-testid="app"]');
    const gen0 = Number(app.dataset.generation);
    const set = (id, text) => {
      const ta = document.querySelector(`[data-testid="${id}"]`);
      ta.value = text;
      ta.dispatchEvent(new Event('input', { bubbles: true }));
    };
    const t0 = performance.now();
    window.__pasteAt = t0;
    set('policies-editor', policies);
    set('cluster-editor', cluster);
    await new Promise((res) => {
      const check = () => (Number(app.dataset.generation) > gen0 ? res() : setTimeout(check, 5));
      check();
    });
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0 - debounce;
  }, { debounce: DEBOUNCE_MS });
}

/**
 * One keystroke's worth of change (a label value of the first pod); milliseconds from the end
 * of the debounce to the paint of the first frame that shows the new graph: the generation is
 * looked for in each frame's requestAnimationFrame callback, and a timer set there fires once
 * that frame has been painted. `nextFrame`: the older, coarser measure (one more frame).
 */
async function keystroke(pg, i) {
  return pg.page.evaluate(async ({ i, debounce }) => {
    const app = document.querySelector('[data-testid="app"]');
    const ta = document.querySelector('[data-testid="cluster-editor"]');
    const gen0 = Number(app.dataset.generation);
    const t0 = performance.now();
    ta.value = ta.value.replace(/tier: \w+/, i % 2 ? 'tier: web' : 'tier: db');
    ta.dispatchEvent(new Event('input', { bubbles: true }));
    const painted = await new Promise((res) => {
      const check = () => (Number(app.dataset.generation) > gen0 ? setTimeout(() => res(performance.now()), 0) : requestAnimationFrame(check));
      requestAnimationFrame(check);
    });
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return { painted: painted - t0 - debounce, nextFrame: performance.now() - t0 - debounce };
  }, { i, debounce: DEBOUNCE_MS });
}

async function timings(pg) {
  // (Builds without the worker have no step timings: none, rather than a wait.)
  const area = pg.tid('graph-area');
  const raw = ((await area.count()) ? await area.getAttribute('data-timings') : null) ?? '';
  const latency = Number((await area.count()) ? await area.getAttribute('data-latency-ms') : 0);
  return Object.fromEntries([['latency', latency]].concat(raw.split(';').filter(Boolean).map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)])));
}

/** Moves the view every frame for `ms` (drag-pan, then wheel-zoom); frames per second. */
async function panZoom(pg, ms = 2000) {
  return pg.page.evaluate(async (ms) => {
    const target = document.querySelector('[data-testid="graph-canvas"]') ?? document.querySelector('svg[data-testid="graph"]');
    const r = target.getBoundingClientRect();
    const cx = r.left + r.width / 2;
    const cy = r.top + r.height / 2;
    const fire = (type, x, y, extra = {}) =>
      target.dispatchEvent(new MouseEvent(type, { clientX: x, clientY: y, bubbles: true, buttons: 1, ...extra }));
    const run = (step) =>
      new Promise((done) => {
        const frames = [];
        const start = performance.now();
        const tick = (now) => {
          frames.push(now);
          step(frames.length);
          if (now - start < ms) requestAnimationFrame(tick);
          else done(frames);
        };
        requestAnimationFrame(tick);
      });
    fire('mousedown', cx, cy);
    const pan = await run((k) => fire('mousemove', cx + 120 * Math.sin(k / 15), cy + 80 * Math.cos(k / 20)));
    fire('mouseup', cx, cy);
    const zoom = await run((k) =>
      target.dispatchEvent(new WheelEvent('wheel', { clientX: cx, clientY: cy, deltaY: k % 40 < 20 ? -40 : 40, bubbles: true, cancelable: true })),
    );
    const stats = (f) => {
      const gaps = f.slice(1).map((t, i) => t - f[i]);
      return { fps: (f.length - 1) / ((f[f.length - 1] - f[0]) / 1000), worstFrameMs: Math.max(...gaps) };
    };
    return { pan: stats(pan), zoom: stats(zoom) };
  }, ms);
}

async function size(browser, url, pods, policies) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const pg = await Playground.open(context, url);
  pg.page.setDefaultTimeout(240000);
  const texts = generateDocs(pods, policies, 7);
  const first = await paste(pg, texts);
  const pasteLong = await longTasks(pg.page);
  if (process.env.BENCH_TASKS) console.log('long tasks [start after paste, ms]:', JSON.stringify(await pg.page.evaluate(() => (window.__longAt ?? []).map(([s, d]) => [s - Math.round(window.__pasteAt), d]))));
  // The graph's nodes, from the list's summary (the canvas's list fills a slice per task).
  const drawn = Number((await pg.tid('graph-list').locator('summary').innerText().catch(() => '')).match(/([\d,]+) nodes/)?.[1].replaceAll(',', '') ?? await pg.page.locator('[data-testid="node"]').count());
  const canvas = (await pg.page.locator('[data-testid="graph-canvas"]').count()) > 0;
  // The worker times the engine alone once, after the first scene: let it finish.
  await pg.page.waitForTimeout(pods >= 5000 ? 3000 : 500);
  // A big text is held a window of lines at a time, which starts with the namespaces:
  // scroll to the first pod, whose label each keystroke changes (not timed).
  await pg.page.evaluate(async (line) => {
    const ta = document.querySelector('[data-testid="cluster-editor"]');
    if (/tier: \w+/.test(ta.value)) return;
    ta.parentElement.scrollTop = line * 20;
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
  }, 2 * Math.max(2, Math.round(pods / 40)));
  await watchLongTasks(pg.page);
  const lat = [];
  const steps = [];
  const coarse = [];
  for (let i = 0; i < RUNS; i++) {
    const k = await keystroke(pg, i);
    lat.push(k.painted);
    coarse.push(k.nextFrame);
    steps.push(await timings(pg));
  }
  const keyLong = await longTasks(pg.page);
  const engine = Math.max(0, ...steps.map((s) => s.engine ?? 0)) || null;
  const step = (k) => median(steps.map((s) => s[k] ?? 0));
  const motion = pods >= 5000 ? await panZoom(pg) : null;
  await pg.screenshot(`bench-${pods}`);
  await context.close();
  return { pods, policies, first, pasteLong, drawn, canvas, engine, lat, coarse, keyLong, decode: step('decode'), parse: step('parse'), analysis: step('analysis'), scene: step('scene'), latency: step('latency'), motion };
}

const sizes = (process.env.BENCH_SIZES ?? '200x100,1000x500,10000x5000').split(',').map((s) => s.split('x').map(Number));
const server = await serve({ prefix: '/tools/netpol/' });
const browser = await launch();
try {
  const b = bundleSize();
  console.log(`bundle: wasm+js ${(b.raw / 1024).toFixed(0)} KiB raw, ${(b.gz / 1024).toFixed(0)} KiB gzip`);
  console.log(`first load to interactive (median of 5): ${(await firstLoad(browser, server.url)).toFixed(0)} ms`);
  for (const [pods, policies] of sizes) {
    const r = await size(browser, server.url + (process.env.BENCH_QUERY ?? '?bench'), pods, policies);
    const max = (xs) => (xs.length ? Math.max(...xs).toFixed(0) : '0');
    console.log(
      `${pods}/${policies} (${r.drawn} drawn nodes${r.canvas ? ', canvas' : ''}): paste -> first graph ${r.first.toFixed(0)} ms ` +
        `(longest main-thread task ${max(r.pasteLong)} ms, ${r.pasteLong.length} over 50 ms: ${r.pasteLong.map((x) => x.toFixed(0)).join(' ')}); ` +
        `keystroke -> graph painted median ${median(r.lat).toFixed(0)} ms [${r.lat.map((x) => x.toFixed(0)).join(' ')}] ` +
        `(one frame later, the older measure: ${median(r.coarse).toFixed(0)} ms) ` +
        `(send -> scene on the page ${r.latency.toFixed(0)} ms; worker: decode ${r.decode.toFixed(0)}, parse ${r.parse.toFixed(0)}, analysis ${r.analysis.toFixed(0)}, scene ${r.scene.toFixed(0)} ms; longest task ${max(r.keyLong)} ms)` +
        (r.engine ? `; engine alone in wasm ${r.engine.toFixed(0)} ms` : '') +
        (r.motion ? `; pan ${r.motion.pan.fps.toFixed(0)} fps (worst frame ${r.motion.pan.worstFrameMs.toFixed(0)} ms), zoom ${r.motion.zoom.fps.toFixed(0)} fps (worst ${r.motion.zoom.worstFrameMs.toFixed(0)} ms)` : ''),
    );
  }
} finally {
  await browser.close();
  await server.close();
}
