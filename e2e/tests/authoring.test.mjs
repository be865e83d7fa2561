// End-to-end: authoring in the playground (issue 13). "Allow this" / "Deny this" on a selected
// pair propose the core's smallest edit with every other pair it changes, before anything is
// written; Apply is one Undo step; refusals are worded by the core; Generate shows its
// self-check first; a guided tutorial is checked live as the user edits.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { playgroundSuite } from '../lib/suite.mjs';
import { Playground, linkFragment } from '../lib/playground.mjs';

const suite = playgroundSuite();

const POLICIES = `# The shop's policies.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: api
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: web
    ports:
    - protocol: TCP
      port: 8080
`;

// Two replicas of web and of db (one workload each, told apart by a label the selectors
// never use): opening db -> api opens db-2 -> api too, closing web -> api closes web-2's.
const CLUSTER = `namespace shop
pod shop/web app=web replica=1 ip=10.1.0.10
pod shop/web-2 app=web replica=2 ip=10.1.0.11
pod shop/api app=api ip=10.1.0.20 ports=http:8080
pod shop/db app=db replica=1 ip=10.1.0.30 ports=postgres:5432
pod shop/db-2 app=db replica=2 ip=10.1.0.31 ports=postgres:5432
`;

async function open(state = {}) {
  const context = await suite.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const link = suite.server.url + '#' + linkFragment({ policies: POLICIES, cluster: CLUSTER, view: 'matrix', ...state });
  const pg = await Playground.open(context, link);
  await pg.tid(state.view ?? 'matrix').waitFor();
  return { context, pg };
}

async function selectCell(pg, from, to) {
  await pg.cell(from, to).click();
  await pg.tid('pair-actions').waitFor();
}

test('Allow this: the proposal shows the YAML and the other pairs; Apply opens the edge; Undo restores the text exactly', async () => {
  // Selected as a person does: the denied edge, drawn with "Show denied".
  const { context, pg } = await open({ show_denied: true, view: 'graph' });
  assert.equal(await pg.edge('shop/db', 'shop/api').getAttribute('data-verdict'), 'denied');
  // (A click event on the edge itself: the edges to and from api cross near its middle.)
  await pg.edge('shop/db', 'shop/api').locator('.edge__hit').dispatchEvent('click');
  await pg.tid('pair-actions').waitFor();
  await pg.tid('edit-port').fill('8080');
  await pg.tid('allow-this').click();
  const proposal = pg.tid('proposal');
  await proposal.waitFor();
  assert.equal(await proposal.getAttribute('data-kind'), 'allow');
  // The rule to add, as YAML, before anything is written.
  const yaml = await pg.tid('proposal-yaml').allInnerTexts();
  assert.equal(yaml.length >= 1, true);
  assert.match(yaml.join('\n'), /app: db/);
  assert.match(yaml.join('\n'), /8080/);
  assert.match(await pg.tid('proposal-target').innerText(), /shop\/db → shop\/api: nothing → TCP 8080/);
  // The other pair it opens: the second replica of the same workload.
  const others = await pg.tid('proposal-other').allInnerTexts();
  assert.deepEqual(others, ['shop/db-2 → shop/api: nothing → TCP 8080']);
  assert.equal(await pg.policies(), POLICIES, 'nothing is written before Apply');
  await pg.screenshot('authoring-allow-proposal');

  await pg.changing(() => pg.tid('apply-edit').click());
  const edited = await pg.policies();
  assert.notEqual(edited, POLICIES);
  assert.ok(edited.startsWith(POLICIES.slice(0, POLICIES.indexOf('    ports:'))), 'the existing text is kept');
  assert.match(edited, /app: db/);
  // The graph draws the new edge, and the one the proposal said it also opens.
  assert.equal(await pg.edge('shop/db', 'shop/api').getAttribute('data-verdict'), 'allowed');
  assert.equal(await pg.edge('shop/db-2', 'shop/api').getAttribute('data-verdict'), 'allowed');
  assert.match(await pg.tid('undo-what').innerText(), /Allowed shop\/db → shop\/api on 8080\/TCP/);
  // The written text is selected in the editor (and marked), so the user sees what changed.
  await pg.page.waitForFunction(() => {
    const t = document.querySelector('[data-testid="policies-editor"]');
    return /app: db/.test(t.value.slice(t.selectionStart, t.selectionEnd));
  });
  await pg.screenshot('authoring-allow-applied');

  // One Undo step puts back exactly what was there.
  await pg.changing(() => pg.tid('undo').click());
  assert.equal(await pg.policies(), POLICIES);
  assert.equal(await pg.cluster(), CLUSTER);
  assert.equal(await pg.edge('shop/db', 'shop/api').getAttribute('data-verdict'), 'denied');
  assert.equal(await pg.edge('shop/db-2', 'shop/api').getAttribute('data-verdict'), 'denied');
  await context.close();
});

