// Journey of the foundation: the first admin logs in with the link printed
// at start; an agent asks for a login link, the admin reads it in
// Administration › Courriels, the agent logs in with it, fills the welcome
// form and edits the profile; the admin manages directions and reads the
// outbox and the audit log. Every page reached is checked (axe-core WCAG 2.1
// A/AA, 320 px, console), keyboard use is checked on the login page, and
// Lighthouse's accessibility score on the main pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAgora } from '../lib/agora.js';
import { launch, axe, horizontalOverflow, lighthouseAccessibility, screenshot } from '../lib/browser.js';

const AGENT = 'camille.martin@sg.social.gouv.fr';
let agora, b, page;
const findings = { axe: [], narrow: [] };
const checked = new Set();
const cookies = {}; // who → saved cookies, to switch users in one browser

before(async () => {
  agora = await startAgora();
  b = await launch();
  page = b.page;
});

after(async () => {
  await b?.close();
  await agora?.stop();
});

// check runs the per-page checks on the current page and records findings.
async function check(name) {
  const path = new URL(page.url()).pathname;
  checked.add(`${name} (${path})`);
  const violations = await axe(page);
  for (const v of violations) {
    for (const n of v.nodes) findings.axe.push(`${name} ${path}: ${v.rule} (${v.impact}) ${v.help} — ${n.target} — ${n.html}`);
  }
  const over = await horizontalOverflow(page);
  if (over > 0) findings.narrow.push(`${name} ${path}: ${over}px wider than a 320 px screen`);
  if (violations.length || over > 0) await screenshot(page, `a11y-${name}`);
}

async function step(name, fn) {
  try {
    await fn();
  } catch (err) {
    const file = await screenshot(page, `failed-${name}`);
    err.message += `\n(screenshot: ${file})`;
    throw err;
  }
}

async function switchTo(who) {
  await b.context.clearCookies();
  if (cookies[who]) await b.context.addCookies(cookies[who]);
}

async function save(who) {
  cookies[who] = await b.context.cookies();
}

test('self-check: the page checks do find problems', async () => {
  await page.setContent('<!doctype html><html lang="fr"><head><title>t</title></head><body><main><img src="x.png"><div id="w">x</div></main></body></html>');
  await page.evaluate(() => { document.getElementById('w').setAttribute('width', '1000'); document.getElementById('w').textContent = 'x'.repeat(400); });
  const rules = (await axe(page)).map((v) => v.rule);
  assert.ok(rules.includes('image-alt'), `axe-core did not report the image without alt: ${rules}`);
  await page.setContent('<!doctype html><html lang="fr"><body><pre>' + 'x'.repeat(400) + '</pre></body></html>');
  assert.ok(await horizontalOverflow(page) > 0, 'the 320 px check did not see a page wider than the screen');
});

test('the first admin logs in with the link printed at start', () => step('admin-login', async () => {
  assert.ok(agora.adminLink, 'no admin link on stdout');
  await page.goto(agora.adminLink);
  await check('login-link');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL((u) => u.pathname === '/admin');
  await check('admin-index');
  await save('admin');
}));

test('an agent asks for a login link', () => step('agent-asks', async () => {
  await switchTo('agent');
  await page.goto(`${agora.base}/login`);
  await check('login');
  await page.getByLabel(/adresse électronique/i).fill(AGENT);
  await page.getByRole('button', { name: 'Recevoir le lien' }).click();
  await page.waitForURL((u) => u.pathname === '/login/sent');
  await check('login-sent');
  await save('agent');
}));

let agentLink;
test('the admin reads the link in Administration › Courriels', () => step('admin-outbox', async () => {
  await switchTo('admin');
  await page.goto(`${agora.base}/admin/outbox`);
  await check('admin-outbox');
  const row = page.getByRole('row').filter({ hasText: AGENT });
  await assert.doesNotReject(row.first().waitFor(), 'the agent\'s email is not listed');
  await row.first().getByRole('link').first().click();
  await page.waitForURL(/\/admin\/outbox\/[a-z0-9]+$/);
  await check('admin-mail');
  const text = await page.locator('pre').first().innerText();
  const m = text.match(/https?:\/\/\S+\/login\/[A-Za-z0-9_-]{43}/);
  assert.ok(m, `no login link in the email text:\n${text}`);
  agentLink = m[0];
}));

