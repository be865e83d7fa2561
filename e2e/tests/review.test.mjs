// End-to-end: the review tools in the playground — lint findings in the Problems panel and
// compare mode (before/after editors, added/removed edges, diff summary, shared link).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { playgroundSuite } from '../lib/suite.mjs';
import { Playground } from '../lib/playground.mjs';

const suite = playgroundSuite();

async function fresh() {
  return suite.context({ clipboard: true });
}

// The AND/OR trap: two list items (OR) where one item with both selectors (AND) was meant.
const TRAP = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-backend
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: db
  policyTypes:
  - Ingress
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          team: ops
    - podSelector:
        matchLabels:
          app: backend
`;

test('the Problems panel lists a lint finding and clicking it selects the line', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  await pg.setPolicies(TRAP);
  const row = pg.page.locator('[data-testid="finding"][data-code="and-or-trap"]');
  await row.waitFor();
  assert.equal(await row.getAttribute('data-severity'), 'warning');
  assert.equal(await row.getAttribute('data-editor'), 'policies');
  const line = Number(await row.getAttribute('data-line'));
  assert.ok(line >= 13 && line <= 19, `finding at line ${line}`);
  assert.match(await row.innerText(), /ORed/);
  await row.locator('[data-testid="jump"]').click();
  const sel = await pg.tid('policies-editor').evaluate((t) => ({
    line: t.value.slice(0, t.selectionStart).split('\n').length,
    text: t.value.slice(t.selectionStart, t.selectionEnd),
  }));
  assert.equal(sel.line, line);
  assert.match(sel.text, /namespaceSelector/);
  // The finding's line is marked in the editor like a diagnostic.
  const inline = await pg.page.$$eval('[data-testid="inline-diagnostic"]', (els) => els.map((e) => Number(e.dataset.line)));
  assert.ok(inline.includes(line), `inline markers at ${inline}`);
  // A correct input has no such finding.
  await pg.setPolicies(TRAP.replace('    - podSelector:', '      podSelector:'));
  assert.equal(await pg.page.locator('[data-testid="finding"][data-code="and-or-trap"]').count(), 0);
  await pg.setPolicies(TRAP);
  await row.waitFor();
  await pg.screenshot('problems-lint');
  await context.close();
});

/** Turns compare mode on and replaces the After policies (callers wait for the edges they expect). */
async function compareWith(pg, afterPolicies) {
  await pg.tid('compare-toggle').check();
  await pg.tid('after-policies-editor').waitFor();
  assert.equal(await pg.tid('after-policies-editor').inputValue(), await pg.policies());
  assert.equal(await pg.tid('after-cluster-editor').inputValue(), await pg.cluster());
  assert.match(await pg.tid('diff-headline').innerText(), /no connection changes/);
  await pg.tid('after-policies-editor').fill(afterPolicies);
}

test('compare mode draws removed edges and summarises the diff; the link restores it', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const before = await pg.policies();
  // Remove the only ingress rule: everything into `default` is now denied.
  const afterPolicies = before.replace(/\n  ingress:[\s\S]*$/, '\n');
  assert.notEqual(afterPolicies, before);
  await compareWith(pg, afterPolicies);
  const removed = pg.page.locator('[data-testid="edge"][data-verdict="removed"][data-from="default/frontend"][data-to="default/backend"]');
  await removed.waitFor();
  assert.equal(await pg.page.locator('[data-testid="edge"][data-verdict="added"]').count(), 0);
  // Unchanged connections stay normal edges.
  assert.equal(
    await pg.edge('default/frontend', 'monitoring/prober').getAttribute('data-verdict'),
    'allowed',
  );
  const summary = await pg.tid('diff-summary').innerText();
  assert.match(summary, /removed/);
  assert.doesNotMatch(await pg.tid('diff-headline').innerText(), /added/);
  assert.match(summary, /default\/frontend/);
  await pg.tid('legend-removed').waitFor();
  // The before editor is untouched.
  assert.equal(await pg.policies(), before);
  await pg.screenshot('compare-mode');

  const link = await pg.share();
  assert.match(link, /#v1\./);
  await context.close();

  const other = await fresh();
  const pg2 = await Playground.open(other, link);
  assert.equal(await pg2.tid('compare-toggle').isChecked(), true);
  assert.equal(await pg2.policies(), before);
  assert.equal(await pg2.tid('after-policies-editor').inputValue(), afterPolicies);
  await pg2.page
    .locator('[data-testid="edge"][data-verdict="removed"][data-from="default/frontend"][data-to="default/backend"]')
    .waitFor();
  assert.match(await pg2.tid('diff-summary').innerText(), /removed/);
  // Turning compare off goes back to the plain graph.
  await pg2.tid('compare-toggle').uncheck();
  assert.equal(await pg2.page.locator('[data-testid="edge"][data-verdict="removed"]').count(), 0);
  assert.equal(await pg2.tid('after-policies-editor').count(), 0);
  await other.close();
});

test('an edge added in the After state is drawn as added', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const before = await pg.policies();
  await pg.tid('compare-toggle').check();
  // Also admit app=backend: backend -> db becomes allowed.
  const afterPolicies = before.replace(/(\s+)- podSelector:/, '$1- podSelector:\n        matchLabels:\n          app: backend$1- podSelector:');
  assert.notEqual(afterPolicies, before);
  await pg.tid('after-policies-editor').fill(afterPolicies);
  const added = pg.page.locator('[data-testid="edge"][data-verdict="added"][data-from="default/backend"][data-to="default/db"]');
  await added.waitFor();
  assert.match(await pg.tid('diff-headline').innerText(), /added/);
  await context.close();
});
