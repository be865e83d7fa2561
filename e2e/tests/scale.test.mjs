// End-to-end: scale without freezing (issue 11). The engine runs in a Web Worker, so the
// page keeps handling events while ten thousand pods are evaluated; the graph switches to
// the canvas with an accessible list and says what it leaves out; above the size guard a
// message says what to do instead, and the page keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { playgroundSuite } from '../lib/suite.mjs';
import { generateDocs } from '../lib/generate.mjs';

const suite = playgroundSuite();

const open = () => suite.open({ timeout: 240000 });

test('the seed example: only the relations its policy decides, open sides marked', async () => {
  const { context, pg } = await open();
  await pg.loadExample('internal-egress');
  await pg.selectPort('TCP:3306');
  await pg.screenshot('graph-seed');
  await context.close();
});

test('above the size guard: a clear message instead of a freeze, and the page keeps working', async () => {
  const { context, pg } = await open();
  const pods = Array.from({ length: 12001 }, (_, i) => `pod ns${i % 40}/p${i} app=a${i % 97}`).join('\n') + '\n';
  await pg.paste('cluster', pods);
  const alert = pg.tid('too-large');
  await alert.waitFor();
  const text = await alert.innerText();
  assert.match(text, /12,001 endpoints/);
  assert.match(text, /netpol connectivity/);
  // Back under the limit: the graph returns and the message goes.
  await pg.setCluster('pod default/a app=a\npod default/b app=b\n');
  assert.equal(await alert.count(), 0);
  assert.deepEqual((await pg.nodeIds()).filter((id) => id.startsWith('default/')), ['default/a', 'default/b']);
  await context.close();
});

test('pasting 10,000 pods and 5,000 policies: the page keeps running while the worker evaluates', async (t) => {
  const { context, pg } = await open();
  const texts = generateDocs(10000, 5000, 7);
  // Paste both texts at once, then count timer callbacks the page runs while the graph of
  // the new texts has not arrived yet (the "evaluating" note is up). With the engine on the
  // page's thread there would be none: one task would evaluate and draw.
  const seen = await pg.page.evaluate(async ({ policies, cluster }) => {
    window.__long = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__long.push(Math.round(e.duration));
    }).observe({ type: 'longtask' });
    const app = document.querySelector('[data-testid="app"]');
    const gen0 = Number(app.dataset.generation);
    for (const [id, text] of [['policies-editor', policies], ['cluster-editor', cluster]]) {
      const ta = document.querySelector(`[data-testid="${id}"]`);
      ta.value = text;
      ta.dispatchEvent(new Event('input', { bubbles: true }));
    }
    let ticks = 0;
    let busy = false;
    await new Promise((done) => {
      const tick = () => {
        const evaluating = document.querySelector('[data-testid="evaluating"]') !== null;
        busy ||= evaluating;
        if (busy && evaluating && Number(app.dataset.generation) === gen0) ticks += 1;
        if (Number(app.dataset.generation) > gen0 && busy) done();
        else setTimeout(tick, 10);
      };
      tick();
    });
    return { ticks, long: window.__long };
  }, texts);
  t.diagnostic(`timer callbacks while evaluating: ${seen.ticks}; long tasks (ms): ${seen.long.join(' ')}`);
  assert.ok(seen.ticks >= 3, `the page ran ${seen.ticks} timer callbacks while the worker evaluated`);
  // Everything arrives: the summary counts every endpoint; the canvas draws, with a list.
  await pg.page.waitForFunction(() => document.querySelector('[data-testid="summary"]')?.innerText.startsWith('10,000 endpoints'));
  assert.match(await pg.tid('summary').innerText(), /^10,000 endpoints · 5,000 policies/);
  assert.equal(await pg.tid('graph-canvas').count(), 1);
  // It opens on the namespace overview: one area per namespace and the outside, and the
  // busiest namespace links (all of them listed, up to the overview's cap).
  assert.match(await pg.tid('overview-note').innerText(), /the 60 busiest of [\d,]+ namespace links/);
  const namespaces = new Set([...texts.cluster.matchAll(/namespace: (ns\d+)/g)].map((x) => x[1]));
  assert.equal(await pg.page.locator('[data-testid="ns-area"]').count(), namespaces.size + 1);
  assert.ok((await pg.page.locator('[data-testid="ns-link"]').count()) >= 60);
  await pg.screenshot('graph-overview-10000');
  const first = pg.page.locator('[data-testid="graph-list"] [data-testid="node"]').first();
  await first.waitFor();
  const id = await first.getAttribute('data-id');
  await first.click();
  assert.equal(await pg.tid('node-info').getAttribute('data-id'), id);
  await pg.screenshot('graph-10000');
  await context.close();
});

test('a newer edit wins: an evaluation the text has moved past never replaces the graph', async () => {
  const { context, pg } = await open();
  const big = generateDocs(3000, 1500, 3);
  // Two edits in one debounce window each: a big cluster, then (while the worker is busy
  // with it) a two-pod one. The graph must end on the two pods and stay there.
  await pg.page.evaluate(async ({ policies, cluster }) => {
    const set = (id, text) => {
      const ta = document.querySelector(`[data-testid="${id}"]`);
      ta.value = text;
      ta.dispatchEvent(new Event('input', { bubbles: true }));
    };
    set('policies-editor', policies);
    set('cluster-editor', cluster);
    await new Promise((r) => setTimeout(r, 400));
    set('cluster-editor', 'pod shop/one app=one\npod shop/two app=two\n');
  }, big);
  await pg.page.waitForFunction(() => document.querySelector('[data-testid="summary"]')?.innerText.startsWith('2 endpoints'));
  await pg.page.waitForTimeout(3000);
  assert.match(await pg.tid('summary').innerText(), /^2 endpoints/);
  // Pods only (outside-address nodes are CIDRs such as 10.0.0.0/16).
  assert.deepEqual((await pg.nodeIds()).filter((id) => /^[a-z][\w-]*\/[\w-]+$/.test(id)), ['shop/one', 'shop/two']);
  await context.close();
});
