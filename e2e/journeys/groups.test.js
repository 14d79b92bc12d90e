// Journey of working groups and their sessions. The admin creates an
// organiser's account; the organiser creates a group (an empty form first:
// errors next to the fields) and a weekly series of four sessions, the
// first starting a minute from now; an agent logs in for the first time,
// finds the group in the directory, joins it, answers the second session
// with the keyboard alone and downloads its .ics; the organiser moves the
// third session (this one only); once the first has started, the organiser
// writes its minutes. Every calendar file produced — the download, and the
// calendar part of every invitation and update captured for the agent — is
// read by ical.js: the expected events, times in Europe/Paris with their
// VTIMEZONE, one UID per session that never changes, SEQUENCE raised by the
// move. Every page reached is checked (axe-core, 320 px, console);
// Lighthouse's accessibility score on the main pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { journey, parisParts, parisInstant, addDays, readCalendar, expectEvent } from '../lib/journey.js';

const ORGANISER = 'claire.organisatrice@sg.social.gouv.fr';
const AGENT = 'malik.agent@sg.social.gouv.fr';
const j = journey('groups');
let groupURL;
const occ = []; // the series: { date, start, end, url }
let moved; // the third session after the move: { date, start, end }
let downloadUID;

test('the admin creates an organiser, who logs in', j.step('organiser', async () => {
  await j.adminLogin();
  const page = j.page;
  await page.goto(`${j.base}/admin/users/new`);
  await j.check('admin-user-new');
  await page.getByLabel('Adresse électronique').fill(ORGANISER);
  await page.getByLabel('Prénom et nom').fill('Claire Organisatrice');
  await page.getByLabel('Direction').selectOption('DNUM');
  await page.getByLabel('Rôle').selectOption('organiser');
  await page.getByRole('button', { name: /Créer/ }).click();
  await page.waitForURL((u) => u.pathname === '/admin/users');
  await j.save('admin');
  await j.login('organiser', ORGANISER);
}));

test('the organiser creates a group, an empty form first', j.step('group-new', async () => {
  const page = j.page;
  await j.switchTo('organiser');
  await page.goto(`${j.base}/groups/new`);
  await j.check('group-form');
  await page.getByRole('button', { name: 'Créer le groupe' }).click();
  await page.locator('#title-error').waitFor();
  await j.check('group-form-errors');
  await page.getByLabel('Titre').fill('Communs numériques : « design system », données; API');
  await page.getByLabel('Résumé (facultatif)').fill('Partager les communs entre équipes produit.');
  await page.getByLabel('Description (facultatif)').fill('## Objectifs\n\n- recenser les **communs**\n- les documenter');
  await page.getByLabel('Thème').selectOption('hackathon');
  await page.getByLabel('Ouvert à tous').check();
  await page.getByRole('button', { name: 'Créer le groupe' }).click();
  await page.waitForURL(/\/groups\/[a-z0-9]{26}$/);
  groupURL = page.url();
  await j.check('group-show-organiser');
}));

