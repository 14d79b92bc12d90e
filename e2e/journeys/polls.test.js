// Journey of a date poll: the admin (an organiser of the group) opens a poll
// on a new group, first with an empty form (errors next to the fields), an
// agent joins the group, finds the poll in Mon espace and answers it, the
// admin answers too, reads the table and retains the best slot: the session
// page follows and the poll links to it. Every page reached is checked
// (axe-core WCAG 2.1 A/AA, 320 px, console), and Lighthouse's accessibility
// score on the poll's pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { journey, parisDay as day } from '../lib/journey.js';

const AGENT = 'dominique.bernard@sg.social.gouv.fr';
const j = journey('polls');
let groupURL, pollURL;

// answer picks one radio of each slot's fieldset on the poll page.
async function answer(choices) {
  const page = j.page;
  const sets = page.locator('form[action$="/votes"] fieldset');
  const n = await sets.count();
  assert.equal(n, choices.length, `${n} slots to answer`);
  for (let i = 0; i < n; i++) {
    await sets.nth(i).locator('label', { hasText: new RegExp(`^${choices[i]}$`) }).click();
  }
  await page.getByRole('button', { name: 'Enregistrer mes réponses' }).click();
  await page.waitForLoadState();
}

test('the admin creates a group and opens a poll', j.step('open', async () => {
  await j.adminLogin();
  const page = j.page;
  await page.goto(`${j.base}/groups/new`);
  await page.getByLabel('Titre').fill('Rôle de product manager');
  await page.getByRole('button', { name: 'Créer le groupe' }).click();
  await page.waitForURL(/\/groups\/[a-z0-9]{26}$/);
  groupURL = page.url();
  await page.getByRole('link', { name: 'Lancer un sondage de dates' }).click();
  await page.waitForURL(/\/polls\/new$/);
  await j.check('poll-form');

  // An empty form: the errors next to the fields, nothing saved.
  await page.getByRole('button', { name: 'Lancer le sondage' }).click();
  await page.locator('#title-error').waitFor();
  assert.match(await page.locator('#slots-error').innerText(), /au moins 2 créneaux/);
  await j.check('poll-form-errors');

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
  await j.check('poll-new');
  await j.save('admin');
}));

test('an agent joins, finds the poll in Mon espace and answers it', j.step('agent', async () => {
  await j.login('agent', AGENT, { name: 'Dominique Bernard', direction: 'DGOS' });
  const page = j.page;
  await page.goto(groupURL);
  await page.getByRole('button', { name: 'Rejoindre le groupe' }).click();
  await page.waitForLoadState();
  await j.check('group-with-poll');
  await page.goto(`${j.base}/`);
  await j.check('home-poll-waiting');
  await page.getByRole('link', { name: 'Atelier : la fiche de poste' }).click();
  await page.waitForURL(pollURL);
  await j.check('poll-to-answer');
  await answer(['Oui', 'Si besoin', 'Non']);
  await j.check('poll-answered');
  assert.match(await page.content(), /Vos réponses sont enregistrées/);
  await j.save('agent');
}));

test('the admin answers, reads the table and retains the best slot', j.step('close', async () => {
  const page = j.page;
  await j.switchTo('admin');
  await page.goto(pollURL);
  await answer(['Oui', 'Non', 'Si besoin']);
  const headers = await page.locator('table thead th').allInnerTexts();
  assert.match(headers[1], /Meilleur créneau/i, `headers: ${headers}`);
  assert.equal(await page.locator('table caption').count(), 1);
  await j.check('poll-table');
  await page.getByRole('link', { name: 'Retenir une date' }).click();
  await page.waitForURL(/\/close$/);
  await j.check('poll-close');
  assert.ok(await page.locator('input[name="slot"]').first().isChecked(), 'the best slot is not preselected');
  await page.getByRole('button', { name: 'Retenir ce créneau et planifier la séance' }).click();
  await page.waitForURL(/\/sessions\/[a-z0-9]{26}$/);
  await j.check('session-from-poll');
  const sessionPath = new URL(page.url()).pathname;
  await page.goto(pollURL);
  assert.equal(await page.locator(`a[href="${sessionPath}"]`).count(), 1, 'the poll does not link to the session');
  await j.check('poll-closed');
  await j.save('admin');
}));

test('every calendar mailed in the journey reads in ical.js (Europe/Paris, UID, one attendee, METHOD)', j.step('audit', j.auditCalendars));

test('Lighthouse accessibility is 100 on the poll pages', { timeout: 240000 }, j.step('lighthouse', () =>
  j.lighthouse([['agent', pollURL], ['admin', `${groupURL}/polls/new`]])));

test('every poll page reached: zero axe-core violations, no horizontal scroll at 320 px, no console error', () => j.assertClean());
