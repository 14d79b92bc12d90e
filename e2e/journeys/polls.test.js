// Journey of a date poll: the admin (an organiser of the group) opens a poll
// on a new group, first with an empty form (errors next to the fields), an
// agent joins the group, finds the poll in Mon espace and answers it, the
// admin answers too, reads the table and retains the best slot: the session
// page follows and the poll links to it. Every page reached is checked
// (axe-core WCAG 2.1 A/AA, 320 px, console), and Lighthouse's accessibility
// score on the poll's pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAgora } from '../lib/agora.js';
import { auditOutboxCalendars } from '../lib/journey.js';
import { launch, axe, horizontalOverflow, lighthouseAccessibility, screenshot } from '../lib/browser.js';

const AGENT = 'dominique.bernard@sg.social.gouv.fr';
let agora, b, page;
const findings = { axe: [], narrow: [] };
const cookies = {};
let groupURL, pollURL;

before(async () => {
  agora = await startAgora();
  b = await launch();
  page = b.page;
});

after(async () => {
  await b?.close();
  await agora?.stop();
});

async function check(name) {
  const path = new URL(page.url()).pathname;
  const violations = await axe(page);
  for (const v of violations) {
    for (const n of v.nodes) findings.axe.push(`${name} ${path}: ${v.rule} (${v.impact}) ${v.help} — ${n.target} — ${n.html}`);
  }
  const over = await horizontalOverflow(page);
  if (over > 0) findings.narrow.push(`${name} ${path}: ${over}px wider than a 320 px screen`);
  if (violations.length || over > 0) await screenshot(page, `a11y-polls-${name}`);
}