test('the organiser plans a weekly series of four sessions', j.step('series', async () => {
  const page = j.page;
  // The first session starts at the first full minute at least 25 s from
  // now (it must be in the future when the form is sent, and will have
  // started when the minutes are written). Near midnight, wait for the day.
  for (;;) {
    const now = parisParts(new Date());
    if (now.time < '23:45') break;
    await new Promise((r) => setTimeout(r, 30000));
  }
  const first = new Date(Math.ceil((Date.now() + 25000) / 60000) * 60000);
  const p = parisParts(first);
  const endTime = parisParts(new Date(first.getTime() + 60 * 60000)).time;
  for (let k = 0; k < 4; k++) occ.push({ date: addDays(p.date, 7 * k), start: p.time, end: endTime });

  await page.goto(groupURL);
  await page.getByRole('link', { name: 'Planifier une séance' }).click();
  await page.waitForURL(/\/sessions\/new$/);
  await j.check('session-form');
  await page.getByLabel('Titre').fill('Comité des communs');
  await page.getByLabel('Date', { exact: true }).fill(occ[0].date);
  await page.getByLabel('Début').fill(occ[0].start);
  await page.getByLabel('Fin').fill(occ[0].end);
  await page.getByLabel('Salle (facultatif)').fill('Salle 4010, 14 avenue Duquesne');
  await page.getByLabel('Ordre du jour (facultatif)').fill('1. Tour de table\n2. Les communs du trimestre');
  await page.getByLabel('Fréquence').selectOption('weekly');
  await page.getByLabel('Nombre de séances de la série').fill('4');
  await page.getByRole('button', { name: /Planifier/ }).click();
  await page.waitForURL((u) => u.href === groupURL);
  await j.check('group-show-series');
  const links = page.locator('a[href^="/sessions/"]');
  const hrefs = [...new Set(await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')).filter((h) => /^\/sessions\/[a-z0-9]{26}$/.test(h))))];
  assert.equal(hrefs.length, 4, `the group page lists ${hrefs.length} sessions: ${hrefs}`);
  // The group page lists upcoming sessions in time order.
  hrefs.forEach((h, k) => { occ[k].url = j.base + h; });
  await j.save('organiser');
}));

test('an agent finds the group, joins it, answers with the keyboard and downloads the .ics', j.step('agent', async () => {
  const page = j.page;
  await j.login('agent', AGENT, { name: 'Malik Agent', direction: 'DGOS', check: true });
  await page.goto(`${j.base}/groups`);
  await j.check('groups-directory');
  await page.getByLabel('Mots-clés').fill('communs');
  // Searching by words looks through every theme.
  assert.equal(await page.getByLabel('Thème').inputValue(), '', 'the theme filter is set before anyone chose one');
  await page.getByRole('button', { name: 'Rechercher' }).click();
  await page.waitForLoadState();
  await page.getByRole('link', { name: /Communs numériques/ }).first().click();
  await page.waitForURL((u) => u.href === groupURL);
  await j.check('group-show-visitor');
  await page.getByRole('button', { name: 'Rejoindre le groupe' }).click();
  await page.waitForURL((u) => u.href === groupURL);
  await j.check('group-show-member');

  // Keyboard alone: Tab to the "Oui" button of the second session, Enter.
  await page.goto(occ[1].url);
  await j.check('session-show-member');
  let found = false;
  for (let i = 0; i < 60 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => {
      const el = document.activeElement;
      return el?.tagName === 'BUTTON' && el.textContent.trim() === 'Oui' && !!el.closest('form[action$="/answer"]');
    });
  }
  assert.ok(found, 'the "Oui" answer cannot be reached with Tab');
  const focus = await page.evaluate(() => { const cs = getComputedStyle(document.activeElement); return cs.outlineStyle !== 'none' || cs.boxShadow !== 'none'; });
  assert.ok(focus, 'the focused answer button shows no focus ring');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(occ[1].url)), page.keyboard.press('Enter')]);
  assert.equal(await page.getByRole('button', { name: 'Oui' }).getAttribute('aria-pressed'), 'true', 'the answer Oui is not recorded');
  await j.check('session-answered');

  const file = await j.download(() => page.getByRole('link', { name: /Ajouter à mon agenda/ }).click());
  assert.match(file.name, /\.ics$/);
  const cal = readCalendar(file.text, 'downloaded .ics');
  assert.equal(cal.events.length, 1, 'the .ics holds one event');
  expectEvent(cal.events[0], { start: parisInstant(occ[1].date, occ[1].start), end: parisInstant(occ[1].date, occ[1].end),
    summary: /Comité des communs/, what: 'downloaded .ics' });
  downloadUID = cal.events[0].uid;
  await j.save('agent');
}));

test('the organiser moves the third session, this one only', j.step('move', async () => {
  const page = j.page;
  await j.switchTo('organiser');
  await page.goto(occ[2].url);
  await j.check('session-show-organiser');
  await page.getByRole('link', { name: 'Modifier ou déplacer' }).click();
  await page.waitForURL(/\/edit$/);
  await j.check('session-edit');
  moved = { date: addDays(occ[2].date, 1), start: '15:00', end: '16:30' };
  // An end before the start: the error next to the field, nothing changed.
  await page.getByLabel('Date', { exact: true }).fill(moved.date);
  await page.getByLabel('Début').fill('15:00');
  await page.getByLabel('Fin').fill('14:00');
  await page.locator('label', { hasText: 'Cette séance seulement' }).click();
  await page.getByRole('button', { name: /Enregistrer/ }).click();
  await page.locator('#end-error').waitFor();
  await j.check('session-edit-errors');
  await page.getByLabel('Fin').fill(moved.end);
  await page.locator('label', { hasText: 'Cette séance seulement' }).click();
  await page.getByRole('button', { name: /Enregistrer/ }).click();
  await page.waitForURL((u) => u.href.startsWith(occ[2].url));
  await j.check('session-moved');
  // The fourth session kept its time.
  await page.goto(occ[3].url);
  const [hh, mm] = occ[3].start.split(':');
  assert.match(await page.locator('main').innerText(), new RegExp(`${hh}:${mm}|${hh} ?h ?${mm}|${+hh} ?h ?${mm}`));
}));