test('the agent logs in with it and completes the welcome form', () => step('agent-welcome', async () => {
  await switchTo('agent');
  await page.goto(agentLink);
  await check('agent-login-link');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL((u) => u.pathname === '/welcome');
  await check('welcome');
  // Submitting empty shows the errors next to the fields, nothing saved.
  await page.getByLabel('Prénom et nom').fill('');
  await page.locator('form').filter({ has: page.getByLabel('Prénom et nom') }).evaluate((f) => f.noValidate = true);
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.locator('#name-error, .fr-error-text').first().waitFor();
  await check('welcome-errors');
  await page.getByLabel('Prénom et nom').fill('Camille Martin');
  await page.getByLabel('Direction').selectOption('DGCS');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  await check('home-agent');
  assert.match(await page.content(), /Camille Martin/);
  await save('agent');
}));

test('the agent edits the profile', () => step('agent-profile', async () => {
  await page.goto(`${agora.base}/profile`);
  await check('profile');
  await page.getByLabel('Prénom et nom').fill('Camille Martin-Durand');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.waitForLoadState();
  await check('profile-saved');
  await page.goto(`${agora.base}/profile`);
  assert.equal(await page.getByLabel('Prénom et nom').inputValue(), 'Camille Martin-Durand');
  await save('agent');
}));

test('the admin manages directions, reads the outbox and the audit log', () => step('admin-manage', async () => {
  await switchTo('admin');
  await page.goto(`${agora.base}/admin/directions`);
  await check('admin-directions');
  await page.locator('#code').fill('ANS');
  await page.locator('#name').fill('Agence du numérique en santé');
  await page.getByRole('button', { name: 'Enregistrer la direction' }).click();
  await page.waitForLoadState();
  await check('admin-directions-saved');
  assert.match(await page.content(), /Agence du numérique en santé/);
  await page.goto(`${agora.base}/admin/users`);
  await check('admin-users');
  assert.match(await page.content(), /camille\.martin@sg\.social\.gouv\.fr/);
  await page.goto(`${agora.base}/admin/audit`);
  await check('admin-audit');
  assert.match(await page.content(), /camille\.martin@sg\.social\.gouv\.fr/);
  await page.goto(`${agora.base}/admin/outbox`);
  assert.match(await page.content(), /camille\.martin@sg\.social\.gouv\.fr/);
  await page.goto(`${agora.base}/page-qui-n-existe-pas`);
  await check('not-found');
}));

test('keyboard only: the skip link comes first, focus is visible, the login form works', () => step('keyboard', async () => {
  await switchTo('nobody');
  await page.goto(`${agora.base}/login`);
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => {
    const el = document.activeElement;
    const cs = getComputedStyle(el);
    return { text: el.textContent.trim(), href: el.getAttribute('href'), outline: cs.outlineStyle, outlineWidth: cs.outlineWidth, shadow: cs.boxShadow };
  });
  assert.equal(first.href, '#contenu', `first Tab stop is ${JSON.stringify(first)}, want the skip link`);
  assert.ok((first.outline !== 'none' && first.outlineWidth !== '0px') || first.shadow !== 'none', `focus is not visible on the skip link: ${JSON.stringify(first)}`);
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id || document.activeElement.closest('#contenu')?.id), 'contenu', 'the skip link does not move focus to the content');
  // Tab to the email field, type, submit with Enter: no mouse.
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement.id === 'email')) break;
  }
  assert.equal(await page.evaluate(() => document.activeElement.id), 'email', 'the email field cannot be reached with Tab');
  await page.keyboard.type('clavier.seul@sg.social.gouv.fr');
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.pathname === '/login/sent');
}));

test('Lighthouse accessibility is 100 on the main pages', { timeout: 240000 }, () => step('lighthouse', async () => {
  const low = [];
  for (const [who, path] of [['nobody', '/login'], ['agent', '/'], ['agent', '/profile'], ['admin', '/admin'], ['admin', '/admin/outbox']]) {
    await switchTo(who);
    const { score, failed } = await lighthouseAccessibility(`${agora.base}${path}`, b.debugPort);
    console.log(`lighthouse accessibility ${path} (${who}): ${score}`);
    if (score < 100) low.push(`${path} (${who}): ${score} — ${failed.join('; ')}`);
  }
  assert.deepEqual(low, [], `Lighthouse accessibility below 100:\n${low.join('\n')}`);
}));

test('every page reached: zero axe-core violations (WCAG 2.1 A/AA)', () => {
  console.log(`pages checked: ${[...checked].join(', ')}`);
  assert.deepEqual(findings.axe, [], `axe-core violations:\n${findings.axe.join('\n')}`);
});

test('every page reached: no horizontal scroll at 320 px', () => {
  assert.deepEqual(findings.narrow, [], findings.narrow.join('\n'));
});

test('no console error on any page (CSP violations included)', () => {
  assert.deepEqual(b.problems, [], b.problems.join('\n'));
});
