// Journey of the foundation: the first admin logs in with the link printed
// at start; an agent asks for a login link, the admin reads it in
// Administration › Courriels, the agent logs in with it, fills the welcome
// form and edits the profile; the admin manages directions and reads the
// outbox and the audit log; the agent deletes the account (the last admin
// is told why they cannot). Every page reached is checked (axe-core WCAG 2.1
// A/AA, 320 px, console), keyboard use is checked on the login page, and
// Lighthouse's accessibility score on the main pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { journey } from '../lib/journey.js';
import { axe, horizontalOverflow } from '../lib/browser.js';

const AGENT = 'camille.martin@sg.social.gouv.fr';
const j = journey('foundation');

test('self-check: the page checks do find problems', async () => {
  const page = j.page;
  await page.setContent('<!doctype html><html lang="fr"><head><title>t</title></head><body><main><img src="x.png"><div id="w">x</div></main></body></html>');
  await page.evaluate(() => { document.getElementById('w').setAttribute('width', '1000'); document.getElementById('w').textContent = 'x'.repeat(400); });
  const rules = (await axe(page)).map((v) => v.rule);
  assert.ok(rules.includes('image-alt'), `axe-core did not report the image without alt: ${rules}`);
  await page.setContent('<!doctype html><html lang="fr"><body><pre>' + 'x'.repeat(400) + '</pre></body></html>');
  assert.ok(await horizontalOverflow(page) > 0, 'the 320 px check did not see a page wider than the screen');
});

test('the first admin logs in with the link printed at start', j.step('admin-login', async () => {
  const page = j.page;
  assert.ok(j.agora.adminLink, 'no admin link on stdout');
  await page.goto(j.agora.adminLink);
  await j.check('login-link');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL((u) => u.pathname === '/admin');
  await j.check('admin-index');
  await j.save('admin');
}));

test('an agent asks for a login link', j.step('agent-asks', async () => {
  const page = j.page;
  await j.switchTo('agent');
  await page.goto(`${j.base}/login`);
  await j.check('login');
  await page.getByLabel(/adresse électronique/i).fill(AGENT);
  await page.getByRole('button', { name: 'Recevoir le lien' }).click();
  await page.waitForURL((u) => u.pathname === '/login/sent');
  await j.check('login-sent');
  await j.save('agent');
}));

let agentLink;
test('the admin reads the link in Administration › Courriels', j.step('admin-outbox', async () => {
  const page = j.page;
  await j.switchTo('admin');
  await page.goto(`${j.base}/admin/outbox`);
  await j.check('admin-outbox');
  const row = page.getByRole('row').filter({ hasText: AGENT });
  await assert.doesNotReject(row.first().waitFor(), 'the agent\'s email is not listed');
  await row.first().getByRole('link').first().click();
  await page.waitForURL(/\/admin\/outbox\/[a-z0-9]+$/);
  await j.check('admin-mail');
  const text = await page.locator('pre').first().innerText();
  const m = text.match(/https?:\/\/\S+\/login\/[A-Za-z0-9_-]{43}/);
  assert.ok(m, `no login link in the email text:\n${text}`);
  agentLink = m[0];
}));

test('the agent logs in with it and completes the welcome form', j.step('agent-welcome', async () => {
  const page = j.page;
  await j.switchTo('agent');
  await page.goto(agentLink);
  await j.check('agent-login-link');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL((u) => u.pathname === '/welcome');
  await j.check('welcome');
  // Submitting empty shows the errors next to the fields, nothing saved.
  await page.getByLabel('Prénom et nom').fill('');
  await page.locator('form').filter({ has: page.getByLabel('Prénom et nom') }).evaluate((f) => f.noValidate = true);
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.locator('#name-error, .fr-error-text').first().waitFor();
  await j.check('welcome-errors');
  await page.getByLabel('Prénom et nom').fill('Camille Martin');
  await page.getByLabel('Direction').selectOption('DGCS');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  await j.check('home-agent');
  assert.match(await page.content(), /Camille Martin/);
  await j.save('agent');
}));

