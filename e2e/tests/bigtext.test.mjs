// End-to-end: editing big texts (issue 11). Above half a megabyte the editor holds the
// lines around the view (a textarea lays out every line it holds), padded to the whole
// text's height; these tests check that nothing is lost or misplaced: typing deep in the
// text lands on the right line, select-all means all, a real paste event of megabytes goes in
// whole, copying everything copies the whole text, and a jump to a problem far down shows
// and selects it.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { playgroundSuite } from '../lib/suite.mjs';
import { generateDocs } from '../lib/generate.mjs';

const suite = playgroundSuite();

const open = () => suite.open({ timeout: 240000 });

/** What the cluster editor shows: the lines it holds, its window and its scroller. */
function held(pg) {
  return pg.page.evaluate(() => {
    const ta = document.querySelector('[data-testid="cluster-editor"]');
    const sc = ta.parentElement;
    return { value: ta.value, window: ta.dataset.window ?? null, scrollHeight: sc.scrollHeight, clientHeight: sc.clientHeight };
  });
}

/** Scrolls the cluster editor so that 1-based line `line` is near the top; waits a frame. */
async function scrollToLine(pg, line) {
  await pg.page.evaluate(async (line) => {
    const sc = document.querySelector('[data-testid="cluster-editor"]').parentElement;
    sc.scrollTop = (line - 1) * 20;
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 30)));
  }, line);
}

const summary = async (pg) => (await pg.tid('summary').innerText()).split(' · ')[0];

test('a big text is held a window at a time; typing deep in it edits the right line', async () => {
  const { context, pg } = await open();
  const { policies, cluster } = generateDocs(10000, 200, 5);
  await pg.paste('policies', policies);
  await pg.paste('cluster', cluster);
  const lines = cluster.split('\n');
  const top = await held(pg);
  // Far fewer lines than the text, but as tall as all of them (20 px a line).
  assert.ok(top.window, 'the editor holds a window');
  assert.ok(top.value.length < cluster.length / 20, `${top.value.length} of ${cluster.length} bytes held`);
  assert.ok(Math.abs(top.scrollHeight - (lines.length * 20 + 20)) <= 20, `scroll height ${top.scrollHeight} for ${lines.length} lines`);
  assert.ok(cluster.startsWith(top.value), 'the window at the top holds the first lines');

  // The middle: the lines held are the text's lines there, numbered as such.
  const target = Math.floor(lines.length / 2) | 1; // an odd line: a pod, not a separator
  await scrollToLine(pg, target - 3);
  const mid = await held(pg);
  const [first, last] = mid.window.split('-').map(Number);
  assert.ok(first <= target && target <= last, `window ${mid.window} holds line ${target}`);
  assert.equal(mid.value, lines.slice(first - 1, last).join('\n'));
  const gutter = await pg.page.locator('.editor__gutter').nth(1).innerText();
  assert.ok(gutter.includes(String(target)), 'the gutter numbers the lines held');

  // Click into line `target` and make its pod another kind: the problem is reported on
  // that very line, and only that pod is gone.
  const box = await pg.tid('cluster-editor').locator('xpath=..').boundingBox();
  const y = await pg.page.evaluate((target) => {
    const sc = document.querySelector('[data-testid="cluster-editor"]').parentElement;
    return sc.getBoundingClientRect().top + 10 + (target - 1) * 20 - sc.scrollTop + 10;
  }, target);
  await pg.page.mouse.click(box.x + 400, y);
  await pg.page.keyboard.press('Home');
  for (let i = 0; i < '{apiVersion: v1, kind: Pod'.length; i++) await pg.page.keyboard.press('ArrowRight');
  await pg.changing(() => pg.page.keyboard.type('zz'));
  assert.match(lines[target - 1], /kind: Pod,/);
  // (A big model reaches the page after its graph: wait for its problems.)
  await pg.page.waitForFunction((line) => document.querySelector(`[data-testid="inline-diagnostic"][data-line="${line}"]`), target, { timeout: 30000 }).catch(() => {});
  const marks = await pg.page.locator('[data-testid="inline-diagnostic"]').evaluateAll((els) => els.map((e) => Number(e.dataset.line)));
  assert.ok(marks.includes(target), `a problem on line ${target}: ${marks}`);
  // Every other line is untouched: the endpoints are the text's minus the broken pod.
  assert.match(await summary(pg), /^9,999 endpoints$/);
  await pg.screenshot('bigtext-typed');

  // Deleting what was typed puts it back (the browser's own editing, inside the window).
  await pg.page.keyboard.press('Backspace');
  await pg.page.keyboard.press('Backspace');
  await pg.page.waitForFunction(() => document.querySelector('[data-testid="summary"]')?.innerText.startsWith('10,000 endpoints'), null, { timeout: 30000 });
  assert.equal(await pg.page.locator('[data-testid="inline-diagnostic"]').count(), 0);
  await context.close();
});

