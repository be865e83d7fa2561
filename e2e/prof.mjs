// Scratch: CPU profile of the page during one keystroke at a given size.
import fs from 'node:fs';
import { serve } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';
import { Playground } from './lib/playground.mjs';
import { generateDocs } from './lib/generate.mjs';
const [pods, policies] = (process.env.SIZE ?? '10000x5000').split('x').map(Number);
const server = await serve({ prefix: '/tools/netpol/' });
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const pg = await Playground.open(context, server.url + '?bench');
pg.page.setDefaultTimeout(240000);
const texts = generateDocs(pods, policies, 7);
const gen = () => pg.page.evaluate(() => Number(document.querySelector('[data-testid="app"]').dataset.generation));
const g0 = await gen();
const cdp = await context.newCDPSession(pg.page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
if (process.env.PASTE) await cdp.send('Profiler.start');
const t0 = Date.now();
await pg.page.evaluate(({ policies, cluster }) => {
  for (const [id, t] of [['policies-editor', policies], ['cluster-editor', cluster]]) {
    const ta = document.querySelector(`[data-testid="${id}"]`);
    ta.value = t; ta.dispatchEvent(new Event('input', { bubbles: true }));
  }
}, texts);
await pg.page.waitForFunction((g) => Number(document.querySelector('[data-testid="app"]').dataset.generation) > g, g0);
console.log('paste', Date.now() - t0);
if (process.env.PASTE) { const { profile } = await cdp.send('Profiler.stop'); fs.writeFileSync('/tmp/prof/paste.cpuprofile', JSON.stringify(profile)); }
await pg.page.waitForTimeout(3000);
for (let i = 0; i < 2; i++) {
  const g1 = await gen();
  if (i == 1) await cdp.send('Profiler.start');
  const t1 = Date.now();
  await pg.page.evaluate((i) => { const ta = document.querySelector('[data-testid="cluster-editor"]');
    ta.value = ta.value.replace(/tier: \w+/, i % 2 ? 'tier: web' : 'tier: db'); ta.dispatchEvent(new Event('input', { bubbles: true })); }, i);
  await pg.page.waitForFunction((g) => Number(document.querySelector('[data-testid="app"]').dataset.generation) > g, g1);
  await pg.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  console.log('key', Date.now() - t1);
}
const { profile } = await cdp.send('Profiler.stop');
fs.writeFileSync('/tmp/prof/key.cpuprofile', JSON.stringify(profile));
await browser.close(); await server.close();