test('the agent edits the profile', j.step('agent-profile', async () => {
  const page = j.page;
  await page.goto(`${j.base}/profile`);
  await j.check('profile');
  await page.getByLabel('Prénom et nom').fill('Camille Martin-Durand');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.waitForLoadState();
  await j.check('profile-saved');
  await page.goto(`${j.base}/profile`);
  assert.equal(await page.getByLabel('Prénom et nom').inputValue(), 'Camille Martin-Durand');
  await j.save('agent');
}));

test('the admin manages directions, reads the outbox and the audit log', j.step('admin-manage', async () => {
  const page = j.page;
  await j.switchTo('admin');
  await page.goto(`${j.base}/admin/directions`);
  await j.check('admin-directions');
  await page.locator('#code').fill('ANS');
  await page.locator('#name').fill('Agence du numérique en santé');
  await page.getByRole('button', { name: 'Enregistrer la direction' }).click();
  await page.waitForLoadState();
  await j.check('admin-directions-saved');
  assert.match(await page.content(), /Agence du numérique en santé/);
  await page.goto(`${j.base}/admin/users`);
  await j.check('admin-users');
  assert.match(await page.content(), /camille\.martin@sg\.social\.gouv\.fr/);
  await page.goto(`${j.base}/admin/audit`);
  await j.check('admin-audit');
  assert.match(await page.content(), /camille\.martin@sg\.social\.gouv\.fr/);
  await page.goto(`${j.base}/admin/outbox`);
  assert.match(await page.content(), /camille\.martin@sg\.social\.gouv\.fr/);
  await page.goto(`${j.base}/page-qui-n-existe-pas`);
  await j.check('not-found');
}));

test('keyboard only: the skip link comes first, focus is visible, the login form works', j.step('keyboard', async () => {
  const page = j.page;
  await j.switchTo('nobody');
  await page.goto(`${j.base}/login`);
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

test('Lighthouse accessibility is 100 on the main pages', { timeout: 240000 }, j.step('lighthouse', () =>
  j.lighthouse([['nobody', '/login'], ['agent', '/'], ['agent', '/profile'], ['agent', '/profile/delete'], ['admin', '/admin'], ['admin', '/admin/outbox']])));

test('the agent deletes the account from the profile; the last admin cannot', j.step('account-delete', async () => {
  const page = j.page;
  await j.switchTo('agent');
  await page.goto(`${j.base}/profile`);
  await page.getByRole('link', { name: 'Supprimer mon compte' }).click();
  await page.waitForURL((u) => u.pathname === '/profile/delete');
  await j.check('account-delete');
  assert.match(await page.content(), /Ce qui est conservé/);
  // Not ticked: the error under the box, nothing deleted.
  await page.getByRole('button', { name: 'Supprimer mon compte' }).click();
  await page.locator('#confirm-error').waitFor();
  await j.check('account-delete-unticked');
  await page.getByText('Je comprends que la suppression de mon compte est définitive').click();
  await page.getByRole('button', { name: 'Supprimer mon compte' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  await j.check('account-deleted');
  assert.match(await page.content(), /Votre compte Agora est supprimé/);
  await page.goto(`${j.base}/profile`);
  assert.equal(new URL(page.url()).pathname, '/login', 'still logged in after deleting the account');

  await j.switchTo('admin');
  await page.goto(`${j.base}/admin/users`);
  assert.doesNotMatch(await page.content(), /camille\.martin@sg\.social\.gouv\.fr/);
  await page.goto(`${j.base}/profile/delete`);
  await j.check('account-delete-blocked');
  assert.match(await page.content(), /Agora n’a pas d’autre administrateur/);
  assert.equal(await page.getByRole('button', { name: 'Supprimer mon compte' }).count(), 0, 'the last admin is offered the button');
}));

test('every page reached: zero axe-core violations, no horizontal scroll at 320 px, no console error', () => j.assertClean());
