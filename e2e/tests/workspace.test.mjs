// End-to-end: a workspace people can trust in a design review (issue 12). Nothing typed is
// lost (drafts vs links, Undo, storage full), the screen tells the truth (stale marker,
// Custom label, compare mode in the matrix, explanation and exports, links keep the view),
// any screen and host (1024×700, a phone, no clipboard API, keyboard, help, export escaping).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { launch } from '../lib/browser.mjs';
import { playgroundSuite } from '../lib/suite.mjs';
import { Playground, ARTIFACTS, linkFragment } from '../lib/playground.mjs';

const suite = playgroundSuite();

async function fresh(viewport = { width: 1440, height: 900 }) {
  return suite.context({ viewport, acceptDownloads: true, clipboard: true });
}

const LINK_POLICIES = '# from a colleague\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: x}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n';
const LINK_CLUSTER = 'namespace x\npod x/a app=a ip=10.0.0.1\npod x/b app=b ip=10.0.0.2\n';

test('a link opened in another tab does not replace the draft, which stays one click away', async () => {
  const context = await fresh();
  const mine = await Playground.open(context, suite.server.url);
  const draft = (await mine.policies()) + '\n# my draft, not shared with anyone\n';
  await mine.setPolicies(draft);
  const draftCluster = await mine.cluster();

  // A colleague's link, opened in a second tab of the same browser.
  const link = suite.server.url + '#' + linkFragment({ policies: LINK_POLICIES, cluster: LINK_CLUSTER });
  const theirs = await Playground.open(context, link);
  assert.equal(await theirs.policies(), LINK_POLICIES);
  await theirs.tid('draft-notice').waitFor();
  assert.match(await theirs.tid('draft-notice').innerText(), /shared link/);
  // Changing only the view of the link (port, matrix) is not an edit: still not saved.
  await theirs.showMatrix();
  await theirs.screenshot('workspace-link-notice');
  await theirs.page.close();

  // Back to the plain playground URL: the draft is there.
  const again = await Playground.open(context, suite.server.url);
  assert.equal(await again.policies(), draft);
  assert.equal(await again.cluster(), draftCluster);
  await again.page.close();

  // In the link's tab, "Back to my draft" opens it, and Undo goes back to the link.
  const third = await Playground.open(context, link);
  await third.changing(() => third.tid('open-draft').click());
  assert.equal(await third.policies(), draft);
  assert.equal(third.page.url().includes('#v1.'), false, 'the URL no longer claims to be the link');
  await third.changing(() => third.tid('undo').click());
  assert.equal(await third.policies(), LINK_POLICIES);
  assert.equal(await third.cluster(), LINK_CLUSTER);

  // Editing the link makes it the draft (the spec allows it), and drops the stale fragment.
  const edited = LINK_POLICIES + '# edited\n';
  await third.setPolicies(edited);
  assert.equal(third.page.url().includes('#v1.'), false);
  await third.page.reload();
  await third.ready();
  assert.equal(await third.policies(), edited);
  await context.close();
});

test('Undo after loading an example restores exactly the previous text of both editors', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const policies = '# typed by hand\n' + (await pg.policies());
  const cluster = (await pg.cluster()) + '\n# and here\n';
  await pg.setPolicies(policies);
  await pg.setCluster(cluster);
  // Compare mode too: the After editors are part of "the editors".
  const afterPolicies = policies + '# after\n';
  await pg.compare(afterPolicies);

  await pg.loadExample('default-deny');
  assert.notEqual(await pg.policies(), policies);
  assert.equal(await pg.tid('compare-toggle').isChecked(), false);
  assert.match(await pg.tid('undo-what').innerText(), /Default deny/);
  await pg.screenshot('workspace-undo');
  await pg.changing(() => pg.tid('undo').click());
  assert.equal(await pg.policies(), policies);
  assert.equal(await pg.cluster(), cluster);
  assert.equal(await pg.tid('compare-toggle').isChecked(), true);
  assert.equal(await pg.tid('after-policies-editor').inputValue(), afterPolicies);
  assert.equal(await pg.tid('undo').count(), 0, 'Undo is used up');

  // Ctrl+Z outside the editors undoes too; inside an editor it stays the editor's own.
  await pg.loadExample('ipblock');
  await pg.tid('view-graph').focus();
  await pg.changing(() => pg.page.keyboard.press('Control+z'));
  assert.equal(await pg.policies(), policies);
  await context.close();
});

