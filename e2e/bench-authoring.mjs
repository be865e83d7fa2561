// Timing of "Allow this" / "Deny this" in the release build in headless Chromium: the core's
// proposal (`synth::allow` / `synth::deny`, timed with performance.now() around the call, the
// proposal's data-ms) and click-to-proposal-on-screen, on a generated cluster.
// Run: `cd e2e && node bench-authoring.mjs [pods] [policies]` after `scripts/build-app.sh`.
// The state is opened as a link (with the pair selected), so the texts must fit a link's
// 200 KB: up to about 400 generated pods.
import os from 'node:os';

import { serve } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';
import { Playground, linkFragment } from './lib/playground.mjs';
import { generate } from './lib/generate.mjs';

const pods = Number(process.argv[2] ?? 200);
const policies = Number(process.argv[3] ?? 100);
const RUNS = 7;
// With the denied pairs drawn (thousands of edges) or not: the page's own layout work after
// the proposal appears is part of "on screen".
const SHOW_DENIED = process.env.SHOW_DENIED !== '0';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Opens the generated state with `selection`, asks `action`, returns both timings. */
async function ask(browser, url, texts, pair, action) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const link = url + '#' + linkFragment({ ...texts, show_denied: SHOW_DENIED, selection: { pair } });
  const pg = await Playground.open(context, link);
  pg.page.setDefaultTimeout(240000);
  await pg.tid(action).waitFor();
  const wall = await pg.page.evaluate(async (action) => {
    const t0 = performance.now();
    document.querySelector(`[data-testid="${action}"]`).click();
    while (!document.querySelector('[data-testid="proposal"]')) {
      await new Promise((r) => requestAnimationFrame(r));
    }
    return performance.now() - t0;
  }, action);
  const proposal = pg.tid('proposal');
  const core = Number(await proposal.getAttribute('data-ms'));
  const refused = (await pg.tid('proposal-error').count()) > 0;
  const others = await pg.tid('proposal-other').count();
  await context.close();
  return { core, wall, refused, others };
}

const server = await serve();
const browser = await launch();
try {
  const texts = generate(pods, policies, 7);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const pg = await Playground.open(context, server.url + '#' + linkFragment({ ...texts, show_denied: true }));
  const endpoints = await pg.page.$$eval('[data-testid="node"]', (els) => els.length);
  console.log(`${pods} pods / ${policies} policies: ${endpoints} nodes, ${await pg.page.$$eval('[data-testid="edge"]', (els) => els.length)} edges drawn`);
  const edges = await pg.page.$$eval('[data-testid="edge"]', (els) =>
    els.map((e) => ({ from: e.dataset.from, to: e.dataset.to, verdict: e.dataset.verdict })),
  );
  await context.close();
  const pick = (verdict) =>
    edges.filter((e) => e.verdict === verdict && e.from !== e.to && !e.from.includes('address')).slice(0, RUNS);
  for (const [verdict, action] of [['denied', 'allow-this'], ['allowed', 'deny-this']]) {
    const results = [];
    for (const e of pick(verdict)) {
      results.push(await ask(browser, server.url, texts, { from: e.from, to: e.to }, action));
    }
    if (results.length === 0) {
      console.log(`${action} at ${pods} pods / ${policies} policies: no ${verdict} pair drawn to select`);
      continue;
    }
    const ok = results.filter((r) => !r.refused);
    console.log(
      `${action} at ${pods} pods / ${policies} policies (${endpoints} nodes drawn${SHOW_DENIED ? ', denied pairs drawn' : ''}), ${results.length} ${verdict} pairs, ` +
        `${ok.length} proposals (${results.length - ok.length} refused): core median ${median(results.map((r) => r.core)).toFixed(1)} ms ` +
        `(max ${Math.max(...results.map((r) => r.core)).toFixed(1)}), click to proposal on screen median ${median(results.map((r) => r.wall)).toFixed(1)} ms ` +
        `(max ${Math.max(...results.map((r) => r.wall)).toFixed(1)}); other pairs listed: ${results.map((r) => r.others).join(',')}`,
    );
  }
  console.log(`load average: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  await browser.close();
  await server.close();
}
