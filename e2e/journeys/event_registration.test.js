// Journey of registrations for the product event, beside events.test.js
// (which covers the organiser's pages, the badge and the check-in): the
// admin, as organiser, creates the event (an empty form first), sets a
// quota, a question and a correspondent, builds the programme (a talk, two
// workshops at the same time) and publishes it; an agent registers with
// the keyboard alone and chooses a workshop; the correspondent of another
// direction uploads a CSV file saved by Excel (Windows-1252) and reads the
// line-by-line report (confirmed, remote, refused, waiting list); every
// calendar part of the confirmation emails is read by ical.js (the event
// and the workshop, times in Europe/Paris, one UID per event and per
// workshop, no management link in the calendar); the management link
// opens the registration without login; someone who lost it asks for it
// again (from a cut link and from the programme) and uses the new link
// read in the outbox; the organiser checks a person
// registered by the correspondent in, by name, on a phone-sized screen.
// Every page reached is checked (axe-core, 320 px, console); Lighthouse's
// accessibility score on the pages events.test.js does not score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { journey, parisInstant, parisParts, addDays, readCalendar, expectEvent } from '../lib/journey.js';

const AGENT = 'alice.dgcs@sg.social.gouv.fr';
const CORRESPONDENT = 'bruno.dgos@sg.social.gouv.fr';
const j = journey('registration');
const day = addDays(parisParts(new Date()).date, 60);
const at = (time) => parisInstant(day, time);
let eventURL;

// choose clicks the label of a radio button (DSFR draws the label over the
// input) and checks it took.
async function choose(page, label) {
  const l = page.locator('label.fr-label', { hasText: label }).first();
  await l.click();
  const id = await l.getAttribute('for');
  assert.ok(await page.locator(`#${id}`).isChecked(), `« ${label} » is not chosen`);
}

// tabTo presses Tab until test(activeElement) holds in the page.
async function tabTo(page, what, test, max = 80) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(test)) return;
  }
  assert.fail(`${what} cannot be reached with Tab`);
}

test('the organiser creates the event, an empty form first', j.step('create', async () => {
  await j.adminLogin();
  const page = j.page;
  await page.goto(`${j.base}/events/new`);
  await j.check('event-form');
  await page.getByRole('button', { name: 'Enregistrer', exact: true }).click();
  await page.locator('#title-error').waitFor();
  await j.check('event-form-errors');
  await page.getByLabel('Titre').fill('Journée produit 2027');
  await page.getByLabel('Description').fill('La journée des **produits** avec les directions métier.');
  await page.getByLabel('Début').fill(`${day}T09:00`);
  await page.getByLabel('Fin').fill(`${day}T17:30`);
  await page.getByLabel('Nombre de places').fill('3');
  await choose(page, 'Sur place ou à distance');
  await page.getByLabel('Lieu').fill('Ministère des Solidarités');
  await page.getByLabel('Adresse', { exact: true }).fill('14 avenue Duquesne\n75007 Paris');
  await page.getByLabel('Lien de visioconférence').fill('https://webconf.numerique.gouv.fr/journee-produit');
  await page.getByRole('button', { name: 'Enregistrer', exact: true }).click();
  await page.waitForURL(/\/events\/[a-z0-9]{26}$/);
  eventURL = page.url();
  await j.check('event-show-draft');
}));

test('the organiser sets a quota, a question and a correspondent', j.step('setup', async () => {
  const page = j.page;
  await page.goto(`${eventURL}/setup`);
  await j.check('event-setup');
  await page.locator('#quota_DGCS').fill('1');
  await page.getByRole('button', { name: 'Enregistrer les quotas' }).click();
  await page.waitForURL(/\/setup/);
  await page.getByLabel('Question', { exact: true }).fill('Régime alimentaire');
  await page.getByLabel('Type de réponse').selectOption('short');
  await page.getByRole('button', { name: 'Ajouter la question' }).click();
  await page.waitForURL(/\/setup/);
  await page.getByLabel('Adresse du référent').fill(CORRESPONDENT);
  await page.locator('#corr_direction').selectOption('DGOS');
  await page.getByRole('button', { name: 'Nommer référent' }).click();
  await page.waitForURL(/\/setup/);
  const text = await page.locator('main').innerText();
  assert.match(text, /Régime alimentaire/);
  assert.match(text, new RegExp(CORRESPONDENT.replace('.', '\\.')));
  await j.check('event-setup-done');
}));

