// Timing of the release build in headless Chromium: bundle size, first load to interactive,
// and keystroke-to-rendered latency for 200/100 and 1000/500 (endpoints/policies).
// Run: `cd e2e && node bench.mjs` after `trunk build --release`.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { serve, DIST } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';
import { Playground } from './lib/playground.mjs';
import { generate } from './lib/generate.mjs';

const DEBOUNCE_MS = 150;
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

async function keystroke(browser, url, pods, policies, runs = 5) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const pg = await Playground.open(context, url);
  pg.page.setDefaultTimeout(240000);
  const { cluster, policies: pol } = generate(pods, policies, 7);
  await pg.setPolicies(pol);
  await pg.setCluster(cluster);
  const endpoints = await pg.page.$$eval('[data-testid="node"]', (els) => els.length);
  const lat = [];
  const evalMs = [];
  const coreMs = [];
  for (let i = 0; i < runs; i++) {
    const ms = await pg.page.evaluate(async ({ i, debounce }) => {
      const app = document.querySelector('[data-testid="app"]');
      const ta = document.querySelector('[data-testid="cluster-editor"]');
      const gen0 = Number(app.dataset.generation);
      const t0 = performance.now();
      // One keystroke's worth of change: a label value of the first pod.
      ta.value = ta.value.replace(/tier: \w+/, i % 2 ? 'tier: web' : 'tier: db');
      ta.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise((res) => {
        const check = () => (Number(app.dataset.generation) > gen0 ? res() : requestAnimationFrame(check));
        check();
      });
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return performance.now() - t0 - debounce;
    }, { i, debounce: DEBOUNCE_MS });
    lat.push(ms);
    evalMs.push(Number(await pg.tid('app').getAttribute('data-eval-ms')));
    coreMs.push(Number(await pg.tid('app').getAttribute('data-analysis-ms')));
  }
  await context.close();
  return { pods, policies, drawnNodes: endpoints, latencyMs: median(lat), evalMs: median(evalMs), coreMs: median(coreMs) };
}

const server = await serve();
const browser = await launch();
try {
  const size = bundleSize();
  console.log(`bundle: wasm+js ${(size.raw / 1024).toFixed(0)} KiB raw, ${(size.gz / 1024).toFixed(0)} KiB gzip`);
  console.log(`first load to interactive (median of 5): ${(await firstLoad(browser, server.url)).toFixed(0)} ms`);
  for (const [p, q] of [[200, 100], [1000, 500]]) {
    const r = await keystroke(browser, server.url, p, q);
    console.log(
      `keystroke -> re-rendered, ${r.pods} endpoints / ${r.policies} policies (${r.drawnNodes} drawn nodes): ` +
        `${r.latencyMs.toFixed(0)} ms after the ${DEBOUNCE_MS} ms debounce (analysis ${r.coreMs.toFixed(0)} ms, analysis+graph ${r.evalMs.toFixed(0)} ms)`,
    );
  }
} finally {
  await browser.close();
  await server.close();
}
