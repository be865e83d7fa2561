import { serve } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';
import { Playground } from './lib/playground.mjs';
import { generateDocs } from './lib/generate.mjs';
const server = await serve({ prefix: '/tools/netpol/' });
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const pg = await Playground.open(context, server.url);
pg.page.setDefaultTimeout(120000);
pg.page.on('console', (m) => console.log('console:', m.text().slice(0, 300)));
pg.page.on('pageerror', (e) => console.log('pageerror:', e.message));
const texts = generateDocs(10000, 5000, 7);
const g0 = await pg.generation();
await pg.page.evaluate(() => { window.__long = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(Math.round(e.duration)); }).observe({ type: 'longtask' }); });
const t0 = Date.now();
await pg.page.evaluate(({ policies, cluster }) => {
  for (const [id, t] of [['policies-editor', policies], ['cluster-editor', cluster]]) {
    const ta = document.querySelector(`[data-testid="${id}"]`);
    ta.value = t; ta.dispatchEvent(new Event('input', { bubbles: true }));
  }
}, texts);
await pg.page.waitForFunction((g) => Number(document.querySelector('[data-testid="app"]').dataset.generation) > g, g0);
console.log('paste ms', Date.now() - t0, 'long', await pg.page.evaluate(() => window.__long));
const info = () => pg.page.evaluate(() => { const ta = document.querySelector('[data-testid="cluster-editor"]'); return { win: ta.dataset.window, len: ta.value.length, sh: ta.parentElement.scrollHeight, st: ta.parentElement.scrollTop, pt: ta.style.paddingTop, pb: ta.style.paddingBottom }; });
console.log(await info());
await pg.screenshot('scratch-big-top');
// scroll to the middle
await pg.page.evaluate(() => { const ta = document.querySelector('[data-testid="cluster-editor"]'); const sc = ta.parentElement; sc.scrollTop = sc.scrollHeight / 2; });
await pg.page.waitForTimeout(300);
console.log(await info());
await pg.screenshot('scratch-big-mid');
// click into the middle of the editor and type
const box = await pg.page.locator('[data-testid="cluster-editor"] >> xpath=..').boundingBox();
await pg.page.mouse.click(box.x + 200, box.y + 200);
const before = await pg.page.evaluate(() => { const ta = document.querySelector('[data-testid="cluster-editor"]'); return [ta.selectionStart, ta.value.slice(ta.selectionStart - 20, ta.selectionStart + 20)]; });
console.log('caret', before);
const g1 = await pg.generation();
await pg.page.keyboard.type('zz');
await pg.page.waitForFunction((g) => Number(document.querySelector('[data-testid="app"]').dataset.generation) > g, g1);
console.log(await info(), await pg.page.evaluate(() => { const ta = document.querySelector('[data-testid="cluster-editor"]'); return ta.value.slice(ta.selectionStart - 20, ta.selectionStart + 20); }));
const diags = await pg.page.locator('[data-testid="inline-diagnostic"]').count();
console.log('inline diags', diags);
await pg.screenshot('scratch-big-typed');
await browser.close(); await server.close();