test('select all and type replaces the whole big text, not the lines held', async () => {
  const { context, pg } = await open();
  const { cluster } = generateDocs(8000, 10, 3);
  await pg.paste('cluster', cluster);
  assert.ok((await held(pg)).window);
  await scrollToLine(pg, 4000);
  // Playwright's fill selects all and inserts, as a person's Ctrl+A and typing would.
  await pg.changing(() => pg.tid('cluster-editor').fill('pod shop/one app=one\npod shop/two app=two\n'));
  assert.match(await summary(pg), /^2 endpoints$/);
  const now = await held(pg);
  assert.equal(now.window, null, 'a small text is held whole again');
  assert.equal(now.value, 'pod shop/one app=one\npod shop/two app=two\n');
  await context.close();
});

test('a real paste of 1.6 MB goes in whole (caret after it), and copying everything copies it all', async () => {
  const { context, pg } = await open();
  const { policies, cluster } = generateDocs(10000, 5000, 9);
  await pg.tid('cluster-editor').fill('');
  await pg.page.waitForTimeout(300);
  // A paste event as the browser fires it for Ctrl+V, with the text on its clipboard data.
  const gen0 = await pg.generation();
  await pg.tid('policies-editor').focus();
  const taken = await pg.page.evaluate((text) => {
    const ta = document.querySelector('[data-testid="policies-editor"]');
    ta.select();
    const data = new DataTransfer();
    data.setData('text/plain', text);
    const ev = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
    ta.dispatchEvent(ev);
    return ev.defaultPrevented;
  }, policies);
  assert.ok(taken, 'the editor took the big paste itself');
  await pg.page.waitForFunction((g) => Number(document.querySelector('[data-testid="app"]').dataset.generation) > g, gen0);
  await pg.page.waitForFunction(() => document.querySelector('[data-testid="summary"]')?.innerText.includes('5,000 policies'));
  // The caret is after the pasted text: the window holds the end.
  const end = await pg.page.evaluate(() => {
    const ta = document.querySelector('[data-testid="policies-editor"]');
    return { window: ta.dataset.window, caretAtEnd: ta.selectionStart === ta.value.length };
  });
  const total = policies.split('\n').length;
  assert.ok(end.window.endsWith(`-${total}`), `window ${end.window} ends at line ${total}`);
  assert.ok(end.caretAtEnd);

  // Select all, copy: the clipboard gets the whole text, not the lines held.
  const copied = await pg.page.evaluate(() => {
    const ta = document.querySelector('[data-testid="policies-editor"]');
    ta.select();
    const data = new DataTransfer();
    ta.dispatchEvent(new ClipboardEvent('copy', { clipboardData: data, bubbles: true, cancelable: true }));
    return data.getData('text/plain');
  });
  assert.equal(copied.length, policies.length);
  assert.equal(copied, policies);
  await context.close();
});

test('jumping to a problem far down a big text shows and selects it', async () => {
  const { context, pg } = await open();
  const { cluster } = generateDocs(8000, 10, 4);
  const lines = cluster.split('\n');
  // 0-based: a pod line about a hundred lines before the end.
  const broken = lines.findIndex((l, i) => i >= lines.length - 101 && /kind: Pod/.test(l));
  assert.ok(broken > 0);
  lines[broken] = lines[broken].replace('kind: Pod', 'kind: Podd');
  await pg.paste('cluster', lines.join('\n'));
  // The Problems list names the line; clicking its location jumps there.
  const link = pg.page.locator(`[data-testid="diagnostics"] li[data-editor="cluster"][data-line="${broken + 1}"] [data-testid="jump"]`).first();
  await link.click();
  const at = await pg.page.evaluate(() => {
    const ta = document.querySelector('[data-testid="cluster-editor"]');
    const sc = ta.parentElement;
    return {
      window: ta.dataset.window,
      selected: ta.value.slice(ta.selectionStart, ta.selectionEnd),
      focused: document.activeElement === ta,
      topLine: Math.floor(sc.scrollTop / 20) + 1,
      rows: Math.floor(sc.clientHeight / 20),
    };
  });
  const [first, last] = at.window.split('-').map(Number);
  assert.ok(first <= broken + 1 && broken + 1 <= last, `window ${at.window} holds line ${broken + 1}`);
  assert.ok(at.focused);
  assert.ok(at.selected.includes('Podd'), `selected: ${at.selected}`);
  assert.ok(at.topLine <= broken + 1 && broken + 1 < at.topLine + at.rows, `line ${broken + 1} is in view from ${at.topLine}`);
  await pg.screenshot('bigtext-jump');
  await context.close();
});
