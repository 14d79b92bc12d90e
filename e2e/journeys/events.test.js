// Journey of the product event: the admin (an organiser) creates an event,
// first with an empty form (errors next to the fields), adds a workshop and
// a question, publishes it; an agent registers with an answer and a
// workshop, opens their registration and badge; the organiser reads the
// programme, the registrations, the dashboard, and checks the agent in on a
// phone-sized page (a second check-in is refused). Every page reached is
// checked (axe-core WCAG 2.1 A/AA, 320 px, console), and Lighthouse's
// accessibility score on the pages agents and organisers use most.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { journey, parisDay as day } from '../lib/journey.js';

const AGENT = 'camille.martin@sg.social.gouv.fr';
const j = journey('events');
let eventURL, code;

test('the admin creates, sets up and publishes an event', j.step('create', async () => {
  await j.adminLogin();
  const page = j.page;
  await page.goto(`${j.base}/events/new`);
  await j.check('event-form');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.locator('#title-error').waitFor();
  await j.check('event-form-errors');

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
  await j.check('event-draft');

  await page.goto(`${eventURL}/slots/new`);
  await j.check('slot-form');
  await page.getByLabel('Titre').fill('Atelier : les communs numériques');
  await page.locator('#date').fill(day(30));
  await page.locator('#start').fill('10:00');
  await page.locator('#end').fill('11:30');
  await page.getByLabel('Salle ou parcours').fill('Salle 1');
  await page.getByLabel(/Places \(ateliers\)/).fill('20');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await page.waitForURL(/\/programme$/);
  await j.check('programme-organiser');

  await page.goto(`${eventURL}/setup`);
  await j.check('setup');
  await page.getByLabel('Question', { exact: true }).fill('Régime alimentaire');
  await page.getByLabel('Type de réponse').selectOption('short');
  await page.getByRole('button', { name: 'Ajouter la question' }).click();
  await page.waitForLoadState();
  assert.match(await page.content(), /Régime alimentaire/);
  await j.check('setup-question');

  await page.goto(eventURL);
  await page.getByLabel(/Statut de l’événement|Statut de l'événement/).selectOption('published');
  await page.getByRole('button', { name: 'Changer le statut' }).click();
  await page.waitForLoadState();
  assert.match(await page.content(), /est publié/);
  await j.check('event-published');
  await j.save('admin');
}));

test('an agent registers with an answer and a workshop', j.step('register', async () => {
  await j.login('agent', AGENT, { name: 'Camille Martin', direction: 'DGCS' });
  const page = j.page;
  await page.goto(`${j.base}/events`);
  await j.check('events-list');
  await page.getByRole('link', { name: 'Journée produit 2027' }).click();
  await page.waitForURL(eventURL);
  await j.check('event-agent');
  await page.getByRole('link', { name: 'S’inscrire' }).or(page.getByRole('link', { name: "S'inscrire" })).first().click();
  await page.waitForURL(/\/register$/);
  await j.check('register-form');
  await page.getByText('Sur place', { exact: true }).click();
  await page.getByLabel(/Régime alimentaire/).fill('Végétarien');
  await page.getByText('Atelier : les communs numériques').click();
  await page.getByRole('button', { name: 'M’inscrire' }).or(page.getByRole('button', { name: "M'inscrire" })).first().click();
  await page.waitForURL(eventURL);
  assert.match(await page.content(), /Votre inscription est confirmée/);
  await j.check('event-registered');

  await page.goto(`${eventURL}/inscription`);
  await j.check('manage');
  code = (await page.locator('.agora-code').first().innerText()).trim();
  assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  await page.getByRole('link', { name: 'Imprimer mon badge' }).click();
  await page.waitForURL(/\/badge$/);
  assert.equal(await page.locator('.agora-badge__name').innerText(), 'Camille Martin');
  assert.equal(await page.locator('svg.agora-qr').count(), 1);
  await j.check('badge');
  await page.goto(`${eventURL}/programme`);
  await j.check('programme-agent');
  await j.save('agent');
}));

test('the organiser follows the registrations and checks the agent in on a phone', j.step('checkin', async () => {
  const page = j.page;
  await j.switchTo('admin');
  await page.goto(`${eventURL}/registrations`);
  assert.match(await page.content(), /Camille Martin/);
  await j.check('registrations');
  await page.goto(`${eventURL}/dashboard`);
  await j.check('dashboard');
  await page.goto(`${eventURL}/messages`);
  await j.check('messages');
  await page.goto(`${eventURL}/correspondent`);
  await j.check('correspondent');

  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(`${eventURL}/checkin`);
  await j.check('checkin');
  await page.getByLabel(/Code d’accès|Code d'accès/).fill(code.toLowerCase());
  await page.getByRole('button', { name: 'Valider' }).click();
  await page.waitForLoadState();
  assert.match(await page.locator('[data-result]').innerText(), /Bienvenue/);
  await j.check('checkin-ok');
  await page.getByLabel(/Code d’accès|Code d'accès/).fill(code);
  await page.getByRole('button', { name: 'Valider' }).click();
  await page.waitForLoadState();
  assert.match(await page.locator('[data-result]').innerText(), /Déjà enregistrée/);
  await j.check('checkin-twice');
  await page.getByLabel('Chercher par nom').fill('Camille');
  await page.getByRole('button', { name: 'Chercher' }).click();
  await page.waitForLoadState();
  assert.match(await page.content(), /Arrivée à/);
  await j.check('checkin-search');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(eventURL); // leave the check-in page (its live counter) before switching browsers
  await j.save('admin');
}));

test('every calendar mailed in the journey reads in ical.js (Europe/Paris, UID, one attendee, METHOD)', j.step('audit', j.auditCalendars));

test('Lighthouse accessibility is 100 on the event pages', { timeout: 300000 }, j.step('lighthouse', () => {
  const E = new URL(eventURL).pathname;
  return j.lighthouse([['agent', E], ['agent', `${E}/register`], ['agent', `${E}/programme`], ['admin', `${E}/registrations`], ['admin', `${E}/checkin`]]);
}));

test('every event page reached: zero axe-core violations, no horizontal scroll at 320 px, no console error', () => j.assertClean());
