// Page object for the playground. Tests talk to it in a person's terms; it talks to the
// page only through data-testid attributes (the stable page contract).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.resolve(here, '..', 'artifacts');

/**
 * The fragment of a share link for `state` (the app's `#v1.` format: raw deflate of the JSON,
 * base64url), so a test can open a link without making it in the page first.
 */
export function linkFragment(state) {
  const full = { port: 'any', view: 'graph', show_denied: false, ...state };
  const packed = zlib.deflateRawSync(Buffer.from(JSON.stringify(full)));
  return 'v1.' + packed.toString('base64url');
}

export class Playground {
  constructor(page) {
    this.page = page;
  }

  static async open(context, url) {
    const page = await context.newPage();
    const pg = new Playground(page);
    await page.goto(url);
    await pg.ready();
    return pg;
  }

  tid(id) {
    return this.page.locator(`[data-testid="${id}"]`);
  }

  /** Waits until the app has mounted and produced a first result. */
  async ready() {
    await this.page.waitForSelector('[data-testid="app"][data-generation]');
    await this.tid('graph').or(this.tid('matrix')).first().waitFor();
  }

  async generation() {
    return Number(await this.tid('app').getAttribute('data-generation'));
  }

  /** Runs `action` and waits for the re-evaluation it causes. */
  async changing(action) {
    const before = await this.generation();
    await action();
    await this.page.waitForFunction(
      (b) => Number(document.querySelector('[data-testid="app"]').dataset.generation) > b,
      before,
    );
  }

  async setPolicies(text) {
    await this.changing(() => this.tid('policies-editor').fill(text));
  }

  async setCluster(text) {
    await this.changing(() => this.tid('cluster-editor').fill(text));
  }

  async policies() {
    return this.tid('policies-editor').inputValue();
  }

  async cluster() {
    return this.tid('cluster-editor').inputValue();
  }

  /** Drawn edges as sorted `from -> to (verdict)` strings. */
  async edges() {
    const list = await this.page.$$eval('[data-testid="edge"]', (els) =>
      els.map((e) => `${e.dataset.from} -> ${e.dataset.to} (${e.dataset.verdict})`),
    );
    return list.sort();
  }

  async nodeIds() {
    return (await this.page.$$eval('[data-testid="node"]', (els) => els.map((e) => e.dataset.id))).sort();
  }

  edge(from, to) {
    return this.page.locator(`[data-testid="edge"][data-from="${from}"][data-to="${to}"]`);
  }

  async clickEdge(from, to) {
    await this.edge(from, to).locator('.edge__hit').click({ force: true });
  }

  async explanation() {
    return this.tid('explanation').innerText();
  }

  async diagnostics() {
    return this.page.$$eval('[data-testid="diagnostic"]', (els) =>
      els.map((e) => ({
        severity: e.dataset.severity,
        editor: e.dataset.editor,
        line: Number(e.dataset.line),
        text: e.innerText,
      })),
    );
  }

  async selectPort(key) {
    await this.changing(() => this.tid('port-select').selectOption(key));
  }

  async showMatrix() {
    await this.tid('view-matrix').click();
    await this.tid('matrix').waitFor();
  }

  /** Clicks "Copy link" and returns the link the app built. */
  async share() {
    await this.tid('share').click();
    await this.page.waitForFunction(() => document.querySelector('[data-testid="share"]').dataset.url);
    return this.tid('share').getAttribute('data-url');
  }

  /** Downloads one export; returns { name, size }. */
  async exportFile(kind) {
    const menu = this.tid('export-menu');
    if (!(await menu.evaluate((d) => d.open))) {
      await menu.locator('summary').click();
    }
    const [download] = await Promise.all([
      this.page.waitForEvent('download'),
      this.tid(`export-${kind}`).click(),
    ]);
    const file = await download.path();
    return { name: download.suggestedFilename(), size: fs.statSync(file).size, text: fs.readFileSync(file, 'utf8') };
  }

  /** The example menu's shown text ("Custom" once the text is edited) and value. */
  async exampleMenu() {
    return this.tid('example-select').evaluate((s) => ({ value: s.value, text: s.selectedOptions[0]?.text ?? '' }));
  }

  /** Chooses an example from the menu (this replaces both editors' text). */
  async loadExample(key) {
    await this.changing(() => this.tid('example-select').selectOption(key));
  }

  async compare(afterPolicies) {
    await this.tid('compare-toggle').check();
    await this.tid('after-policies-editor').waitFor();
    if (afterPolicies !== undefined) {
      await this.changing(() => this.tid('after-policies-editor').fill(afterPolicies));
    }
  }

  cell(from, to) {
    return this.page.locator(`[data-testid="cell"][data-from="${from}"][data-to="${to}"]`);
  }

  /**
   * Where the element is relative to the viewport after scrolling it into view, and whether
   * it is the element a click at its centre would reach (not covered, not off-screen).
   */
  async reachable(locator) {
    await locator.scrollIntoViewIfNeeded();
    return locator.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const x = r.left + r.width / 2;
      const y = r.top + r.height / 2;
      const hit = document.elementFromPoint(x, y);
      return {
        inside: r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= window.innerWidth + 0.5 && r.top >= 0 && r.bottom <= window.innerHeight + 0.5,
        hit: hit === el || el.contains(hit) || (hit && hit.closest('label') && hit.closest('label').contains(el)),
        rect: { left: r.left, right: r.right, top: r.top, bottom: r.bottom },
      };
    });
  }

  /** Widest content of the page (a value above the viewport width means horizontal scroll). */
  async pageWidth() {
    return this.page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
  }

  async screenshot(name) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await this.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
  }
}
