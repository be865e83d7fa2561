// End-to-end: a graph people can read, click and trust (issue 11). Relations instead of
// meshes, edges routed around nodes and clickable along their stroke (every midpoint of a
// dense example explains exactly its pair), hover, focus, search, namespace filter, groups
// named by what they share, the what-changed list, the canvas renderer with its list.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { playgroundSuite } from '../lib/suite.mjs';
import { deployments, generateDocs } from '../lib/generate.mjs';

const suite = playgroundSuite();

const open = (viewport) => suite.open(viewport ? { viewport } : {});

const count = (pg, sel) => pg.page.locator(sel).count();

test('relations, not meshes: the seed example draws what its one policy decides', async () => {
  const { context, pg } = await open();
  await pg.loadExample('internal-egress');
  await pg.selectPort('TCP:3306');
  const drawn = await pg.edges();
  // Only the egress-isolated pod's relations are decided by a policy.
  assert.ok(drawn.length > 0 && drawn.length <= 6, drawn.join('\n'));
  assert.ok(drawn.every((e) => e.startsWith('default/internal ')), drawn.join('\n'));
  assert.equal(await count(pg, '[data-testid="edge"][data-open="true"]'), 0);
  // Open sides are marked on the nodes, and the bar says what is not drawn.
  assert.equal(await pg.page.locator('[data-testid="node"][data-id="default/mysql"]').getAttribute('data-open-ingress'), 'true');
  await pg.tid('open-hidden').waitFor();
  // The toggle draws every pair no policy decided.
  await pg.changing(() => pg.tid('show-unrestricted').check());
  const all = await pg.edges();
  assert.ok(all.length >= 20, `${all.length} edges with unrestricted pairs`);
  assert.ok((await count(pg, '[data-testid="edge"][data-open="true"]')) > 0);
  await pg.changing(() => pg.tid('show-unrestricted').uncheck());
  assert.deepEqual(await pg.edges(), drawn);
  await context.close();
});

test('60 pods and no policy: the default view draws no more than 60 edge elements', async () => {
  const { context, pg } = await open();
  const cluster = Array.from({ length: 60 }, (_, i) => `pod ns${i % 4}/p${i} app=a${i}`).join('\n') + '\n';
  await pg.setPolicies('');
  await pg.setCluster(cluster);
  assert.equal((await pg.nodeIds()).filter((id) => id.includes('/')).length, 60);
  assert.ok((await count(pg, '[data-testid="edge"]')) <= 60);
  await context.close();
});

test('a dense example: every edge is routed around nodes and its midpoint explains exactly its pair', async () => {
  const { context, pg } = await open({ width: 1440, height: 1000 });
  const { cluster, policies } = deployments(7);
  await pg.setPolicies(policies);
  await pg.setCluster(cluster);
  await pg.changing(() => pg.tid('show-denied').check());
  const mids = await pg.edgeMidpoints();
  assert.ok(mids.length >= 25, `a dense example: ${mids.length} edges`);
  // No stroke passes under a node: sample every edge's path, away from its two ends.
  const under = await pg.page.evaluate(() => {
    const nodes = [...document.querySelectorAll('[data-testid="node"] .node__box')].map((r) => r.getBoundingClientRect());
    const bad = [];
    for (const e of document.querySelectorAll('[data-testid="edge"]')) {
      const path = e.querySelector('.edge__line');
      const m = path.getScreenCTM();
      const len = path.getTotalLength();
      for (let s = 8; s < len - 8; s += 3) {
        const p = path.getPointAtLength(s);
        const x = p.x * m.a + p.y * m.c + m.e;
        const y = p.x * m.b + p.y * m.d + m.f;
        if (nodes.some((r) => x > r.left + 1 && x < r.right - 1 && y > r.top + 1 && y < r.bottom - 1)) {
          bad.push(`${e.dataset.from} -> ${e.dataset.to}`);
          break;
        }
      }
    }
    return bad;
  });
  assert.deepEqual(under, [], 'edges under nodes');
  // The topmost element at each midpoint is that edge...
  const owners = await pg.page.evaluate((pts) =>
    pts.map((p) => {
      const el = document.elementFromPoint(p.x, p.y)?.closest('[data-testid="edge"]');
      return el ? `${el.dataset.from} -> ${el.dataset.to}` : 'nothing';
    }),
  mids);
  const wrong = mids.filter((m, i) => owners[i] !== `${m.from} -> ${m.to}`).map((m, i) => `${m.from} -> ${m.to} hit ${owners[i]}`);
  assert.deepEqual(wrong, [], 'midpoints covered by another element');
  // ...and a real click there explains exactly that pair.
  for (const m of mids) {
    await pg.page.mouse.click(m.x, m.y);
    const title = await pg.pairTitle();
    assert.equal(`${title.from} -> ${title.to}`, `${m.from} -> ${m.to}`);
    assert.match(title.text, / → /);
  }
  await pg.screenshot('graph-dense-deployments');
  await context.close();
});