test('the organiser builds the programme and publishes the event', j.step('programme', async () => {
  const page = j.page;
  const slot = async (kind, title, start, end, room, capacity) => {
    await page.goto(`${eventURL}/slots/new`);
    await choose(page, kind);
    await page.getByLabel('Titre').fill(title);
    await page.getByLabel('Jour').fill(day);
    await page.getByLabel('Début').fill(start);
    await page.getByLabel('Fin').fill(end);
    await page.getByLabel('Salle ou parcours').fill(room);
    if (capacity) await page.getByLabel('Places (ateliers)').fill(String(capacity));
    await page.getByRole('button', { name: 'Enregistrer', exact: true }).click();
    await page.waitForURL(/\/programme$/);
  };
  await page.goto(`${eventURL}/slots/new`);
  await j.check('slot-form');
  await slot('Intervention', 'Ouverture : les communs en 2027', '09:00', '09:45', 'Amphithéâtre');
  await slot(/^Atelier/, 'Atelier design system', '10:00', '11:30', 'Salle 1', 1);
  await slot(/^Atelier/, 'Atelier données; API, « open data »', '10:00', '11:30', 'Salle 2', 5);
  await page.goto(eventURL);
  await page.getByLabel("Statut de l'événement").selectOption('published');
  await page.getByRole('button', { name: 'Changer le statut' }).click();
  await page.waitForURL((u) => u.href === eventURL);
  await j.check('event-show-published');
  // The public programme: the timetable, without login.
  await j.switchTo('nobody');
  await page.goto(`${eventURL}/programme`);
  const text = await page.locator('main').innerText();
  assert.match(text, /Atelier design system/);
  assert.match(text, /Atelier données; API, « open data »/);
  await j.check('programme-public');
  await page.setViewportSize({ width: 360, height: 740 });
  await j.check('programme-phone');
  await page.setViewportSize({ width: 1280, height: 900 });
}));

