// What every journey needs, in one place: Agora and the browser started
// once, several people taking turns in one browser (their cookies saved and
// restored), the per-page checks (axe-core WCAG 2.1 A/AA, 320 px, console),
// logging in by magic link read in Administration › Courriels, reading the
// captured emails and their calendar parts as the admin, and reading
// calendar files with ical.js (the parser behind Thunderbird).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import ICAL from 'ical.js';
import { startAgora } from './agora.js';
import { launch, axe, horizontalOverflow, lighthouseAccessibility, screenshot } from './browser.js';

export const PARIS = 'Europe/Paris';

// journey starts Agora and Chromium before the file's tests and stops them
// after; j.page, j.base… are usable inside the tests.
export function journey(prefix, { env } = {}) {
  const j = {
    prefix, agora: null, b: null, page: null, base: '',
    findings: { axe: [], narrow: [] }, checked: [], cookies: {},
  };
  before(async () => {
    j.agora = await startAgora({ env });
    j.base = j.agora.base;
    j.b = await launch();
    j.page = j.b.page;
  });
  after(async () => {
    await j.b?.close();
    await j.agora?.stop();
  });

  // check runs the per-page checks on the current page.
  j.check = async (name) => {
    const page = j.page;
    const path = new URL(page.url()).pathname;
    j.checked.push(`${name} (${path})`);
    const violations = await axe(page);
    for (const v of violations) {
      for (const n of v.nodes) j.findings.axe.push(`${name} ${path}: ${v.rule} (${v.impact}) ${v.help} — ${n.target} — ${n.html}`);
    }
    const over = await horizontalOverflow(page);
    if (over > 0) j.findings.narrow.push(`${name} ${path}: ${over}px wider than a 320 px screen`);
    if (violations.length || over > 0) await screenshot(page, `a11y-${prefix}-${name}`);
  };

  // step runs fn and keeps a screenshot when it fails.
  j.step = (name, fn) => async () => {
    try {
      await fn();
    } catch (err) {
      const file = await screenshot(j.page, `failed-${prefix}-${name}`);
      err.message += `\n(screenshot: ${file})`;
      throw err;
    }
  };

  j.switchTo = async (who) => {
    await j.b.context.clearCookies();
    if (j.cookies[who]) await j.b.context.addCookies(j.cookies[who]);
  };
  j.save = async (who) => { j.cookies[who] = await j.b.context.cookies(); };

  // as fetches path with who's cookies (outside the page: for the admin's
  // outbox while someone else uses the browser).
  j.as = (who, path) => fetchAs(j.base, j.cookies[who], path);

  // adminLogin uses the one-time link printed at start.
  j.adminLogin = async () => {
    await j.switchTo('admin');
    assert.ok(j.agora.adminLink, 'no admin link on stdout');
    await j.page.goto(j.agora.adminLink);
    await j.page.getByRole('button', { name: 'Se connecter' }).click();
    await j.page.waitForURL((u) => u.pathname === '/admin');
    await j.save('admin');
  };

  // login asks a link for email, reads it in the admin's outbox, uses it;
  // a first login completes the welcome form. The browser is who's after.
  j.login = async (who, email, { name, direction, check = false } = {}) => {
    await j.switchTo(who);
    await j.page.goto(`${j.base}/login`);
    await j.page.getByLabel(/adresse électronique/i).fill(email);
    await j.page.getByRole('button', { name: 'Recevoir le lien' }).click();
    await j.page.waitForURL((u) => u.pathname === '/login/sent');
    const mails = await j.mails(email, 'login');
    assert.ok(mails.length > 0, `no login email to ${email}`);
    const m = mails[0].text.match(/https?:\/\/\S+\/login\/[A-Za-z0-9_-]{43}/);
    assert.ok(m, `no login link in the email to ${email}`);
    await j.page.goto(m[0]);
    await j.page.getByRole('button', { name: 'Se connecter' }).click();
    await j.page.waitForURL((u) => u.pathname !== new URL(m[0]).pathname);
    if (new URL(j.page.url()).pathname === '/welcome') {
      if (check) await j.check(`${who}-welcome`);
      await j.page.getByLabel('Prénom et nom').fill(name);
      if (direction) await j.page.getByLabel('Direction').selectOption(direction);
      await j.page.getByRole('button', { name: 'Enregistrer' }).click();
      await j.page.waitForURL((u) => u.pathname !== '/welcome');
    }
    await j.save(who);
  };

  // mails lists the captured emails to email (newest first), read as the
  // admin: id, subject, kind, text, calendar method and .ics body.
  j.mails = (email, kind) => outboxMails(j.base, j.cookies.admin, { to: email, kind });

  // download clicks what opens a download and returns the file's text.
  j.download = async (click) => {
    const [dl] = await Promise.all([j.page.waitForEvent('download'), click()]);
    const path = await dl.path();
    return { name: dl.suggestedFilename(), text: await readFile(path, 'utf8') };
  };

  // lighthouse scores the accessibility of each [who, path or URL] in the
  // browser as who, and fails listing those below 100 (a management link's
  // secret is not printed).
  j.lighthouse = async (pages) => {
    const low = [];
    for (const [who, where] of pages) {
      await j.switchTo(who);
      const url = new URL(where, j.base);
      const name = url.pathname.replace(/inscription\/.*/, 'inscription/…');
      const { score, failed } = await lighthouseAccessibility(url.href, j.b.debugPort);
      console.log(`lighthouse accessibility ${name} (${who}): ${score}`);
      if (score < 100) low.push(`${name} (${who}): ${score} — ${failed.join('; ')}`);
    }
    assert.deepEqual(low, [], `Lighthouse accessibility below 100:\n${low.join('\n')}`);
  };

  // auditCalendars reads with ical.js the calendar part of every email
  // captured in the journey (auditOutboxCalendars); there must be one.
  j.auditCalendars = async () => {
    const n = await auditOutboxCalendars(j.base, j.cookies.admin);
    console.log(`${prefix}: ${n} calendar parts of captured emails read by ical.js`);
    assert.ok(n > 0, 'no calendar was mailed');
  };

  j.assertClean = () => {
    console.log(`${prefix}: pages checked: ${j.checked.join(', ')}`);
    assert.deepEqual(j.findings.axe, [], `axe-core violations:\n${j.findings.axe.join('\n')}`);
    assert.deepEqual(j.findings.narrow, [], j.findings.narrow.join('\n'));
    assert.deepEqual(j.b.problems, [], j.b.problems.join('\n'));
  };
  return j;
}