async function step(name, fn) {
  try {
    await fn();
  } catch (err) {
    const file = await screenshot(page, `failed-polls-${name}`);
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

// day is a date n days from now, as a date input wants it (Paris).
function day(n) {
  const d = new Date(Date.now() + n * 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

// answer picks one radio of each slot's fieldset on the poll page.
async function answer(choices) {
  const sets = page.locator('form[action$="/votes"] fieldset');
  const n = await sets.count();
  assert.equal(n, choices.length, `${n} slots to answer`);
  for (let i = 0; i < n; i++) {
    await sets.nth(i).locator('label', { hasText: new RegExp(`^${choices[i]}$`) }).click();
  }
  await page.getByRole('button', { name: 'Enregistrer mes réponses' }).click();
  await page.waitForLoadState();
}

test('the admin creates a group and opens a poll', () => step('open', async () => {
  await page.goto(agora.adminLink);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL((u) => u.pathname === '/admin');
  await page.goto(`${agora.base}/groups/new`);
  await page.getByLabel('Titre').fill('Rôle de product manager');
  await page.getByRole('button', { name: 'Créer le groupe' }).click();
  await page.waitForURL(/\/groups\/[a-z0-9]{26}$/);
  groupURL = page.url();
  await page.getByRole('link', { name: 'Lancer un sondage de dates' }).click();
  await page.waitForURL(/\/polls\/new$/);
  await check('poll-form');

  // An empty form: the errors next to the fields, nothing saved.
  await page.getByRole('button', { name: 'Lancer le sondage' }).click();
  await page.locator('#title-error').waitFor();
  assert.match(await page.locator('#slots-error').innerText(), /au moins 2 créneaux/);
  await check('poll-form-errors');

  await page.getByLabel('Titre', { exact: true }).fill('Atelier : la fiche de poste');
  await page.getByLabel('Description (facultatif)').fill('Relire **ensemble** la fiche de poste.');
  await page.getByLabel('Durée d’un créneau, en minutes').fill('90');
  const slots = [[day(7), '10:00'], [day(8), '14:30'], [day(9), '09:30']];
  for (const [i, [date, start]] of slots.entries()) {
    await page.locator(`#slot_date_${i + 1}`).fill(date);
    await page.locator(`#slot_start_${i + 1}`).fill(start);
  }
  await page.getByLabel('Salle (facultatif)').fill('Salle 4010');
  await page.getByRole('button', { name: 'Lancer le sondage' }).click();
  await page.waitForURL(/\/polls\/[a-z0-9]{26}$/);
  pollURL = page.url();
  assert.equal(await page.locator('h1').innerText(), 'Atelier : la fiche de poste');
  await check('poll-new');
  await save('admin');
}));

test('an agent joins, finds the poll in Mon espace and answers it', () => step('agent', async () => {
  await switchTo('agent');
  await page.goto(`${agora.base}/login`);
  await page.getByLabel(/adresse électronique/i).fill(AGENT);
  await page.getByRole('button', { name: 'Recevoir le lien' }).click();
  await page.waitForURL((u) => u.pathname === '/login/sent');
  await switchTo('admin');
  await page.goto(`${agora.base}/admin/outbox`);
  await page.getByRole('row').filter({ hasText: AGENT }).first().getByRole('link').first().click();
  const text = await page.locator('pre').first().innerText();
  const link = text.match(/https?:\/\/\S+\/login\/[A-Za-z0-9_-]{43}/)[0];
  await switchTo('agent');
  await page.goto(link);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL((u) => u.pathname === '/welcome');
  await page.getByLabel('Prénom et nom').fill('Dominique Bernard');
  await page.getByLabel('Direction').selectOption('DGOS');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  await page.goto(groupURL);
  await page.getByRole('button', { name: 'Rejoindre le groupe' }).click();
  await page.waitForLoadState();
  await check('group-with-poll');
  await page.goto(`${agora.base}/`);
  await check('home-poll-waiting');
  await page.getByRole('link', { name: 'Atelier : la fiche de poste' }).click();
  await page.waitForURL(pollURL);
  await check('poll-to-answer');
  await answer(['Oui', 'Si besoin', 'Non']);
  await check('poll-answered');
  assert.match(await page.content(), /Vos réponses sont enregistrées/);
  await save('agent');
}));

test('the admin answers, reads the table and retains the best slot', () => step('close', async () => {
  await switchTo('admin');
  await page.goto(pollURL);
  await answer(['Oui', 'Non', 'Si besoin']);
  const headers = await page.locator('table thead th').allInnerTexts();
  assert.match(headers[1], /Meilleur créneau/i, `headers: ${headers}`);
  assert.equal(await page.locator('table caption').count(), 1);
  await check('poll-table');
  await page.getByRole('link', { name: 'Retenir une date' }).click();
  await page.waitForURL(/\/close$/);
  await check('poll-close');
  assert.ok(await page.locator('input[name="slot"]').first().isChecked(), 'the best slot is not preselected');
  await page.getByRole('button', { name: 'Retenir ce créneau et planifier la séance' }).click();
  await page.waitForURL(/\/sessions\/[a-z0-9]{26}$/);
  await check('session-from-poll');
  const sessionPath = new URL(page.url()).pathname;
  await page.goto(pollURL);
  assert.equal(await page.locator(`a[href="${sessionPath}"]`).count(), 1, 'the poll does not link to the session');
  await check('poll-closed');
  await save('admin');
}));

test('every calendar mailed in the journey reads in ical.js (Europe/Paris, UID, one attendee, METHOD)', async () => {
  const n = await auditOutboxCalendars(agora.base, cookies.admin);
  console.log(`polls: ${n} calendar parts of captured emails read by ical.js`);
  assert.ok(n > 0, 'no calendar was mailed');
});

test('Lighthouse accessibility is 100 on the poll pages', { timeout: 240000 }, () => step('lighthouse', async () => {
  const low = [];
  for (const [who, path] of [['agent', new URL(pollURL).pathname], ['admin', new URL(groupURL).pathname + '/polls/new']]) {
    await switchTo(who);
    const { score, failed } = await lighthouseAccessibility(`${agora.base}${path}`, b.debugPort);
    console.log(`lighthouse accessibility ${path} (${who}): ${score}`);
    if (score < 100) low.push(`${path} (${who}): ${score} — ${failed.join('; ')}`);
  }
  assert.deepEqual(low, [], `Lighthouse accessibility below 100:\n${low.join('\n')}`);
}));

test('every poll page reached: zero axe-core violations (WCAG 2.1 A/AA)', () => {
  assert.deepEqual(findings.axe, [], `axe-core violations:\n${findings.axe.join('\n')}`);
});

test('every poll page reached: no horizontal scroll at 320 px', () => {
  assert.deepEqual(findings.narrow, [], findings.narrow.join('\n'));
});

test('no console error on the poll pages (CSP violations included)', () => {
  assert.deepEqual(b.problems, [], b.problems.join('\n'));
});