test('the invitations and the update reach the agent with the right calendars', j.step('calendars', async () => {
  const mails = (await j.mails(AGENT)).filter((m) => m.ics);
  const cals = mails.map((m) => ({ m, cal: readCalendar(m.ics, `email « ${m.subject} »`) }));
  console.log(`groups: ${cals.length} calendar parts of emails to the agent read by ical.js`);
  for (const { m, cal } of cals) {
    assert.equal(cal.method, m.method, `email « ${m.subject} »: METHOD ${cal.method} in the .ics, ${m.method} in the MIME type`);
    assert.equal(cal.events.length, 1, `email « ${m.subject} »: ${cal.events.length} events`);
    const ev = cal.events[0];
    assert.deepEqual(ev.attendees.map((a) => a.toLowerCase()), [`mailto:${AGENT}`], `email « ${m.subject} »: attendees ${ev.attendees}`);
    assert.match(ev.organizer, /^mailto:/i, `email « ${m.subject} »: no ORGANIZER address`);
  }
  const at = (o) => parisInstant(o.date, o.start).toISOString();
  const find = (iso, seq) => cals.find(({ cal }) => cal.method === 'REQUEST' && cal.events[0].start.toISOString() === iso && cal.events[0].sequence === seq);
  // An invitation for each upcoming session of the series (the first may
  // have started before the agent joined).
  const uids = new Set();
  for (const [k, o] of occ.entries()) {
    const inv = find(at(o), 0);
    if (k === 0 && !inv) continue;
    assert.ok(inv, `no invitation (REQUEST, SEQUENCE 0) at ${o.date} ${o.start} for the agent; got ${cals.map(({ cal }) => cal.events[0].start.toISOString() + '#' + cal.events[0].sequence)}`);
    expectEvent(inv.cal.events[0], { start: parisInstant(o.date, o.start), end: parisInstant(o.date, o.end), summary: /Comité des communs/, what: `invitation ${k + 1}` });
    uids.add(inv.cal.events[0].uid);
    o.uid = inv.cal.events[0].uid;
  }
  assert.equal(uids.size, occ[0].uid ? 4 : 3, 'each session has its own UID');
  assert.equal(downloadUID, occ[1].uid, 'the downloaded .ics and the invitation of the same session have different UIDs');
  // The move: an update with the same UID, SEQUENCE 1, the new time.
  const upd = find(parisInstant(moved.date, moved.start).toISOString(), 1);
  assert.ok(upd, 'no update (REQUEST, SEQUENCE 1) at the new time of the third session');
  expectEvent(upd.cal.events[0], { start: parisInstant(moved.date, moved.start), end: parisInstant(moved.date, moved.end), uid: occ[2].uid, what: 'update' });
  assert.ok(!cals.some(({ cal }) => cal.events[0].uid === occ[3].uid && cal.events[0].sequence > 0), 'the fourth session was updated too');
}));

test('Lighthouse accessibility is 100 on the groups pages', { timeout: 240000 }, j.step('lighthouse', () =>
  j.lighthouse([['agent', '/groups'], ['agent', groupURL], ['agent', occ[1].url], ['organiser', `${groupURL}/sessions/new`]])));

test('once the first session has started, the organiser writes its minutes', { timeout: 180000 }, j.step('minutes', async () => {
  const page = j.page;
  const wait = parisInstant(occ[0].date, occ[0].start).getTime() + 2000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  await j.switchTo('organiser');
  await page.goto(occ[0].url);
  await page.getByLabel('Écrire ou modifier le compte rendu').fill('## Décisions\n\n- publier le catalogue des communs\n- prochaine revue en janvier');
  await page.getByRole('button', { name: 'Enregistrer le compte rendu' }).click();
  await page.waitForURL((u) => u.href.startsWith(occ[0].url));
  assert.match(await page.locator('#compte-rendu ~ .agora-markdown').first().innerText(), /publier le catalogue des communs/);
  await j.check('session-minutes');
  const mails = await j.mails(AGENT, 'session.minutes');
  assert.equal(mails.length, 1, `${mails.length} minutes emails to the agent, want 1`);
  assert.match(mails[0].text, new RegExp(occ[0].url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  // The agent reads them on the session page.
  await j.switchTo('agent');
  await page.goto(occ[0].url);
  assert.match(await page.locator('main').innerText(), /publier le catalogue des communs/);
  await j.check('session-minutes-agent');
}));

test('every calendar mailed in the journey reads in ical.js (Europe/Paris, UID, one attendee, METHOD)', j.step('audit', j.auditCalendars));

test('every page reached: zero axe-core violations, no horizontal scroll at 320 px, no console error', () => j.assertClean());