test('hovering an edge shows the pair, the verdict and the ports', async () => {
  const { context, pg } = await open();
  const [m] = (await pg.edgeMidpoints()).filter((e) => e.from === 'default/frontend' && e.to === 'default/backend');
  assert.ok(m, 'frontend -> backend is drawn');
  await pg.page.mouse.move(m.x, m.y);
  const tip = pg.tid('tooltip');
  await tip.waitFor();
  const text = await tip.innerText();
  assert.match(text, /default\/frontend → default\/backend/);
  assert.match(text, /allowed/);
  await context.close();
});

test('clicking a node focuses its peers and dims the rest; Escape clears', async () => {
  const { context, pg } = await open();
  await pg.page.locator('[data-testid="node"][data-id="default/frontend"]').click();
  const focus = async (id) => pg.page.locator(`[data-testid="node"][data-id="${id}"]`).getAttribute('data-focus');
  assert.equal(await focus('default/frontend'), 'self');
  assert.equal(await focus('default/backend'), 'peer');
  assert.equal(await focus('monitoring/prober'), 'dim');
  assert.equal(await pg.tid('node-info').getAttribute('data-id'), 'default/frontend');
  await pg.screenshot('graph-focus');
  await pg.page.keyboard.press('Escape');
  assert.equal(await focus('default/frontend'), null);
  assert.equal(await count(pg, '.is-dimmed'), 0);
  await context.close();
});

test('groups are named by what they share; search finds a pod inside one and opens it in place', async () => {
  const { context, pg } = await open();
  // 3 Deployments' pods (pod-template-hash naming) plus singles: above 60 endpoints, alike pods group.
  const pods = [];
  for (const [app, n] of [['api', 30], ['web', 25], ['db', 8]]) {
    for (let i = 0; i < n; i++) pods.push(`pod shop/${app}-7d9f-${String(i).padStart(2, '0')} app=${app} pod-template-hash=7d9f ip=10.0.${app.length}.${i + 1}`);
  }
  const policy = 'kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: db, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: api}}}]\n';
  await pg.setPolicies(policy);
  await pg.setCluster(pods.join('\n') + '\n');
  const group = pg.page.locator('[data-testid="node"][data-kind="group"][data-id="group:shop/api-7d9f-00"]');
  await group.waitFor();
  assert.match(await group.getAttribute('aria-label'), /app=api — 30 pods of Deployment api/);
  await group.click();
  assert.match(await pg.tid('node-info').innerText(), /30 pods of Deployment api/);
  // Opening it in place keeps it selected.
  await pg.changing(() => pg.tid('expand-group').click());
  assert.match(await pg.tid('node-info').innerText(), /Close the group/);
  assert.equal(await pg.page.locator('[data-testid="node"][data-id="shop/api-7d9f-17"]').getAttribute('data-focus'), 'self');
  await pg.changing(() => pg.tid('collapse-group').click());
  // Search: a pod inside the (collapsed again) group opens it, selects and centres the pod.
  await pg.tid('search').fill('api-7d9f-21');
  await pg.tid('search-result').first().waitFor();
  await pg.changing(() => pg.tid('search').press('Enter'));
  const pod = pg.page.locator('[data-testid="node"][data-id="shop/api-7d9f-21"]');
  await pod.waitFor();
  assert.equal(await pg.tid('node-info').getAttribute('data-id'), 'shop/api-7d9f-21');
  const box = await pod.boundingBox();
  const area = await pg.tid('graph').boundingBox();
  const centre = { x: area.x + area.width / 2, y: area.y + area.height / 2 };
  assert.ok(Math.abs(box.x + box.width / 2 - centre.x) < 60 && Math.abs(box.y + box.height / 2 - centre.y) < 60, 'centred');
  // A label finds every pod carrying it.
  await pg.tid('search').fill('app=db');
  assert.match(await pg.tid('search-result').first().innerText(), /app=db/);
  await context.close();
});