test('Deny this lists every other pair it closes; Cancel leaves everything; Apply closes it', async () => {
  const { context, pg } = await open();
  assert.equal(await pg.cell('shop/web', 'shop/api').getAttribute('data-verdict'), 'allowed');
  await selectCell(pg, 'shop/web', 'shop/api');
  await pg.tid('deny-this').click();
  await pg.tid('proposal').waitFor();
  assert.equal(await pg.tid('proposal').getAttribute('data-kind'), 'deny');
  assert.match(await pg.tid('proposal-target').innerText(), /shop\/web → shop\/api: TCP 8080 → nothing/);
  const others = await pg.tid('proposal-other').allInnerTexts();
  assert.deepEqual(others, ['shop/web-2 → shop/api: TCP 8080 → nothing']);
  assert.match(await pg.tid('proposal-others-head').innerText(), /cannot be closed alone/i);
  await pg.screenshot('authoring-deny-proposal');

  await pg.tid('cancel-edit').click();
  await pg.tid('proposal').waitFor({ state: 'detached' });
  assert.equal(await pg.policies(), POLICIES);

  await pg.tid('deny-this').click();
  await pg.changing(() => pg.tid('apply-edit').click());
  assert.equal(await pg.cell('shop/web', 'shop/api').getAttribute('data-verdict'), 'denied');
  assert.equal(await pg.cell('shop/web-2', 'shop/api').getAttribute('data-verdict'), 'denied');
  await pg.changing(() => pg.tid('undo').click());
  assert.equal(await pg.policies(), POLICIES);
  await context.close();
});

test('a refusal is shown as the core words it, and nothing is written', async () => {
  const { context, pg } = await open();
  await selectCell(pg, 'shop/web', 'shop/api');
  await pg.tid('edit-port').fill('8080/TCP');
  await pg.tid('allow-this').click();
  const error = pg.tid('proposal-error');
  await error.waitFor();
  assert.match(await error.innerText(), /shop\/web may already reach shop\/api on TCP 8080/);
  assert.equal(await pg.tid('apply-edit').count(), 0);
  // A port the core cannot read is refused with its own message.
  await pg.tid('edit-port').fill('80/ICMP');
  await pg.tid('allow-this').click();
  await pg.page.waitForFunction(() => /unknown protocol/.test(document.querySelector('[data-testid="proposal-error"]')?.innerText ?? ''));
  await pg.screenshot('authoring-refusal');
  assert.equal(await pg.policies(), POLICIES);
  await context.close();
});

test('what an Admin-tier cluster policy denies is refused with the reason, not proposed', async () => {
  const guarded = POLICIES + `---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: guard-api
spec:
  priority: 10
  subject:
    pods:
      namespaceSelector: {}
      podSelector:
        matchLabels: {app: api}
  ingress:
  - name: no-db
    action: Deny
    from:
    - pods:
        namespaceSelector: {}
        podSelector:
          matchLabels: {app: db}
`;
  const { context, pg } = await open({ policies: guarded });
  await selectCell(pg, 'shop/db', 'shop/api');
  await pg.tid('allow-this').click();
  const error = pg.tid('proposal-error');
  await error.waitFor();
  assert.match(await error.innerText(), /shop\/db to shop\/api on .* is denied by the cluster admins' policy tiers whatever NetworkPolicies say/);
  assert.equal(await pg.tid('apply-edit').count(), 0);
  assert.equal(await pg.policies(), guarded);
  await context.close();
});

test('a YAML error in the Policies is refused plainly, and the text typed is kept as it is', async () => {
  const broken = POLICIES + '---\nkind: NetworkPolicy\nmetadata: {name: half, namespace: shop\n';
  const { context, pg } = await open({ policies: broken });
  await selectCell(pg, 'shop/db', 'shop/api');
  await pg.tid('allow-this').click();
  const error = pg.tid('proposal-error');
  await error.waitFor();
  assert.match(await error.innerText(), /has a YAML error .*fix it first/);
  assert.equal(await pg.tid('apply-edit').count(), 0);
  assert.equal(await pg.policies(), broken);
  await context.close();
});

async function verdicts(pg) {
  return pg.page.$$eval('[data-testid="cell"]', (els) =>
    els.map((e) => `${e.dataset.from} -> ${e.dataset.to}: ${e.dataset.verdict}`).sort(),
  );
}

test('Generate shows the policies with their self-check before it replaces the Policies; Undo brings them back', async () => {
  const { context, pg } = await open();
  const before = await verdicts(pg);
  await pg.tid('generate').click();
  const dialog = pg.tid('generate-dialog');
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('data-passed'), 'true');
  assert.match(await pg.tid('generate-check').innerText(), /allow exactly what is allowed now/);
  const yaml = await pg.tid('generate-yaml').innerText();
  assert.match(yaml, /kind: NetworkPolicy/);
  assert.match(yaml, /namespace: shop/);
  assert.equal(await pg.policies(), POLICIES, 'nothing is written before the choice');
  await pg.screenshot('authoring-generate');

  await pg.changing(() => pg.tid('generate-replace').click());
  await dialog.waitFor({ state: 'detached' });
  const written = await pg.policies();
  assert.equal(written.trim(), yaml.trim());
  // The generated policies allow exactly what the old ones did: every cell is the same.
  assert.deepEqual(await verdicts(pg), before);
  await pg.changing(() => pg.tid('undo').click());
  assert.equal(await pg.policies(), POLICIES);

  // "Add" keeps the text and appends the generated policies as more documents.
  await pg.tid('generate').click();
  await pg.changing(() => pg.tid('generate-add').click());
  const added = await pg.policies();
  assert.ok(added.startsWith(POLICIES + '---\n'), added.slice(0, 200));
  assert.deepEqual(await verdicts(pg), before);
  await context.close();
});

