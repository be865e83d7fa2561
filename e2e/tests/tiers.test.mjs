// End-to-end: the policy tiers in the playground. Each tier example loads from the examples
// menu without errors; an Admin Deny and an Admin Pass handed to a NetworkPolicy are
// explained as a chain per side whose rule links select the rule in the editor; edges carry
// the tier that decided them (`data-decided-by`) and an Admin-denied edge is drawn unlike a
// NetworkPolicy-denied one; the node panel lists the cluster policies selecting a pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { playgroundSuite } from '../lib/suite.mjs';
import { Playground, ARTIFACTS } from '../lib/playground.mjs';

const suite = playgroundSuite();

const EXAMPLES = ['tiers-anp', 'tiers-banp', 'tiers-cnp', 'tiers-pass'];

/** A fresh page on `example`, collecting page errors and console errors. */
async function open(example) {
  const context = await suite.browser.newContext({ viewport: { width: 1440, height: 1300 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  await page.goto(suite.server.url);
  const pg = new Playground(page);
  await pg.ready();
  await pg.changing(() => pg.tid('example-select').selectOption(example));
  return { context, pg, problems };
}

async function panelShot(pg, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await pg.page.locator('.explanation').evaluate((el) => el.scrollTo(0, 0));
  await pg.page.locator('.explanation-panel').screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** Selects an edge from the keyboard (Tab to it, Enter), as the hint says: a click at the
 * middle of a long edge may land on a node drawn across it. */
async function selectEdge(pg, from, to) {
  await pg.edge(from, to).focus();
  await pg.page.keyboard.press('Enter');
  await pg.page.waitForFunction(
    (t) => document.querySelector('[data-testid="pair-title"]')?.innerText === t,
    `${from} → ${to}`,
  );
}

async function editorSelection(pg) {
  return pg.tid('policies-editor').evaluate((t) => t.value.slice(t.selectionStart, t.selectionEnd));
}

async function steps(side) {
  return side.locator('[data-testid="chain-step"]').evaluateAll((els) =>
    els.map((e) => ({ tier: e.dataset.tier, text: e.innerText.replace(/\s+/g, ' ').trim() })),
  );
}

async function lineStyle(pg, from, to) {
  return pg.edge(from, to).locator('.edge__line').evaluate((el) => {
    const s = getComputedStyle(el);
    return { stroke: s.stroke, dash: s.strokeDasharray };
  });
}

test('tiers: every tier example loads from the examples menu without errors', async () => {
  for (const key of EXAMPLES) {
    const { context, pg, problems } = await open(key);
    const errors = (await pg.diagnostics()).filter((d) => d.severity === 'error');
    assert.deepEqual(errors, [], `${key}: error diagnostics`);
    const nodes = ['any other address', 'dev/tool', 'monitoring/prober', 'prod/db', 'prod/web'];
    assert.deepEqual(await pg.nodeIds(), nodes, key);
    assert.ok(await pg.tid('legend-admin-denied').isVisible(), `${key}: the tier legend`);
    assert.deepEqual(problems, [], `${key}: page errors`);
    await context.close();
  }
});

test('tiers: an Admin Deny is explained as a chain, its rule link selects the rule', async () => {
  const { context, pg, problems } = await open('tiers-anp');
  await pg.changing(() => pg.tid('show-denied').check());
  const denied = pg.edge('dev/tool', 'prod/db');
  assert.equal(await denied.getAttribute('data-verdict'), 'denied');
  assert.equal(await denied.getAttribute('data-decided-by'), 'admin');
  assert.match(await denied.getAttribute('class'), /edge--by-admin/);
  // A NetworkPolicy's isolation denies monitoring's ingress: drawn differently.
  const npDenied = pg.edge('prod/web', 'monitoring/prober');
  assert.equal(await npDenied.getAttribute('data-verdict'), 'denied');
  assert.equal(await npDenied.getAttribute('data-decided-by'), 'networkpolicy');
  const [admin, np] = [await lineStyle(pg, 'dev/tool', 'prod/db'), await lineStyle(pg, 'prod/web', 'monitoring/prober')];
  assert.notEqual(admin.stroke, np.stroke, 'colour differs');
  assert.notEqual(admin.dash, np.dash, 'line shape differs too');
  // An Admin Accept admits monitoring into prod/db despite prod's NetworkPolicy.
  assert.equal(await pg.edge('monitoring/prober', 'prod/db').getAttribute('data-decided-by'), 'admin');
  await pg.page.locator('.graph-wrap').screenshot({ path: path.join(ARTIFACTS, 'tiers-edges.png') });

  await selectEdge(pg, 'dev/tool', 'prod/db');
  const ingress = pg.tid('explanation-ingress');
  assert.equal(await ingress.getAttribute('data-state'), 'denied');
  const chain = await steps(ingress);
  assert.deepEqual(chain.map((s) => s.tier), ['admin', 'networkpolicy'], JSON.stringify(chain));
  assert.match(chain[0].text, /AdminNetworkPolicy protect-prod-db \(priority 10\): Deny, rule deny-dev-to-postgres/);
  assert.match(chain[0].text, /on TCP 5432/);
  assert.match(chain[1].text, /allows nothing/);
  const link = ingress.locator('[data-testid="cluster-rule-link"][data-action="deny"]');
  await link.click();
  const selected = await editorSelection(pg);
  assert.match(selected, /^name: deny-dev-to-postgres/, selected);
  assert.match(selected, /action: Deny/);
  assert.doesNotMatch(selected, /allow-monitoring/, 'only the rule');
  // The source's egress: no policy of any tier decides it.
  assert.equal(await pg.tid('explanation-egress').getAttribute('data-state'), 'not isolated');
  await panelShot(pg, 'tiers-admin-deny');
  assert.deepEqual(problems, []);
  await context.close();
});

test('tiers: an Admin Pass falls through to the NetworkPolicy that allows it', async () => {
  const { context, pg, problems } = await open('tiers-pass');
  const edge = pg.edge('dev/tool', 'prod/web');
  assert.equal(await edge.getAttribute('data-verdict'), 'allowed');
  assert.equal(await edge.getAttribute('data-decided-by'), 'networkpolicy');
  await selectEdge(pg, 'dev/tool', 'prod/web');
  const ingress = pg.tid('explanation-ingress');
  assert.equal(await ingress.getAttribute('data-state'), 'allowed');
  assert.equal(await ingress.locator('[data-testid="side-ports"]').first().innerText(), 'TCP 80');
  const chain = await steps(ingress);
  assert.deepEqual(chain.map((s) => s.tier), ['admin', 'networkpolicy'], JSON.stringify(chain));
  assert.match(chain[0].text, /ClusterNetworkPolicy cluster-guardrails \(priority 10\): Pass, rule delegate-dev/);
  assert.match(chain[1].text, /allows TCP 80/);
  // The NetworkPolicy tier's own reasons, with the rule that allows it.
  const np = ingress.locator('[data-testid="np-tier-ingress"]');
  assert.match(await np.innerText(), /prod\/allow-web/);
  await ingress.locator('[data-testid="cluster-rule-link"][data-action="pass"]').click();
  assert.match(await editorSelection(pg), /^name: delegate-dev/);
  await np.locator('[data-testid="rule-link"]').first().click();
  assert.match(await editorSelection(pg), /namespaceSelector/);
  await panelShot(pg, 'tiers-pass-to-networkpolicy');

  // On one port: the same chain, one verdict per step.
  await pg.selectPort('TCP:80');
  await selectEdge(pg, 'dev/tool', 'prod/web');
  const one = await steps(pg.tid('explanation-ingress'));
  assert.deepEqual(one.map((s) => s.tier), ['admin', 'networkpolicy']);
  assert.match(one[1].text, /allowed by prod\/allow-web/);
  // monitoring is denied by the Admin rule after the Pass.
  await pg.changing(() => pg.tid('show-denied').check());
  assert.equal(await pg.edge('monitoring/prober', 'prod/web').getAttribute('data-decided-by'), 'admin');
  assert.deepEqual(problems, []);
  await context.close();
});

test('tiers: the node panel lists the cluster policies selecting a pod, in evaluation order', async () => {
  const { context, pg, problems } = await open('tiers-cnp');
  await pg.page.locator('[data-testid="node"][data-id="prod/db"]').click();
  await pg.page.waitForSelector('[data-testid="node-info"][data-id="prod/db"]');
  const items = await pg.page.$$eval('[data-testid="node-cluster-policy"]', (els) =>
    els.map((e) => `${e.dataset.tier} ${e.dataset.policy}`),
  );
  assert.deepEqual(items, ['admin no-dev-to-databases', 'baseline prod-to-itself']);
  await pg.page.locator('[data-testid="node-cluster-policy"] [data-testid="cluster-policy-link"]').first().click();
  assert.match(await editorSelection(pg), /name: no-dev-to-databases/);
  await panelShot(pg, 'tiers-node-panel');
  await pg.page.locator('[data-testid="node"][data-id="dev/tool"]').click();
  await pg.page.waitForSelector('[data-testid="node-info"][data-id="dev/tool"]');
  assert.equal(await pg.tid('node-cluster-policies-none').innerText(), 'none selects it');
  assert.deepEqual(problems, []);
  await context.close();
});