test('the namespace filter keeps one namespace and its peers', async () => {
  const { context, pg } = await open();
  await pg.changing(() => pg.tid('namespace-filter').selectOption('monitoring'));
  const ids = await pg.nodeIds();
  assert.ok(ids.includes('monitoring/prober'));
  assert.ok(!ids.some((id) => id.startsWith('default/')), ids.join(', '));
  await pg.changing(() => pg.tid('namespace-filter').selectOption(''));
  assert.ok((await pg.nodeIds()).includes('default/frontend'));
  await context.close();
});

test('what changed lists the connections opened and closed, clickable, and flashes them', async () => {
  const { context, pg } = await open();
  const cluster = await pg.cluster();
  await pg.setCluster(cluster.replace('labels: {app: backend}', 'labels: {app: frontend}'));
  const line = pg.tid('whatif');
  assert.match(await line.innerText(), /opened/);
  assert.ok((await count(pg, '.edge.is-flash')) > 0, 'opened edges flash');
  await line.locator('summary').click();
  const item = pg.tid('whatif-change').first();
  const [from, to, kind] = await Promise.all([item.getAttribute('data-from'), item.getAttribute('data-to'), item.getAttribute('data-kind')]);
  assert.equal(kind, 'opened');
  await item.click();
  const title = await pg.pairTitle();
  assert.deepEqual([title.from, title.to], [from, to]);
  // Closing: back to the original labels.
  await pg.setCluster(cluster);
  assert.match(await pg.tid('whatif').innerText(), /closed/);
  await pg.tid('closed-edge').first().waitFor({ state: 'attached' });
  await context.close();
});

test('a 1,000-pod cluster: grouped, readable; a big one switches to the canvas with a list', async () => {
  const { context, pg } = await open();
  pg.page.setDefaultTimeout(120000);
  const m = generateDocs(1000, 500, 5);
  await pg.paste('policies', m.policies);
  await pg.paste('cluster', m.cluster);
  assert.ok((await count(pg, '[data-testid="node"]')) < 600);
  await pg.screenshot('graph-1000');
  // Everything the worker sends arrives whole: the summary counts every endpoint.
  assert.match(await pg.tid('summary').innerText(), /^1,000 endpoints · 500 policies/);
  await pg.changing(() => pg.tid('show-denied').check());
  const canvas = await count(pg, '[data-testid="graph-canvas"]');
  if (canvas) {
    const first = pg.page.locator('[data-testid="graph-list"] [data-testid="node"]').first();
    await first.waitFor();
    const id = await first.getAttribute('data-id');
    await first.click();
    assert.equal(await pg.tid('node-info').getAttribute('data-id'), id);
  }
  await context.close();
});

/** Moves the mouse over the canvas on a grid until the tooltip's title passes `want`;
 * returns the point and the title. */
async function hoverUntil(pg, want, step = 17) {
  const box = await pg.tid('graph-canvas').boundingBox();
  for (let y = box.y + 8; y < box.y + box.height - 4; y += step) {
    for (let x = box.x + 8; x < box.x + box.width - 4; x += step) {
      await pg.page.mouse.move(x, y);
      const title = await pg.page.locator('[data-testid="tooltip"] .tooltip__title').innerText({ timeout: 60 }).catch(() => '');
      if (title && want(title)) return { x, y, title };
    }
  }
  return null;
}

/** The namespace of a node id (`ns/pod`, `ns/Kind/name`, `group:ns/pod`). */
const nsOf = (id) => id.replace(/^group:/, '').split('/')[0];