test('a tutorial from the examples menu: the goal, a wrong try shows the hint, the right edit passes and moves on', async () => {
  const { context, pg } = await suite.open();
  await pg.loadExample('tutorial:default-deny');
  const panel = pg.tid('tutorial');
  await panel.waitFor();
  assert.match(await pg.tid('tutorial-goal').innerText(), /Nothing may connect to the pods in shop/);
  assert.equal(await pg.tid('tutorial-status').getAttribute('data-passed'), 'false');
  assert.equal(await pg.tid('tutorial-hint').count(), 0, 'no hint before a try');
  assert.equal((await pg.exampleMenu()).value, 'tutorial:default-deny');

  // A wrong try: only web is selected, so the pods of shop still reach api and db.
  const wrong = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes:
  - Ingress
`;
  await pg.setPolicies(wrong);
  const hint = pg.tid('tutorial-hint');
  await hint.waitFor();
  assert.match(await hint.innerText(), /podSelector: \{\}/);
  assert.match(await pg.tid('tutorial-status').innerText(), /Not yet/);
  assert.equal(await pg.tid('tutorial-next').count(), 0);
  await pg.screenshot('authoring-tutorial-hint');

  // The right edit passes, and the next step is offered.
  await pg.setPolicies(wrong.replace('  podSelector:\n    matchLabels:\n      app: web\n', '  podSelector: {}\n'));
  await pg.page.waitForFunction(() => document.querySelector('[data-testid="tutorial-status"]')?.dataset.passed === 'true');
  assert.equal(await pg.tid('tutorial-hint').count(), 0);
  await pg.screenshot('authoring-tutorial-passed');
  await pg.tid('tutorial-next').click();
  await pg.page.waitForFunction(() => document.querySelector('[data-testid="tutorial"]')?.dataset.step === '2');
  assert.match(await pg.tid('tutorial-goal').innerText(), /Now egress too/);
  assert.equal(await pg.tid('tutorial-status').getAttribute('data-passed'), 'false');
  assert.equal(await pg.tid('tutorial-hint').count(), 0, 'a new step starts without a hint');

  // "Show a solution" writes the step's reference solution, as one Undo step.
  const passed = await pg.policies();
  await pg.changing(() => pg.tid('tutorial-solution').click());
  await pg.page.waitForFunction(() => document.querySelector('[data-testid="tutorial-status"]')?.dataset.passed === 'true');
  await pg.changing(() => pg.tid('undo').click());
  assert.equal(await pg.policies(), passed);
  await pg.page.waitForFunction(() => document.querySelector('[data-testid="tutorial-status"]')?.dataset.passed === 'false');

  // The last step: egress too. Passing it finishes the tutorial.
  await pg.setPolicies(passed.replace('  - Ingress\n', '  - Ingress\n  - Egress\n'));
  await pg.page.waitForFunction(() => document.querySelector('[data-testid="tutorial-status"]')?.dataset.passed === 'true');
  assert.match(await pg.tid('tutorial-status').innerText(), /tutorial complete/);
  assert.equal(await pg.tid('tutorial-next').innerText(), 'Finish');
  await pg.tid('tutorial-next').click();
  await pg.tid('tutorial').waitFor({ state: 'detached' });
  await context.close();
});