test('a full storage is said out loud, and a huge draft is offered instead of freezing every visit', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  // Fill this origin's real localStorage until the browser refuses more.
  await pg.page.evaluate(() => {
    const chunk = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 200; i++) {
      try {
        localStorage.setItem('filler-' + i, chunk);
      } catch {
        break;
      }
    }
  });
  await pg.setPolicies((await pg.policies()) + '\n# this edit cannot be saved\n' + '#'.repeat(300 * 1024) + '\n');
  await pg.tid('save-error').waitFor();
  assert.match(await pg.tid('save-error').innerText(), /not being saved.*full/);
  await pg.screenshot('workspace-storage-full');
  await pg.page.evaluate(() => {
    for (const k of Object.keys(localStorage)) if (k.startsWith('filler-')) localStorage.removeItem(k);
  });
  await pg.setPolicies((await pg.policies()) + '# saved again\n');
  await pg.tid('save-error').waitFor({ state: 'detached' });

  // The saved draft is now over 300 KB: a plain visit opens quickly with the example and
  // offers the draft instead of analysing it unasked.
  const big = await pg.policies();
  await pg.page.reload();
  await pg.ready();
  assert.notEqual(await pg.policies(), big);
  assert.match(await pg.tid('draft-notice').innerText(), /not opened automatically/);
  await pg.changing(() => pg.tid('open-draft').click());
  assert.equal(await pg.policies(), big);
  await context.close();
});

test('stale results are marked on the graph, and no problem points below the last line', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const lines = ['namespace x', 'pod x/a app=a ip=10.0.0.1', 'pod x/b app=b ip=10.0.0.2', 'pod x/c app=c ip=10.0.0.3', 'pod x/d app=d ip=10.0.0.4', 'pod x/e app ip=10.0.0.5'];
  await pg.setCluster(lines.join('\n') + '\n');
  assert.equal(await pg.tid('stale-graph').count(), 0);
  // Four lines, one of them broken so that pods drop out: the last valid graph stays, marked.
  const short = 'namespace x\npod x/a app=a ip=10.0.0.1\npdo x/b app=b\npod x/c app=c';
  await pg.setCluster(short);
  await pg.tid('stale-graph').waitFor();
  assert.equal(await pg.page.locator('section.viz').getAttribute('data-stale'), 'true');
  const lineCount = short.split('\n').length;
  const marks = await pg.page.$$eval('[data-testid="inline-diagnostic"]', (els) =>
    els.filter((e) => e.closest('section').querySelector('[data-testid="cluster-editor"]')).map((e) => Number(e.dataset.line)),
  );
  assert.ok(marks.length > 0, 'the broken line is marked');
  assert.ok(marks.every((l) => l <= lineCount), `cluster markers at ${marks}`);
  const rows = await pg.page.$$eval('[data-testid="diagnostic"], [data-testid="finding"]', (els) =>
    els.filter((e) => e.dataset.editor === 'cluster').map((e) => Number(e.dataset.line)),
  );
  assert.ok(rows.every((l) => l <= lineCount), `problems at cluster lines ${rows}`);
  await pg.screenshot('workspace-stale');
  // Fixed text: the marker goes away.
  await pg.setCluster(short.replace('pdo', 'pod'));
  await pg.tid('stale-graph').waitFor({ state: 'detached' });
  await context.close();
});

test('the example menu says Custom once the text no longer matches the example', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  assert.deepEqual(await pg.exampleMenu(), { value: 'allow-frontend', text: 'Allow only frontend' });
  const original = await pg.policies();
  await pg.setPolicies(original + '# changed\n');
  assert.deepEqual(await pg.exampleMenu(), { value: 'custom', text: 'Custom' });
  await pg.setPolicies(original);
  assert.equal((await pg.exampleMenu()).value, 'allow-frontend');
  await pg.loadExample('named-port');
  assert.equal((await pg.exampleMenu()).value, 'named-port');
  await context.close();
});

