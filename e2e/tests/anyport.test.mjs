// End-to-end: "any port" explains a pair on every port. A denied pair whose policies only
// talk about 8080 says "denied on every port" with each side's reasons, and never mentions
// the 53/UDP that another policy allows elsewhere; an allowed edge lists its ports and, per
// side, the rules that admit them. Data: the CLI's pair example (cli/tests/data/pair-*).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { playgroundSuite } from '../lib/suite.mjs';
import { ARTIFACTS } from '../lib/playground.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA = path.resolve(here, '..', '..', 'cli', 'tests', 'data');
const POLICIES = fs.readFileSync(path.join(DATA, 'pair-policy.yaml'), 'utf8');
const CLUSTER = fs.readFileSync(path.join(DATA, 'pair-cluster.np'), 'utf8');

const suite = playgroundSuite();

async function openPairExample() {
  // Tall enough that the explanation panel shows a whole pair without scrolling.
  const { context, pg } = await suite.open({ viewport: { width: 1440, height: 1300 } });
  await pg.setPolicies(POLICIES);
  await pg.setCluster(CLUSTER);
  assert.equal(await pg.tid('port-select').inputValue(), 'any');
  return { context, pg };
}

async function panelShot(pg, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await pg.page.locator('.explanation').evaluate((el) => el.scrollTo(0, 0));
  await pg.page.locator('.explanation-panel').screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

test('any port: a denied pair is denied on every port, never on an unrelated port', async () => {
  const { context, pg } = await openPairExample();
  await pg.changing(() => pg.tid('show-denied').check());
  assert.equal(await pg.edge('shop/dns', 'shop/api').getAttribute('data-verdict'), 'denied');
  await pg.clickEdge('shop/dns', 'shop/api');
  const panel = pg.tid('explanation');
  assert.equal(await panel.locator('[data-testid="pair-title"]').innerText(), 'shop/dns → shop/api');
  assert.equal(await panel.locator('[data-testid="verdict"]').getAttribute('data-verdict'), 'denied');
  const text = await pg.explanation();
  assert.match(text, /on every port/i);
  assert.match(await pg.tid('denied-why').innerText(), /the ingress of shop\/api admits no port from shop\/dns/);
  assert.doesNotMatch(text, /53/, 'the DNS rule of another policy has nothing to say here');
  assert.doesNotMatch(text, /UDP/);
  assert.equal(await panel.locator('[data-testid="explanation-egress"]').getAttribute('data-state'), 'not isolated');
  const ingress = panel.locator('[data-testid="explanation-ingress"]');
  assert.equal(await ingress.getAttribute('data-state'), 'denied');
  const why = await ingress.innerText();
  assert.match(why, /Denied on every port/);
  assert.match(why, /api-from-web/);
  assert.match(why, /podSelector does not match/);
  // The plain text is the CLI's, word for word.
  await panel.locator('details.plain summary').click();
  assert.match(await panel.locator('details.plain pre').innerText(), /^shop\/dns -> shop\/api on any port: denied on every port\n/);
  await panel.locator('details.plain summary').click();
  await panelShot(pg, 'explanation-any-port-denied');

  // Both sides allow something, nothing in common: each side's ports are named.
  await pg.clickEdge('shop/web', 'shop/db');
  const disjoint = await pg.tid('disjoint').innerText();
  assert.match(disjoint, /egress allows only TCP 5432/);
  assert.match(disjoint, /ingress allows only TCP 8080/);
  await panelShot(pg, 'explanation-any-port-disjoint');
  await context.close();
});

test('any port: an allowed edge lists its ports and the rules per side', async () => {
  const { context, pg } = await openPairExample();
  assert.equal(await pg.edge('shop/web', 'shop/api').getAttribute('data-ports'), 'TCP 8080');
  await pg.clickEdge('shop/web', 'shop/api');
  const panel = pg.tid('explanation');
  assert.equal(await panel.locator('[data-testid="pair-title"]').innerText(), 'shop/web → shop/api');
  assert.equal(await panel.locator('[data-testid="verdict"]').getAttribute('data-verdict'), 'allowed');
  assert.equal(await pg.tid('allowed-ports').innerText(), 'TCP 8080');
  const egress = panel.locator('[data-testid="explanation-egress"]');
  const ingress = panel.locator('[data-testid="explanation-ingress"]');
  assert.equal(await egress.getAttribute('data-state'), 'allowed');
  assert.equal(await ingress.getAttribute('data-state'), 'allowed');
  // Egress of web allows more than this pair uses (only to the api is 8080 admitted).
  assert.match(await egress.innerText(), /allow-dns · spec\.egress\[1\][\s\S]*admits TCP 8080/);
  assert.match(await ingress.innerText(), /api-from-web · spec\.ingress\[0\][\s\S]*admits TCP 8080/);
  await panelShot(pg, 'explanation-any-port-allowed');

  // A chosen port explains that port, and a denied pair on it still names the pair.
  await pg.selectPort('UDP:53');
  await pg.clickEdge('shop/web', 'shop/dns');
  assert.equal(await pg.tid('verdict').getAttribute('data-verdict'), 'allowed');
  assert.match(await pg.tid('verdict').innerText(), /53\/UDP/);
  await context.close();
});
