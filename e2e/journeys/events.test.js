// Journey of the product event: the admin (an organiser) creates an event,
// first with an empty form (errors next to the fields), adds a workshop and
// a question, publishes it; an agent registers with an answer and a
// workshop, opens their registration and badge; the organiser reads the
// programme, the registrations, the dashboard, and checks the agent in on a
// phone-sized page (a second check-in is refused). Every page reached is
// checked (axe-core WCAG 2.1 A/AA, 320 px, console), and Lighthouse's
// accessibility score on the pages agents and organisers use most.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAgora } from '../lib/agora.js';
import { auditOutboxCalendars } from '../lib/journey.js';
import { launch, axe, horizontalOverflow, lighthouseAccessibility, screenshot } from '../lib/browser.js';

const AGENT = 'camille.martin@sg.social.gouv.fr';
let agora, b, page;
const findings = { axe: [], narrow: [] };
const cookies = {};
let eventURL, code;

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
  if (violations.length || over > 0) await screenshot(page, `a11y-events-${name}`);
}

async function step(name, fn) {
  try {
    await fn();
  } catch (err) {
    const file = await screenshot(page, `failed-events-${name}`);
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

test('the admin creates, sets up and publishes an event', () => step('create', async () => {
  await page.goto(agora.adminLink);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL((u) => u.pathname === '/admin');
  await page.goto(`${agora.base}/events/new`);
  await check('event-form');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.locator('#title-error').waitFor();
  await check('event-form-errors');

  await page.getByLabel('Titre').fill('Journée produit 2027');
  await page.getByLabel('Description').fill('La journée des **communs** avec les directions métier.');
  await page.locator('#starts_at').fill(`${day(30)}T09:00`);
  await page.locator('#ends_at').fill(`${day(30)}T17:30`);
  await page.getByText('Sur place ou à distance').click();
  await page.getByLabel(/Nombre de places/).fill('2');
  await page.getByLabel('Lieu').fill('Ministère, salle Laroque');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.waitForURL(/\/events\/[a-z0-9]{26}$/);
  eventURL = page.url();
  await check('event-draft');

  await page.goto(`${eventURL}/slots/new`);
  await check('slot-form');
  await page.getByLabel('Titre').fill('Atelier : les communs numériques');
  await page.locator('#date').fill(day(30));
  await page.locator('#start').fill('10:00');
  await page.locator('#end').fill('11:30');
  await page.getByLabel('Salle ou parcours').fill('Salle 1');
  await page.getByLabel(/Places \(ateliers\)/).fill('20');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.waitForURL(/\/programme$/);
  await check('programme-organiser');

  await page.goto(`${eventURL}/setup`);
  await check('setup');
  await page.getByLabel('Question', { exact: true }).fill('Régime alimentaire');
  await page.getByLabel('Type de réponse').selectOption('short');
  await page.getByRole('button', { name: 'Ajouter la question' }).click();
  await page.waitForLoadState();
  assert.match(await page.content(), /Régime alimentaire/);
  await check('setup-question');

  await page.goto(eventURL);
  await page.getByLabel(/Statut de l’événement|Statut de l'événement/).selectOption('published');
  await page.getByRole('button', { name: 'Changer le statut' }).click();
  await page.waitForLoadState();
  assert.match(await page.content(), /est publié/);
  await check('event-published');
  await save('admin');
}));

test('an agent registers with an answer and a workshop', () => step('register', async () => {
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
  await page.getByLabel('Prénom et nom').fill('Camille Martin');
  await page.getByLabel('Direction').selectOption('DGCS');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.waitForURL((u) => u.pathname === '/');

  await page.goto(`${agora.base}/events`);
  await check('events-list');
  await page.getByRole('link', { name: 'Journée produit 2027' }).click();
  await page.waitForURL(eventURL);
  await check('event-agent');
  await page.getByRole('link', { name: 'S’inscrire' }).or(page.getByRole('link', { name: "S'inscrire" })).first().click();
  await page.waitForURL(/\/register$/);
  await check('register-form');
  await page.getByText('Sur place', { exact: true }).click();
  await page.getByLabel(/Régime alimentaire/).fill('Végétarien');
  await page.getByText('Atelier : les communs numériques').click();
  await page.getByRole('button', { name: 'M’inscrire' }).or(page.getByRole('button', { name: "M'inscrire" })).first().click();
  await page.waitForURL(eventURL);
  assert.match(await page.content(), /Votre inscription est confirmée/);
  await check('event-registered');

  await page.goto(`${eventURL}/inscription`);
  await check('manage');
  code = (await page.locator('.agora-code').first().innerText()).trim();
  assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  await page.getByRole('link', { name: 'Imprimer mon badge' }).click();
  await page.waitForURL(/\/badge$/);
  assert.equal(await page.locator('.agora-badge__name').innerText(), 'Camille Martin');
  assert.equal(await page.locator('svg.agora-qr').count(), 1);
  await check('badge');
  await page.goto(`${eventURL}/programme`);
  await check('programme-agent');
  await save('agent');
}));

test('the organiser follows the registrations and checks the agent in on a phone', () => step('checkin', async () => {
  await switchTo('admin');
  await page.goto(`${eventURL}/registrations`);
  assert.match(await page.content(), /Camille Martin/);
  await check('registrations');
  await page.goto(`${eventURL}/dashboard`);
  await check('dashboard');
  await page.goto(`${eventURL}/messages`);
  await check('messages');
  await page.goto(`${eventURL}/correspondent`);
  await check('correspondent');

  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(`${eventURL}/checkin`);
  await check('checkin');
  await page.getByLabel(/Code d’accès|Code d'accès/).fill(code.toLowerCase());
  await page.getByRole('button', { name: 'Valider' }).click();
  await page.waitForLoadState();
  assert.match(await page.locator('[data-result]').innerText(), /Bienvenue/);
  await check('checkin-ok');
  await page.getByLabel(/Code d’accès|Code d'accès/).fill(code);
  await page.getByRole('button', { name: 'Valider' }).click();
  await page.waitForLoadState();
  assert.match(await page.locator('[data-result]').innerText(), /Déjà enregistrée/);
  await check('checkin-twice');
  await page.getByLabel('Chercher par nom').fill('Camille');
  await page.getByRole('button', { name: 'Chercher' }).click();
  await page.waitForLoadState();
  assert.match(await page.content(), /Arrivée à/);
  await check('checkin-search');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(eventURL); // leave the check-in page (its live counter) before switching browsers
  await save('admin');
}));

test('every calendar mailed in the journey reads in ical.js (Europe/Paris, UID, one attendee, METHOD)', async () => {
  const n = await auditOutboxCalendars(agora.base, cookies.admin);
  console.log(`events: ${n} calendar parts of captured emails read by ical.js`);
  assert.ok(n > 0, 'no calendar was mailed');
});

test('Lighthouse accessibility is 100 on the event pages', { timeout: 300000 }, () => step('lighthouse', async () => {
  const low = [];
  const E = new URL(eventURL).pathname;
  for (const [who, path] of [['agent', E], ['agent', `${E}/register`], ['agent', `${E}/programme`], ['admin', `${E}/registrations`], ['admin', `${E}/checkin`]]) {
    await switchTo(who);
    const { score, failed } = await lighthouseAccessibility(`${agora.base}${path}`, b.debugPort);
    console.log(`lighthouse accessibility ${path} (${who}): ${score}`);
    if (score < 100) low.push(`${path} (${who}): ${score} — ${failed.join('; ')}`);
  }
  assert.deepEqual(low, [], `Lighthouse accessibility below 100:\n${low.join('\n')}`);
}));

test('every event page reached: zero axe-core violations (WCAG 2.1 A/AA)', () => {
  assert.deepEqual(findings.axe, [], `axe-core violations:\n${findings.axe.join('\n')}`);
});

test('every event page reached: no horizontal scroll at 320 px', () => {
  assert.deepEqual(findings.narrow, [], findings.narrow.join('\n'));
});

test('no console error on the event pages (CSP violations included)', () => {
  assert.deepEqual(b.problems, [], b.problems.join('\n'));
});
