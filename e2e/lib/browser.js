// Debian's Chromium driven by playwright-core (never a downloaded browser),
// with the checks every page gets: axe-core (WCAG 2.1 A/AA), no horizontal
// scroll at 320 px, no console error (CSP violations included), and
// Lighthouse's accessibility score on the main pages.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export async function launch() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  const userDataDir = mkdtempSync(join(tmpdir(), 'agora-chromium-'));
  const debugPort = 9300 + Math.floor(Math.random() * 500);
  // A persistent context is the browser's default one: Lighthouse, which
  // opens its own tab through the debugging port, sees the same cookies.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    locale: 'fr-FR',
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync', `--remote-debugging-port=${debugPort}`],
  });
  const page = context.pages()[0] || await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // An error page's own status (404, 422 on a form with errors) is
    // reported by Chromium as a failed load of the document: not a problem.
    if (msg.text().startsWith('Failed to load resource') && msg.location().url === page.url()) return;
    problems.push(`${page.url()}: console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => problems.push(`${page.url()}: page error: ${err.message}`));
  return {
    context, page, debugPort, problems,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// screenshot keeps the page as it is, for a failure report.
export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const file = join(artifacts, `${name.replace(/[^a-z0-9_-]+/gi, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  return file;
}

// axe runs axe-core in the page (through the debugging protocol, so the
// page's strict CSP stays on) and returns the violations, readable.
export async function axe(page) {
  await page.evaluate(axeSource);
  const res = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }), WCAG_TAGS);
  return res.violations.map((v) => ({
    rule: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 200), summary: n.failureSummary })),
  }));
}

// horizontalOverflow is how many CSS pixels the page is wider than a 320 px screen.
export async function horizontalOverflow(page) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 320, height: 640 });
  await page.waitForTimeout(50);
  const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await page.setViewportSize(size);
  return over;
}

// lighthouseAccessibility runs Lighthouse's accessibility category on url in
// the same browser (same cookies) and returns the score (0–100) and the
// failed audits.
export async function lighthouseAccessibility(url, debugPort) {
  const { default: lighthouse } = await import('lighthouse');
  const result = await lighthouse(url, { port: debugPort, output: 'json', logLevel: 'error', onlyCategories: ['accessibility'] }, {
    extends: 'lighthouse:default',
    settings: { onlyCategories: ['accessibility'], formFactor: 'desktop', screenEmulation: { disabled: true }, disableStorageReset: true },
  });
  const lhr = result.lhr;
  const failed = Object.values(lhr.audits).filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode !== 'notApplicable' && a.scoreDisplayMode !== 'informative' && a.scoreDisplayMode !== 'manual')
    .map((a) => `${a.id}: ${a.title}`);
  return { score: Math.round(lhr.categories.accessibility.score * 100), failed };
}
