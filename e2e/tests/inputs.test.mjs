// End-to-end: real inputs in, complete answers out. The Services example: the node panel
// lists the Services a pod is behind with the port it receives each on, lint says the
// policy allows the Service's port instead of the pod's, and the exposure toggle draws the
// pods that do not exist yet which the rules admit, each ghost edge explained like an edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { playgroundSuite } from '../lib/suite.mjs';
import { Playground, ARTIFACTS } from '../lib/playground.mjs';

const suite = playgroundSuite();

async function openServices() {
  const { context, pg } = await suite.open({ viewport: { width: 1440, height: 1100 }, clipboard: true });
  await pg.changing(() => pg.tid('example-select').selectOption('services'));
  return { context, pg };
}

async function panelShot(pg, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await pg.page.locator('.explanation').evaluate((el) => el.scrollTo(0, 0));
  await pg.page.locator('.explanation-panel').screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

function node(pg, id) {
  return pg.page.locator(`[data-testid="node"][data-id="${id}"]`);
}

async function services(pg) {
  return pg.page.$$eval('[data-testid="node-service"]', (els) => els.map((e) => e.innerText));
}

test('Services: the node panel shows each Service of a pod and the port the pod receives', async () => {
  const { context, pg } = await openServices();
  await node(pg, 'shop/Deployment/api').click();
  await pg.tid('node-info').waitFor();
  assert.deepEqual(await services(pg), ['shop/api: 80/TCP → 8080, 9100/TCP → 9100']);
  assert.match(await pg.tid('node-info').innerText(), /Policies see the port on the right/);
  await panelShot(pg, 'node-panel-services');
  await node(pg, 'shop/Deployment/web').click();
  await pg.page.waitForSelector('[data-testid="node-info"][data-id="shop/Deployment/web"]');
  assert.deepEqual(await services(pg), ['shop/web: 80/TCP → 8000']);
  await node(pg, 'monitoring/Deployment/prometheus').click();
  await pg.page.waitForSelector('[data-testid="node-info"][data-id="monitoring/Deployment/prometheus"]');
  assert.equal(await pg.tid('node-services').innerText(), 'not behind any Service');
  // Lint, in the Problems list: the policy allows the Service's port, not the pod's.
  const mismatch = pg.page.locator('[data-testid="finding"][data-code="service-port-mismatch"]');
  assert.equal(await mismatch.count(), 1);
  assert.equal(await mismatch.getAttribute('data-editor'), 'policies');
  assert.match(await mismatch.innerText(), /allows 80\/TCP, the port of Service shop\/api, but the Service sends it to port 8080/);
  await context.close();
});

test('exposure: ghost nodes for the pods the rules admit, explained like an edge', async () => {
  const { context, pg } = await openServices();
  assert.equal(await pg.tid('ghost').count(), 0, 'off by default');
  await pg.tid('show-exposure').check();
  await pg.tid('ghost').first().waitFor();
  const ghosts = await pg.page.$$eval('[data-testid="ghost"]', (els) => els.map((e) => e.dataset.id).sort());
  assert.deepEqual(ghosts, [
    'exposure:pods labelled app=prometheus in namespaces labelled team=ops',
    'exposure:pods labelled app=web in namespace shop',
  ]);
  const edges = await pg.page.$$eval('[data-testid="ghost-edge"]', (els) =>
    els.map((e) => `${e.dataset.from} -> ${e.dataset.to}: ${e.dataset.ports}`).sort(),
  );
  assert.deepEqual(edges, [
    'exposure:pods labelled app=prometheus in namespaces labelled team=ops -> shop/Deployment/api: TCP 9100',
    'exposure:pods labelled app=web in namespace shop -> shop/Deployment/api: TCP 80',
  ]);
  assert.ok(await pg.tid('legend-exposure').isVisible());
  await pg.screenshot('graph-exposure');

  // A ghost edge is explained: who, which rule, which ports, who matches now, the other side.
  const prometheus = 'exposure:pods labelled app=prometheus in namespaces labelled team=ops';
  // By keyboard, as a person can: the edge's midpoint may lie under a node.
  const ghostEdge = pg.page.locator(`[data-testid="ghost-edge"][data-from="${prometheus}"]`);
  await ghostEdge.focus();
  await ghostEdge.press('Enter');
  const panel = pg.tid('exposure-explanation');
  await panel.waitFor();
  assert.equal(
    await panel.locator('[data-testid="pair-title"]').innerText(),
    'pods labelled app=prometheus in namespaces labelled team=ops → shop/Deployment/api',
  );
  assert.equal(await panel.locator('[data-testid="exposure-ports"]').innerText(), 'TCP 9100');
  assert.match(await panel.locator('[data-testid="rule-link"]').innerText(), /shop\/api · spec.ingress\[1\]\s+line 22/);
  assert.match(await panel.locator('[data-testid="exposure-now"]').innerText(), /monitoring\/Deployment\/prometheus/);
  assert.match(await panel.locator('[data-testid="exposure-peer-side"]').innerText(), /assumed to allow/);
  await panelShot(pg, 'explanation-exposure');

  // A ghost node says what it is and lists its edges.
  await pg.page.locator(`[data-testid="ghost"][data-id="${prometheus}"]`).click();
  const info = pg.tid('ghost-info');
  await info.waitFor();
  assert.match(await info.innerText(), /Not an endpoint of the input/);
  assert.match(await info.innerText(), /shop\/Deployment\/api: TCP 9100/);

  // The toggle is part of the shared state.
  const url = await pg.share();
  const other = await Playground.open(context, url);
  assert.equal(await other.tid('show-exposure').isChecked(), true);
  await other.tid('ghost').first().waitFor();
  assert.equal(await other.tid('ghost').count(), 2);

  await pg.tid('show-exposure').uncheck();
  await pg.page.waitForFunction(() => document.querySelectorAll('[data-testid="ghost"]').length === 0);
  await context.close();
});