test('compare mode reaches the matrix, the counts, the explanation and the exports', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const beforePolicies = await pg.policies();
  // Remove the only ingress rule: everything into `default` is denied after the change.
  await pg.compare(beforePolicies.replace(/\n  ingress:[\s\S]*$/, '\n'));
  assert.match(await pg.tid('summary').innerText(), /before → after: .* (\d+) → (\d+) connections allowed/);

  await pg.showMatrix();
  const removed = pg.cell('default/frontend', 'default/backend');
  assert.equal(await removed.getAttribute('data-before'), 'allowed');
  assert.equal(await removed.getAttribute('data-after'), 'denied');
  assert.equal(await removed.getAttribute('data-verdict'), 'denied');
  assert.equal(await removed.getAttribute('data-change'), 'removed');
  const same = pg.cell('default/frontend', 'monitoring/prober');
  assert.equal(await same.getAttribute('data-before'), 'allowed');
  assert.equal(await same.getAttribute('data-after'), 'allowed');
  assert.equal(await same.getAttribute('data-change'), 'same');
  assert.equal(await pg.tid('matrix').getAttribute('data-compare'), 'true');

  // The explanation of the removed pair says both verdicts and what changed.
  await removed.click();
  const verdicts = pg.tid('compare-verdicts');
  await verdicts.waitFor();
  assert.equal(await verdicts.getAttribute('data-before'), 'allowed');
  assert.equal(await verdicts.getAttribute('data-after'), 'denied');
  assert.match(await verdicts.innerText(), /Closed by the change/);
  assert.match(await pg.tid('pair-change').innerText(), /−all ports/);
  assert.doesNotMatch(await pg.tid('explanation-after').innerText(), /✓\s*allowed/i);
  await pg.screenshot('workspace-compare-matrix');

  // Exports carry both states.
  const csv = await pg.exportFile('csv');
  assert.equal(csv.name, 'netpol-matrix-any-port-compare.csv');
  assert.match(csv.text, /before -> after/);
  assert.match(csv.text, /allowed -> denied/);
  const json = JSON.parse((await pg.exportFile('json')).text);
  assert.ok(json.before && json.after, 'both matrices');
  assert.ok(json.changes.some((c) => c.from === 'default/frontend' && c.to === 'default/backend' && c.after === 'denied'));
  assert.match((await pg.exportFile('dot')).text, /label="removed: all ports"/);
  assert.match((await pg.exportFile('svg')).text, />removed</);
  await context.close();
});

test('a link keeps the view: the selection, zoom and pan', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  await pg.clickEdge('default/frontend', 'default/backend');
  await pg.tid('zoom-in').click();
  await pg.tid('zoom-in').click();
  const frame = await pg.page.locator('[data-testid="graph"] > g[transform]').getAttribute('transform');
  assert.match(frame, /scale\(1\.56/);
  const title = await pg.tid('pair-title').innerText();
  const link = await pg.share();
  await context.close();

  const other = await fresh();
  const pg2 = await Playground.open(other, link);
  assert.equal(await pg2.tid('pair-title').innerText(), title);
  assert.equal(await pg2.page.locator('[data-testid="graph"] > g[transform]').getAttribute('transform'), frame);
  const classes = (await pg2.edge('default/frontend', 'default/backend').getAttribute('class')).split(' ');
  assert.ok(classes.includes('edge--allowed') && classes.includes('edge--selected'), classes.join(' '));
  await other.close();
});

test('1024×700: every control is on screen and reachable', async () => {
  const context = await fresh({ width: 1024, height: 700 });
  const pg = await Playground.open(context, suite.server.url);
  assert.ok((await pg.pageWidth()) <= 1024, 'no horizontal scroll');
  const controls = ['example-select', 'port-select', 'view-graph', 'view-matrix', 'show-denied', 'compare-toggle', 'share', 'help-button', 'export-menu', 'policies-editor', 'cluster-editor', 'zoom-in', 'zoom-out', 'zoom-reset', 'diagnostics', 'explanation'];
  for (const id of controls) {
    const where = await pg.reachable(pg.tid(id).first());
    assert.ok(where.inside, `${id} off screen: ${JSON.stringify(where.rect)}`);
    assert.ok(where.hit, `${id} covered: ${JSON.stringify(where.rect)}`);
  }
  await pg.page.evaluate(() => window.scrollTo(0, 0));
  await pg.screenshot('workspace-1024x700');
  // The export menu opens fully on screen.
  await pg.tid('export-menu').locator('summary').click();
  const item = await pg.reachable(pg.tid('export-mermaid'));
  assert.ok(item.inside && item.hit, JSON.stringify(item));
  await pg.screenshot('workspace-1024x700-export');
  await context.close();
});

