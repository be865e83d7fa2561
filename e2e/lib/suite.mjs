// What every browser test file sets up: the release dist/ served over HTTP and one headless
// Chromium for the whole file (node --test runs each file in a process of its own), closed
// after its tests; `open` gives a fresh context with the playground loaded.
import { before, after } from 'node:test';

import { serve } from './server.mjs';
import { launch } from './browser.mjs';
import { Playground } from './playground.mjs';

export function playgroundSuite() {
  const suite = {
    server: null,
    browser: null,
    /** A new browser context (its options, 1440×900 unless given); `clipboard` lets the
     * page read and write the clipboard. */
    async context({ clipboard, ...options } = {}) {
      const context = await suite.browser.newContext({ viewport: { width: 1440, height: 900 }, ...options });
      if (clipboard) {
        await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(suite.server.url).origin });
      }
      return context;
    },
    /** A new context (see `context`) with the playground open; `timeout` sets the page's
     * default timeout. */
    async open({ timeout, ...options } = {}) {
      const context = await suite.context(options);
      const pg = await Playground.open(context, suite.server.url);
      if (timeout) pg.page.setDefaultTimeout(timeout);
      return { context, pg };
    },
  };
  before(async () => {
    suite.server = await serve();
    suite.browser = await launch();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.close();
  });
  return suite;
}