// fetchAs fetches path on Agora with the given browser cookies.
export async function fetchAs(base, cookies, path) {
  const cookie = (cookies || []).map((c) => `${c.name}=${c.value}`).join('; ');
  const r = await fetch(base + path, { headers: { cookie }, redirect: 'manual' });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

// outboxMails reads the captured emails in Administration › Courriels with
// an admin's cookies (newest first; to and kind filter): id, subject,
// kind, recipient, text, calendar method and .ics body.
export async function outboxMails(base, adminCookies, { to, kind } = {}) {
  const ids = [];
  for (let page = 1; page < 100; page++) {
    const q = new URLSearchParams({ page: String(page) });
    if (to) q.set('to', to);
    const list = await fetchAs(base, adminCookies, `/admin/outbox?${q}`);
    assert.equal(list.status, 200, `admin outbox: ${list.status}`);
    const found = [...new Set([...list.text.matchAll(/href="\/admin\/outbox\/([0-9a-z]{26})"/g)].map((m) => m[1]))].filter((id) => !ids.includes(id));
    ids.push(...found);
    if (found.length === 0 || !list.text.includes(`page=${page + 1}`)) break;
  }
  const out = [];
  for (const id of ids) {
    const p = await fetchAs(base, adminCookies, `/admin/outbox/${id}`);
    const field = (dt) => decode((p.text.match(new RegExp(`<dt>${dt}</dt><dd>([^<]*)`)) || [])[1] || '');
    const m = {
      id, kind: field('Type'), recipient: field('Destinataire'), subject: decode((p.text.match(/<h1>([^<]*)<\/h1>/) || [])[1] || ''),
      text: decode((p.text.match(/<pre class="agora-mail-text">([\s\S]*?)<\/pre>/) || [])[1] || ''),
      method: (p.text.match(/<dt>Invitation<\/dt><dd>([A-Z]+)/) || [])[1] || '',
    };
    if (kind && m.kind !== kind) continue;
    if (m.method) {
      const ics = await fetchAs(base, adminCookies, `/admin/outbox/${id}/ics`);
      assert.equal(ics.status, 200, `.ics of email ${id}: ${ics.status}`);
      assert.match(ics.headers.get('content-type'), new RegExp(`^text/calendar; charset=utf-8; method=${m.method}$`));
      m.ics = ics.text;
    }
    out.push(m);
  }
  return out;
}

// auditOutboxCalendars reads with ical.js the calendar part of every email
// captured so far and checks what real clients need: METHOD as the MIME
// type says, one event with a UID, times in Europe/Paris with their
// VTIMEZONE, the end after the start, the recipient as the only ATTENDEE,
// an ORGANIZER address, STATUS:CANCELLED with METHOD:CANCEL, and no
// registration management link. It returns how many it read.
export async function auditOutboxCalendars(base, adminCookies) {
  const mails = (await outboxMails(base, adminCookies)).filter((m) => m.ics);
  for (const m of mails) {
    const what = `email « ${m.subject} » to ${m.recipient} (${m.kind})`;
    const cal = readCalendar(m.ics, what);
    assert.equal(cal.method, m.method, `${what}: METHOD ${cal.method}, MIME method ${m.method}`);
    assert.equal(cal.events.length, 1, `${what}: ${cal.events.length} events`);
    const ev = cal.events[0];
    expectEvent(ev, { what });
    assert.ok(ev.end > ev.start, `${what}: ends before it starts`);
    assert.ok(ev.summary, `${what}: no SUMMARY`);
    assert.deepEqual(ev.attendees.map((a) => a.toLowerCase()), [`mailto:${m.recipient.toLowerCase()}`], `${what}: attendees ${ev.attendees}`);
    assert.match(ev.organizer || '', /^mailto:\S+@\S+/i, `${what}: no ORGANIZER address`);
    if (cal.method === 'CANCEL') assert.equal(ev.status, 'CANCELLED', `${what}: a CANCEL without STATUS:CANCELLED`);
    assert.doesNotMatch(m.ics, /\/inscription\//, `${what}: a management link in the calendar data`);
  }
  return mails.length;
}

function decode(s) {
  return s.replace(/&#39;/g, "'").replace(/&#34;/g, '"').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

// --- dates in Paris ---

// parisParts gives the Paris calendar date (YYYY-MM-DD) and time (HH:MM)
// of an instant.
export function parisParts(date) {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone: PARIS, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const p = Object.fromEntries(f.formatToParts(date).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
}

// parisInstant is the instant of a Paris wall-clock date and time.
export function parisInstant(date, time) {
  const [y, mo, d] = date.split('-').map(Number);
  const [h, mi] = time.split(':').map(Number);
  let t = Date.UTC(y, mo - 1, d, h, mi);
  for (let i = 0; i < 3; i++) { // converge on the offset of that day
    const p = parisParts(new Date(t));
    const [py, pmo, pd] = p.date.split('-').map(Number);
    const [ph, pmi] = p.time.split(':').map(Number);
    t += Date.UTC(y, mo - 1, d, h, mi) - Date.UTC(py, pmo - 1, pd, ph, pmi);
  }
  return new Date(t);
}

// parisDay is the Paris date (YYYY-MM-DD, as a date input wants it) n
// days from now.
export function parisDay(n) {
  return parisParts(new Date(Date.now() + n * 86400000)).date;
}

// addDays shifts a YYYY-MM-DD date.
export function addDays(date, n) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

// --- calendars ---

// readCalendar parses an iCalendar text with ical.js and returns its
// METHOD and events (uid, sequence, summary, start and end as instants,
// the TZID of the start, status), after checking what real clients need:
// CRLF line ends, lines of at most 75 octets, and a VTIMEZONE for every
// TZID used.
export function readCalendar(text, what = 'calendar') {
  assert.ok(text.startsWith('BEGIN:VCALENDAR\r\n'), `${what}: does not start with BEGIN:VCALENDAR and CRLF`);
  for (const line of text.split('\r\n')) {
    assert.ok(!line.includes('\n'), `${what}: a line ends with LF alone`);
    assert.ok(Buffer.byteLength(line, 'utf8') <= 75, `${what}: line longer than 75 octets: ${line}`);
  }
  const comp = new ICAL.Component(ICAL.parse(text));
  assert.equal(comp.name, 'vcalendar', `${what}: not a VCALENDAR`);
  const zones = {};
  for (const vtz of comp.getAllSubcomponents('vtimezone')) {
    const tz = new ICAL.Timezone(vtz);
    zones[tz.tzid] = true;
    ICAL.TimezoneService.register(tz.tzid, tz);
  }
  const events = comp.getAllSubcomponents('vevent').map((v) => {
    const e = new ICAL.Event(v);
    const tzid = v.getFirstProperty('dtstart').getParameter('tzid') || (e.startDate.isDate ? 'floating' : e.startDate.zone?.tzid);
    if (tzid && tzid !== 'UTC' && tzid !== 'Z') assert.ok(zones[tzid], `${what}: TZID ${tzid} without its VTIMEZONE`);
    return {
      uid: e.uid, sequence: e.sequence, summary: e.summary, location: e.location, description: e.description,
      start: e.startDate.toJSDate(), end: e.endDate.toJSDate(), tzid,
      status: v.getFirstPropertyValue('status'), attendees: v.getAllProperties('attendee').map((p) => p.getFirstValue()),
      organizer: v.getFirstPropertyValue('organizer'),
    };
  });
  return { method: comp.getFirstPropertyValue('method'), events, text };
}

// expectEvent checks one calendar event against what the journey entered.
export function expectEvent(ev, { start, end, summary, uid, what = 'event' }) {
  assert.equal(ev.tzid, PARIS, `${what}: DTSTART in ${ev.tzid}, want TZID=${PARIS}`);
  if (start) assert.equal(ev.start.toISOString(), start.toISOString(), `${what}: starts ${ev.start.toISOString()}, want ${start.toISOString()}`);
  if (end) assert.equal(ev.end.toISOString(), end.toISOString(), `${what}: ends ${ev.end.toISOString()}, want ${end.toISOString()}`);
  if (summary) assert.match(ev.summary, summary, `${what}: summary ${ev.summary}`);
  if (uid) assert.equal(ev.uid, uid, `${what}: UID ${ev.uid}, want ${uid}`);
  assert.ok(ev.uid && ev.uid.length > 8, `${what}: no UID`);
}
