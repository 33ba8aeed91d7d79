/**
 * @module browser-harness
 * What the console's browser tests share: Debian's Chromium driven by playwright-core,
 * every request a page makes (to show that none leaves loopback) and every
 * Content-Security-Policy violation, reported by the console or by the page's
 * `securitypolicyviolation` event. Tests only.
 */
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, ensureAssets, ensureChromium } from './testing.js';

export class BrowserHarness {
  /** Every URL a page of this harness requested. */
  readonly requests: string[] = [];
  /** CSP violations the console reported. */
  readonly cspViolations: string[] = [];

  private constructor(readonly browser: Browser) {}

  /** Installs Chromium and builds the browser app when missing, then launches headless. */
  static async launch(): Promise<BrowserHarness> {
    ensureChromium();
    ensureAssets();
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    return new BrowserHarness(browser);
  }

  async newPage(width = 1280, height = 900): Promise<Page> {
    const page = await this.browser.newPage({ viewport: { width, height } });
    page.on('request', (r) => this.requests.push(r.url()));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) this.cspViolations.push(m.text());
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        (window as unknown as { __csp: string[] }).__csp ??= [];
        (window as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    return page;
  }

  /** Fails the test if the page or the console saw a CSP violation. */
  async assertNoCsp(page: Page): Promise<void> {
    const inPage = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);
    assert.deepEqual([...inPage, ...this.cspViolations], [], 'Content-Security-Policy violations');
  }

  close(): Promise<void> {
    return this.browser.close();
  }
}