test('an agent registers with the keyboard alone and chooses a workshop', j.step('register', async () => {
  const page = j.page;
  await j.login('agent', AGENT, { name: 'Alice Dgcs', direction: 'DGCS' });
  await page.goto(eventURL);
  await j.check('event-show-agent');
  await page.getByRole('link', { name: /S'inscrire/ }).first().click();
  await page.waitForURL(/\/register$/);
  await j.check('event-register');
  // Keyboard alone: the mode, the answer, the workshop, the button.
  await tabTo(page, 'the « Sur place » choice', () => document.activeElement?.name === 'mode');
  if (!(await page.evaluate(() => document.activeElement.value === 'onsite' && document.activeElement.checked))) {
    // Arrows move the choice inside a group of radios.
    for (let i = 0; i < 3 && !(await page.evaluate(() => document.querySelector('input[name="mode"][value="onsite"]').checked)); i++) {
      await page.keyboard.press('ArrowDown');
    }
  }
  assert.ok(await page.evaluate(() => document.querySelector('input[name="mode"][value="onsite"]').checked), '« Sur place » cannot be chosen with the keyboard');
  await tabTo(page, 'the question', () => document.activeElement?.name?.startsWith('q_'));
  await page.keyboard.type('Végétarien');
  await tabTo(page, 'the workshops', () => document.activeElement?.name === 'ws_1');
  for (let i = 0; i < 4 && !(await page.evaluate(() => document.querySelector('input[name="ws_1"]:checked')?.labels[0]?.textContent.includes('design system'))); i++) {
    await page.keyboard.press('ArrowDown');
  }
  assert.ok(await page.evaluate(() => document.querySelector('input[name="ws_1"]:checked')?.labels[0]?.textContent.includes('design system')), 'the workshop cannot be chosen with the keyboard');
  await tabTo(page, 'the « M\'inscrire » button', () => document.activeElement?.tagName === 'BUTTON' && document.activeElement.textContent.includes("M'inscrire"));
  await Promise.all([page.waitForURL((u) => u.href === eventURL), page.keyboard.press('Enter')]);
  assert.match(await page.locator('main').innerText(), /inscription est confirmée/);
  await j.check('event-registered');
  await page.goto(`${eventURL}/inscription`);
  assert.match(await page.locator('main').innerText(), /Atelier design system/);
  await j.check('event-inscription');
  await j.save('agent');
}));

test('the correspondent uploads a CSV saved by Excel and reads the report', j.step('csv', async () => {
  const page = j.page;
  await j.login('correspondent', CORRESPONDENT, { name: 'Bruno Dgos' });
  await page.goto(`${eventURL}/correspondent`);
  await j.check('correspondent');
  const csv = [
    'Adresse électronique;Nom;Mode',
    'chloe.dgos@sg.social.gouv.fr;Chloé Martin;sur place',
    'pas-une-adresse;Personne Sans Adresse;sur place',
    'david.dgos@sg.social.gouv.fr;David Petit;à distance',
    'eva.dgos@sg.social.gouv.fr;Éva Durand;sur place',
    'chloe.dgos@sg.social.gouv.fr;Chloé en double;sur place',
    'felix.dgos@sg.social.gouv.fr;Félix Bernard;sur place',
  ].join('\r\n') + '\r\n';
  await page.setInputFiles('#file', { name: 'agents-dgos.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'latin1') });
  await page.getByRole('button', { name: 'Importer le fichier' }).click();
  await page.getByRole('table').waitFor();
  await j.check('correspondent-report');
  const rows = await page.getByRole('row').allInnerTexts();
  const row = (n) => rows.find((r) => r.trim().startsWith(`${n}\t`)) || '';
  // (Badges are shown in capitals.)
  assert.match(row(2), /Chloé Martin[\s\S]*Confirmée/i, `line 2: ${row(2)}`);
  assert.match(row(3), /Refusée[\s\S]*invalide/i, `line 3: ${row(3)}`);
  assert.match(row(4), /David Petit[\s\S]*Confirmée/i, `line 4: ${row(4)}`);
  assert.match(row(5), /Éva Durand[\s\S]*Confirmée/i, `line 5: ${row(5)}`);
  assert.match(row(6), /Refusée[\s\S]*double/i, `line 6: ${row(6)}`);
  assert.match(row(7), /Félix Bernard[\s\S]*Liste d'attente/i, `line 7: ${row(7)}`);
  await j.save('correspondent');
}));

let manageLink;
test('the confirmations carry the right calendars, without the management link', j.step('calendars', async () => {
  const [reg] = await j.mails(AGENT, 'event.registered');
  assert.ok(reg, 'no confirmation email to the agent');
  assert.equal(reg.method, 'REQUEST');
  assert.match(reg.text, /code d'accès le jour J : [A-Z0-9]{4}-[A-Z0-9]{4}/, `no check-in code in the confirmation:\n${reg.text}`);
  const link = reg.text.match(/https?:\/\/\S+\/inscription\/[A-Za-z0-9_.-]{20,}/);
  assert.ok(link, `the confirmation has no management link:\n${reg.text}`);
  manageLink = link[0];
  assert.doesNotMatch(reg.ics, /\/inscription\//, 'the management link is in the calendar data');
  const ev = readCalendar(reg.ics, 'event invitation');
  assert.equal(ev.method, 'REQUEST');
  assert.equal(ev.events.length, 1);
  expectEvent(ev.events[0], { start: at('09:00'), end: at('17:30'), summary: /Journée produit 2027/, what: 'event invitation' });
  assert.deepEqual(ev.events[0].attendees.map((a) => a.toLowerCase()), [`mailto:${AGENT}`]);

  const [ws] = await j.mails(AGENT, 'event.workshop_confirmed');
  assert.ok(ws, 'no workshop invitation to the agent');
  const w = readCalendar(ws.ics, 'workshop invitation');
  assert.equal(w.method, 'REQUEST');
  expectEvent(w.events[0], { start: at('10:00'), end: at('11:30'), summary: /Atelier design system/, what: 'workshop invitation' });
  assert.notEqual(w.events[0].uid, ev.events[0].uid, 'the workshop and the event share a UID');
  assert.doesNotMatch(ws.ics, /\/inscription\//, 'the management link is in the workshop calendar data');

  // Registered by the correspondent: the same event, the same UID.
  const [chloe] = await j.mails('chloe.dgos@sg.social.gouv.fr', 'event.registered');
  const c = readCalendar(chloe.ics, 'invitation of a CSV line');
  expectEvent(c.events[0], { start: at('09:00'), end: at('17:30'), uid: ev.events[0].uid, what: 'invitation of a CSV line' });
  // The secret link opens the registration without logging in.
  await j.switchTo('nobody');
  await j.page.goto(link[0]);
  assert.match(await j.page.locator('main').innerText(), /Atelier design system/);
  await j.check('manage-link');
  // Waitlisted: told, without an invitation.
  const [felix] = await j.mails('felix.dgos@sg.social.gouv.fr', 'event.registered');
  assert.ok(felix && !felix.ics, 'the waitlisted person got no email, or got a calendar invitation');
}));

test('someone who lost the email asks for the management link again and uses the new one', j.step('new-link', async () => {
  const page = j.page;
  await j.switchTo('nobody');
  // A link cut by a mail client leads to the page, for the right event.
  await page.goto(manageLink.slice(0, -12));
  await j.check('manage-link-cut');
  await page.getByRole('link', { name: "Retrouver mon lien d'inscription" }).click();
  await page.waitForURL((u) => u.href === `${eventURL}/inscription/lien`);
  // From the public programme too.
  await page.goto(`${eventURL}/programme`);
  await page.getByRole('link', { name: "retrouver mon lien d'inscription" }).click();
  await page.waitForURL((u) => u.href === `${eventURL}/inscription/lien`);
  await j.check('new-link-form');
  await page.getByRole('button', { name: 'Recevoir un nouveau lien' }).click();
  await page.locator('#email-error').waitFor();
  assert.match(await page.locator('#email-error').innerText(), /Saisissez une adresse électronique/);
  await j.check('new-link-form-errors');
  await page.getByLabel("Adresse électronique de l'inscription").fill(AGENT.toUpperCase());
  await page.getByRole('button', { name: 'Recevoir un nouveau lien' }).click();
  await page.waitForURL((u) => u.pathname.endsWith('/inscription/lien/envoye'));
  assert.match(await page.locator('main').innerText(), /Si une inscription correspond à cette adresse, un courriel vient de lui être envoyé/);
  await j.check('new-link-sent');
  // The email: a new link, no calendar part; the link opens the registration.
  const mails = await j.mails(AGENT, 'event.link');
  assert.equal(mails.length, 1, `${mails.length} link emails to the agent`);
  assert.equal(mails[0].method, '', 'the link email has a calendar part');
  const link = mails[0].text.match(/https?:\/\/\S+\/inscription\/[A-Za-z0-9_.-]{20,}/);
  assert.ok(link, `no management link in the email:\n${mails[0].text}`);
  assert.notEqual(link[0], manageLink, 'the same link was sent again');
  await page.goto(link[0]);
  assert.match(await page.locator('main').innerText(), /Atelier design system/);
  await j.check('manage-new-link');
  // An address without registration: the same answer, no email.
  await page.goto(`${eventURL}/inscription/lien`);
  await page.getByLabel("Adresse électronique de l'inscription").fill('personne@sg.social.gouv.fr');
  await page.getByRole('button', { name: 'Recevoir un nouveau lien' }).click();
  await page.waitForURL((u) => u.pathname.endsWith('/inscription/lien/envoye'));
  assert.equal((await j.mails('personne@sg.social.gouv.fr')).length, 0, 'an unregistered address got an email');
}));

test('the organiser checks in, by name on a phone, someone the correspondent registered', j.step('checkin', async () => {
  const page = j.page;
  await j.switchTo('admin');
  await page.setViewportSize({ width: 360, height: 740 });
  try {
    await page.goto(`${eventURL}/checkin`);
    await page.getByLabel('Chercher par nom').fill('Chloé');
    await page.getByRole('button', { name: 'Chercher' }).click();
    await page.getByRole('button', { name: /Arrivée de Chloé Martin/ }).click();
    await page.getByText('Arrivée enregistrée').waitFor();
    await page.goto(`${eventURL}/checkin`);
    assert.match(await page.locator('.agora-checkin__counts').innerText(), /^1 arrivée sur 4 confirmées/);
    await j.check('checkin-counts');
    await page.goto('about:blank'); // the page polls the counts: leave it before others use the browser
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
}));

test('Lighthouse accessibility is 100 on the correspondent\'s page and the management link', { timeout: 240000 }, j.step('lighthouse', () =>
  j.lighthouse([['correspondent', `${eventURL}/correspondent`], ['nobody', manageLink]])));

test('every calendar mailed in the journey reads in ical.js (Europe/Paris, UID, one attendee, METHOD)', j.step('audit', j.auditCalendars));

test('every page reached: zero axe-core violations, no horizontal scroll at 320 px, no console error', () => j.assertClean());
