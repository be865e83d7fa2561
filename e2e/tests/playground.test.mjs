// End-to-end: the release dist/ served under a sub-path, driven in the system Chromium the
// way a person uses it. Run: `cd e2e && npm ci && node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { playgroundSuite } from '../lib/suite.mjs';
import { Playground } from '../lib/playground.mjs';

const suite = playgroundSuite();

async function fresh() {
  return suite.context({ acceptDownloads: true, clipboard: true });
}

// The default example: every pod of `default` accepts only default/frontend; monitoring/prober
// is not isolated, and egress is unrestricted everywhere.
const DEFAULT_ALLOWED_POD_EDGES = [
  'default/backend -> monitoring/prober (allowed)',
  'default/db -> monitoring/prober (allowed)',
  'default/frontend -> default/backend (allowed)',
  'default/frontend -> default/db (allowed)',
  'default/frontend -> monitoring/prober (allowed)',
];

function podEdges(edges) {
  // Pod-to-pod edges only (outside-address nodes have labels without a namespace/name form
  // of two known namespaces).
  return edges.filter((e) => /^(default|monitoring)\/\S+ -> (default|monitoring)\/\S+ /.test(e));
}

test('default example renders the expected graph', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const nodes = await pg.nodeIds();
  for (const id of ['default/backend', 'default/db', 'default/frontend', 'monitoring/prober']) {
    assert.ok(nodes.includes(id), `node ${id} in ${nodes}`);
  }
  // By default only what a policy decided is drawn: the pairs into the isolated pods.
  assert.deepEqual(
    podEdges(await pg.edges()),
    DEFAULT_ALLOWED_POD_EDGES.filter((e) => e.startsWith('default/frontend -> default/')),
  );
  // "Show unrestricted" draws every allowed pair, those no policy decided too.
  await pg.changing(() => pg.tid('show-unrestricted').check());
  assert.deepEqual(podEdges(await pg.edges()), DEFAULT_ALLOWED_POD_EDGES);
  // With "show denied", the denied pairs appear as their own edges.
  await pg.changing(() => pg.tid('show-denied').check());
  const withDenied = podEdges(await pg.edges());
  assert.ok(withDenied.includes('monitoring/prober -> default/frontend (denied)'), withDenied.join('\n'));
  assert.ok(withDenied.includes('default/backend -> default/db (denied)'));
  await pg.screenshot('graph-default');
  await context.close();
});

test('editing a label changes the edges and says what changed', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const cluster = await pg.cluster();
  assert.ok(cluster.includes('labels: {app: backend}'));
  await pg.setCluster(cluster.replace('labels: {app: backend}', 'labels: {app: frontend}'));
  const edges = podEdges(await pg.edges());
  assert.ok(edges.includes('default/backend -> default/db (allowed)'), edges.join('\n'));
  assert.ok(edges.includes('default/backend -> default/frontend (allowed)'));
  const summary = await pg.tid('whatif').innerText();
  assert.match(summary, /connections? opened/);
  await context.close();
});

test('a YAML error shows at its line, in the list and in the editor', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const lines = (await pg.policies()).split('\n');
  // Line 9 becomes a mapping value in a place YAML does not allow one.
  const at = 9;
  lines.splice(at - 1, 0, 'oops: [unclosed');
  await pg.setPolicies(lines.join('\n'));
  const diags = await pg.diagnostics();
  const errors = diags.filter((d) => d.severity === 'error' && d.editor === 'policies');
  assert.ok(errors.length > 0, JSON.stringify(diags));
  assert.ok(errors.some((d) => d.line === at || d.line === at + 1), JSON.stringify(errors));
  const inline = await pg.page.$$eval('[data-testid="inline-diagnostic"]', (els) => els.map((e) => Number(e.dataset.line)));
  assert.ok(inline.some((l) => l === errors[0].line), `inline markers at ${inline}`);
  await pg.screenshot('diagnostics');
  await context.close();
});

test('clicking an edge explains it, naming the policy', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  await pg.clickEdge('default/frontend', 'default/backend');
  const text = await pg.explanation();
  assert.match(text, /allowed/i);
  assert.match(text, /allow-same-namespace/);
  // The rule link selects the policy text in the editor.
  await pg.tid('explanation').locator('[data-testid="rule-link"]').first().click();
  const selected = await pg.tid('policies-editor').evaluate((t) => t.value.slice(t.selectionStart, t.selectionEnd));
  assert.ok(selected.length > 0, 'rule link selected text in the editor');
  await pg.screenshot('explanation');
  await context.close();
});

test('matrix view shows the truth table and explains a cell', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  await pg.showMatrix();
  const cell = pg.page.locator('[data-testid="cell"][data-from="monitoring/prober"][data-to="default/db"]');
  assert.equal(await cell.getAttribute('data-verdict'), 'denied');
  await cell.click();
  assert.match(await pg.explanation(), /denied/i);
  await pg.screenshot('matrix');
  await context.close();
});

test('a copied link opens the same state in a fresh browser', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const cluster = (await pg.cluster()).replace('labels: {app: db}', 'labels: {app: frontend}');
  await pg.setCluster(cluster);
  await pg.selectPort('TCP:80');
  const edges = await pg.edges();
  const link = await pg.share();
  assert.match(link, /#v1\./);
  assert.equal(await pg.page.evaluate(() => navigator.clipboard.readText()), link);
  await context.close();

  const other = await fresh();
  const pg2 = await Playground.open(other, link);
  assert.equal(await pg2.cluster(), cluster);
  assert.equal(await pg2.tid('port-select').inputValue(), 'TCP:80');
  assert.deepEqual(await pg2.edges(), edges);
  await other.close();
});

test('a damaged link shows an error and still a working page', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url + '#v1.this-is-not-deflate');
  await pg.tid('banner').waitFor();
  assert.match(await pg.tid('banner').innerText(), /damaged/);
  assert.ok((await pg.nodeIds()).length > 0, 'falls back to a real graph');
  const pg2 = await Playground.open(context, suite.server.url + '#v7.abc');
  assert.match(await pg2.tid('banner').innerText(), /unknown format version/);
  await pg.screenshot('damaged-link');
  await context.close();
});

test('exports download non-empty files', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const want = { svg: /^<svg/, csv: /^from \\ to \(any port\),/, json: /"nodes"/, dot: /^digraph/, mermaid: /\nflowchart LR\n/ };
  for (const [kind, re] of Object.entries(want)) {
    const f = await pg.exportFile(kind);
    assert.ok(f.size > 0, `${kind} is empty`);
    assert.match(f.text, re, kind);
  }
  await context.close();
});

test('state survives a reload', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const text = (await pg.policies()) + '\n# kept across reloads\n';
  await pg.setPolicies(text);
  await pg.page.reload();
  await pg.ready();
  assert.equal(await pg.policies(), text);
  await context.close();
});

test('dark theme follows the system setting', async () => {
  const { context, pg } = await suite.open({ colorScheme: 'dark' });
  const bg = await pg.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(15, 20, 26)');
  await pg.screenshot('graph-dark');
  await context.close();
});