test('a big graph opens on its namespaces: links add up, click one for its connections, zoom into one for its pods', async () => {
  const { context, pg } = await open();
  pg.page.setDefaultTimeout(120000);
  const m = generateDocs(1000, 500, 5);
  await pg.paste('policies', m.policies);
  await pg.paste('cluster', m.cluster);
  await pg.page.waitForFunction(() => document.querySelector('[data-testid="summary"]')?.innerText.startsWith('1,000 endpoints'));
  const note = pg.tid('overview-note');
  await note.waitFor();
  assert.match(await note.innerText(), /namespace links, by pod pairs allowed by policy/);
  // The list holds every link (it is filled a slice per task).
  const total = Number((await note.innerText()).match(/of ([\d,]+) namespace links/)[1].replaceAll(',', ''));
  await pg.page.waitForFunction((n) => document.querySelectorAll('[data-testid="ns-link"]').length === n, total);
  // One area per namespace of the cluster, and the outside.
  const areas = pg.page.locator('[data-testid="ns-area"]');
  const keys = await areas.evaluateAll((els) => els.map((e) => e.dataset.ns));
  const namespaces = [...new Set([...m.cluster.matchAll(/kind: Pod, metadata: \{name: [^,]+, namespace: ([^,}]+)/g)].map((x) => x[1]))];
  assert.ok(namespaces.length >= 20, `${namespaces.length} namespaces generated`);
  for (const ns of namespaces) assert.ok(keys.includes(ns), `namespace ${ns} has an area`);
  // The overview adds up to the header: pod pairs allowed by policy inside namespaces and
  // between them (pairs with an outside address are counted apart in the header).
  const outside = '(outside the cluster)';
  const inside = await areas.evaluateAll((els, outside) => els.filter((e) => e.dataset.ns !== outside).reduce((n, e) => n + Number(e.dataset.inside), 0), outside);
  const links = pg.page.locator('[data-testid="ns-link"]');
  const between = await links.evaluateAll((els, outside) => els.filter((e) => e.dataset.fromNs !== outside && e.dataset.toNs !== outside).reduce((n, e) => n + Number(e.dataset.pairs), 0), outside);
  const header = Number((await pg.tid('summary').innerText()).match(/([\d,]+) by policy/)[1].replaceAll(',', ''));
  assert.equal(inside + between, header, `inside ${inside} + between ${between} = header ${header}`);
  await pg.screenshot('graph-overview-1000');

  // A click on a drawn link (where its tooltip shows) explains that namespace pair.
  const onLink = await hoverUntil(pg, (t) => t.includes(' → '));
  assert.ok(onLink, 'some link of the overview is under the mouse somewhere');
  const [from, to] = onLink.title.split(' → ');
  await pg.page.mouse.click(onLink.x, onLink.y);
  const info = pg.tid('namespaces-info');
  await info.waitFor();
  assert.deepEqual([await info.getAttribute('data-from-ns'), await info.getAttribute('data-to-ns')], [from, to]);
  const listed = Number(await links.and(pg.page.locator(`[data-from-ns="${from}"][data-to-ns="${to}"]`)).getAttribute('data-pairs'));
  const said = Number((await pg.tid('namespaces-pairs').innerText()).match(/^([\d,]+) pod pairs? allowed by policy/)[1].replaceAll(',', ''));
  assert.equal(said, listed);
  // Its connections go from the one namespace to the other; each explains its pair.
  const conns = info.locator('[data-testid="peer-link"]');
  assert.ok((await conns.count()) > 0);
  for (const c of await conns.all()) {
    assert.equal(nsOf(await c.getAttribute('data-from')), from);
    assert.equal(nsOf(await c.getAttribute('data-to')), to);
  }
  const first = conns.first();
  const pair = [await first.getAttribute('data-from'), await first.getAttribute('data-to')];
  await first.click();
  const title = await pg.pairTitle();
  assert.deepEqual([title.from, title.to], pair);
  await pg.screenshot('graph-overview-link');

  // A namespace: its panel lists its links; "zoom in" leaves the overview for its pods.
  await pg.tid('clear-selection').click();
  await areas.and(pg.page.locator(`[data-ns="${from}"]`)).click();
  const nsInfo = pg.tid('namespace-info');
  await nsInfo.waitFor();
  assert.equal(await nsInfo.getAttribute('data-ns'), from);
  const out = nsInfo.locator('[data-testid="namespace-link"]');
  assert.ok((await out.count()) > 0);
  assert.ok((await out.evaluateAll((els, ns) => els.every((e) => e.dataset.fromNs === ns || e.dataset.toNs === ns), from)));
  await pg.tid('zoom-namespace').click();
  await note.waitFor({ state: 'detached' });
  await pg.screenshot('graph-overview-zoomed');
  await context.close();
});

test('the overview: a double-click on a namespace zooms into its pods', async () => {
  const { context, pg } = await open();
  pg.page.setDefaultTimeout(120000);
  const m = generateDocs(1000, 500, 5);
  await pg.paste('policies', m.policies);
  await pg.paste('cluster', m.cluster);
  await pg.tid('overview-note').waitFor();
  const onArea = await hoverUntil(pg, (t) => t.startsWith('namespace '));
  assert.ok(onArea, 'a namespace tile is under the mouse somewhere');
  await pg.page.mouse.dblclick(onArea.x, onArea.y);
  await pg.tid('overview-note').waitFor({ state: 'detached' });
  assert.equal(await pg.tid('namespace-info').getAttribute('data-ns'), onArea.title.replace('namespace ', ''));
  // Zoomed in, the canvas draws pods: hovering finds one of that namespace's nodes.
  const onNode = await hoverUntil(pg, (t) => !t.includes(' → ') && !t.startsWith('namespace '), 23);
  assert.ok(onNode, 'a pod or group is under the mouse somewhere after zooming in');
  await context.close();
});