test('390×844 phone: a read-only layout with the graph, the matrix and the explanation readable', async () => {
  const { context, pg } = await suite.open({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  assert.ok((await pg.pageWidth()) <= 390, `page is ${await pg.pageWidth()} px wide`);
  assert.equal(await pg.tid('policies-editor').isVisible(), false, 'read-only: no editors');
  assert.ok(await pg.tid('phone-note').isVisible());
  const graph = await pg.tid('graph').boundingBox();
  assert.ok(graph.width >= 360 && graph.height >= 300, JSON.stringify(graph));
  for (const id of ['share', 'export-menu', 'port-select', 'view-matrix', 'help-button']) {
    const where = await pg.reachable(pg.tid(id));
    assert.ok(where.inside && where.hit, `${id}: ${JSON.stringify(where.rect)}`);
  }
  await pg.clickEdge('default/frontend', 'default/backend');
  await pg.page.evaluate(() => window.scrollTo(0, 0));
  await pg.screenshot('workspace-phone-graph');
  await pg.showMatrix();
  assert.ok((await pg.pageWidth()) <= 390, 'the matrix scrolls inside its box, not the page');
  await pg.cell('monitoring/prober', 'default/db').click();
  const why = await pg.reachable(pg.tid('verdict').first());
  assert.ok(why.inside, JSON.stringify(why.rect));
  assert.match(await pg.explanation(), /denied/i);
  await pg.screenshot('workspace-phone-matrix');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await pg.page.screenshot({ path: path.join(ARTIFACTS, 'workspace-phone-full.png'), fullPage: true });
  await context.close();
});

test('without navigator.clipboard (plain http on a LAN name) the link is shown in a selectable field', async () => {
  // A host name that is not loopback makes plain http an insecure context for real: the
  // browser then has no navigator.clipboard at all.
  const lan = await launch(['--host-resolver-rules=MAP netpol.test 127.0.0.1']);
  try {
    const context = await lan.newContext({ viewport: { width: 1280, height: 800 } });
    const url = suite.server.url.replace('127.0.0.1', 'netpol.test');
    const pg = await Playground.open(context, url);
    assert.equal(await pg.page.evaluate(() => window.isSecureContext), false);
    assert.equal(await pg.page.evaluate(() => typeof navigator.clipboard), 'undefined');
    await pg.tid('share').click();
    const field = pg.tid('share-link');
    await field.waitFor();
    const value = await field.inputValue();
    assert.match(value, /^http:\/\/netpol\.test:\d+\/tools\/netpol\/#v1\./);
    assert.equal(value, await pg.tid('share').getAttribute('data-url'));
    const selected = await field.evaluate((f) => [f.selectionStart, f.selectionEnd, f.value.length]);
    assert.deepEqual(selected, [0, value.length, value.length], 'the whole link is selected');
    assert.equal(await pg.tid('toast').count(), 0, 'no false "copied"');
    await pg.screenshot('workspace-clipboard-fallback');
    // The link works.
    const pg2 = await Playground.open(context, value);
    assert.equal(await pg2.policies(), await pg.policies());
  } finally {
    await lan.close();
  }
});

test('keyboard: the graph is one tab stop walked with arrows; Escape clears; ? opens help', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  const stops = await pg.page.$$eval('[data-testid="graph"] [tabindex]', (els) => els.filter((e) => e.tabIndex >= 0).length);
  assert.equal(stops, 0, 'nothing inside the graph is its own tab stop');
  // Tab from the Cluster editor's neighbourhood reaches the graph in a few presses.
  await pg.tid('zoom-reset').focus();
  await pg.page.keyboard.press('Shift+Tab');
  let hops = 0;
  while (!(await pg.page.evaluate(() => document.activeElement?.dataset.testid === 'graph-focus')) && hops < 12) {
    await pg.page.keyboard.press('Shift+Tab');
    hops++;
  }
  assert.equal(await pg.page.evaluate(() => document.activeElement?.dataset.testid), 'graph-focus');
  await pg.page.keyboard.press('ArrowRight');
  await pg.tid('node-info').waitFor();
  const first = await pg.tid('node-info').getAttribute('data-id');
  await pg.page.keyboard.press('ArrowRight');
  assert.notEqual(await pg.tid('node-info').getAttribute('data-id'), first);
  await pg.page.keyboard.press('ArrowDown');
  await pg.tid('pair').waitFor();
  assert.match(await pg.tid('graph-announce').innerText(), / to .*: (allowed|denied)/);
  await pg.screenshot('workspace-keyboard');
  await pg.page.keyboard.press('Escape');
  await pg.tid('pair').waitFor({ state: 'detached' });
  assert.match(await pg.explanation(), /Ask why/);

  await pg.page.keyboard.press('?');
  await pg.tid('help').waitFor();
  await pg.page.waitForFunction(() => document.activeElement?.dataset.testid === 'help-close');
  assert.match(await pg.tid('help-shortcuts').innerText(), /Esc/);
  assert.match(await pg.tid('help').innerText(), /pod prod\/api app=api/);
  assert.equal(await pg.tid('help-docs').getAttribute('href'), 'compact-format.md');
  const doc = await pg.page.request.get(new URL('compact-format.md', suite.server.url).href);
  assert.equal(doc.status(), 200, 'the docs ship with the page');
  await pg.screenshot('workspace-help');
  await pg.page.keyboard.press('Escape');
  await pg.tid('help').waitFor({ state: 'detached' });

  // Typing ? in an editor types it.
  await pg.tid('policies-editor').focus();
  await pg.page.keyboard.press('?');
  assert.equal(await pg.tid('help').count(), 0);
  // Empty editors say what belongs in them.
  await pg.setCluster('');
  assert.match(await pg.tid('cluster-editor').getAttribute('placeholder'), /pod prod\/api/);
  assert.match(await pg.tid('policies-editor').getAttribute('placeholder'), /NetworkPolicies/);
  await context.close();
});

test('matrix keyboard: one tab stop, arrows move between cells, Enter explains', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  await pg.showMatrix();
  const stops = await pg.page.$$eval('[data-testid="cell"]', (els) => els.filter((e) => e.tabIndex >= 0).length);
  assert.equal(stops, 1);
  await pg.page.locator('[data-testid="cell"][tabindex="0"]').focus();
  const start = await pg.page.evaluate(() => document.activeElement.dataset.col);
  await pg.page.keyboard.press('ArrowRight');
  assert.equal(await pg.page.evaluate(() => document.activeElement.dataset.col), String(Number(start) + 1));
  await pg.page.keyboard.press('Enter');
  await pg.tid('pair').waitFor();
  await context.close();
});

const HOSTILE_CLUSTER = `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {name: "a\\"b<c>&d\\u0001e]|#;%%", namespace: "ns]x", labels: {app: a}}, status: {podIP: 10.0.0.1}}
- {apiVersion: v1, kind: Pod, metadata: {name: "Bad_Name", namespace: default, labels: {app: b}}, spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}, status: {podIP: 10.0.0.2}}
- {apiVersion: v1, kind: Pod, metadata: {name: c, namespace: "=HYPERLINK(1)", labels: {app: c}}, status: {podIP: 10.0.0.3}}
- {apiVersion: v1, kind: Pod, metadata: {name: d, namespace: default, labels: {app: d}}, status: {podIP: 10.0.0.4}}
- {apiVersion: v1, kind: Pod, metadata: {name: e, namespace: default, labels: {app: e}}, status: {podIP: 10.0.0.5}}
`;

test('exports: valid SVG with a legend for any name, escaped DOT and Mermaid, CSV names its port', async () => {
  const context = await fresh();
  const pg = await Playground.open(context, suite.server.url);
  await pg.setPolicies('');
  // (More pods than the example has, so the text with errors is not taken for a half-typed
  // edit that dropped objects: see the stale marker.)
  await pg.setCluster(HOSTILE_CLUSTER);
  assert.equal(await pg.tid('stale-graph').count(), 0);
  // The bad pod names are told as DNS-1123 problems, and the pods still show.
  const diags = await pg.diagnostics();
  assert.ok(diags.some((d) => /pod name `Bad_Name` contains `B`/.test(d.text)), JSON.stringify(diags));
  assert.ok((await pg.nodeIds()).includes('default/Bad_Name'));

  const svg = await pg.exportFile('svg');
  const parsed = await pg.page.evaluate((text) => {
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    return { error: doc.querySelector('parsererror')?.textContent ?? null, texts: [...doc.querySelectorAll('text')].map((t) => t.textContent) };
  }, svg.text);
  assert.equal(parsed.error, null, 'the SVG is well-formed XML');
  assert.ok(parsed.texts.includes('ingress-isolated') && parsed.texts.includes('allowed'), 'a legend');
  assert.ok(parsed.texts.some((t) => t.includes('a"b<c>&d\u2401e')), parsed.texts.join(' | '));

  const dot = (await pg.exportFile('dot')).text;
  assert.ok(dot.includes('"ns]x/a\\"b<c>&d\u2401e]|#;%%"'), dot);
  const mmd = (await pg.exportFile('mermaid')).text;
  for (const line of mmd.split('\n').slice(4)) {
    const labels = line.split('"').filter((_, i) => i % 2 === 1);
    for (const l of labels) assert.doesNotMatch(l, /[\]|[%<>`]/, line);
  }

  await pg.selectPort('TCP:80');
  const csv = await pg.exportFile('csv');
  assert.equal(csv.name, 'netpol-matrix-80-TCP.csv');
  assert.match(csv.text, /^"?from \\ to \(80\/TCP\)/);
  assert.ok(csv.text.includes("\n'=HYPERLINK(1)/c,"), 'a name never runs as a formula');
  await context.close();
});
