// The therapist's day in a real browser against the running stack (nginx → proxy → PostgreSQL):
//   BASE_URL=http://127.0.0.1:8080 npm run e2e
// Debian's chromium through playwright-core. A failed step leaves a screenshot in
// e2e-screenshots/. Every screen is checked with axe-core at 375 and 1440 px; SCREENS=1 also
// photographs each one there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// A Polish practice: the browser and this test's own dates keep Warsaw's clock, as the database's
// days do, so that a run near midnight UTC sees the same "today" everywhere.
process.env.TZ = 'Europe/Warsaw';
const BASE_URL = (process.env.BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = new URL('../e2e-screenshots/', import.meta.url).pathname;
const TIMEOUT = 10_000;
// Evaluated through the DevTools protocol: the site's CSP rightly refuses an injected <script>.
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const stamp = `${Date.now()}-${process.pid}`;
const email = `e2e-${stamp}@example.com`;
const password = 'haslo-e2e-123';
const patient = `Anna Testowa ${stamp}`;

function isoToday() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
const plDate = (iso) => iso.split('-').reverse().join('.');
function addDays(iso, days) {
  const d = new Date(`${iso}T12:00:00`);
  d.setDate(d.getDate() + days);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
const money = (text) => text.replace(/[\u00a0\u202f]/g, ' ');
/** Text as a pattern in which each space may be any space, so that "150,00 zł" finds Intl's no-break one. */
const spaced = (text) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s'));

test('a therapist registers, books, writes, gets paid and logs out', async (t) => {
  const profile = mkdtempSync(join(tmpdir(), 'ta-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    locale: 'pl-PL',
    timezoneId: 'Europe/Warsaw',
    args: ['--lang=pl', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  context.setDefaultTimeout(TIMEOUT);
  const page = context.pages()[0] ?? (await context.newPage());
  // The API docs open in a tab of their own: their CSP differs from the SPA's. Their bundles are
  // megabytes of JavaScript, which a busy machine takes a while to run.
  const docs = await context.newPage();
  docs.setDefaultTimeout(6 * TIMEOUT);
  const cspViolations = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });

  let failed = false;
  const step = (name, fn) => t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
    try {
      await fn();
    } catch (e) {
      failed = true;
      mkdirSync(SHOTS, { recursive: true });
      // A screenshot that cannot be taken must not hide the failure itself.
      await page.screenshot({ path: join(SHOTS, `${name.replace(/[^\p{L}\d]+/gu, '-')}.png`), fullPage: true })
        .catch(() => {});
      throw e;
    }
  });
  const heading = (name) => page.getByRole('heading', { level: 1, name });
  const nav = (name) => page.getByRole('navigation', { name: 'Główna' }).getByRole('link', { name, exact: true });
  const dialog = () => page.getByRole('dialog');
  const logIn = async (pass) => {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Hasło').fill(pass);
    await page.getByRole('button', { name: 'Zaloguj się' }).click();
  };
  const today = isoToday();
  /** Serious and critical axe-core findings on the page as it is now, one line each. */
  const axeProblems = async (where) => {
    await page.evaluate(AXE);
    const found = await page.evaluate(async () =>
      (await globalThis.axe.run(globalThis.document, { resultTypes: ['violations'] })).violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`));
    return found.map((f) => `${where} ${f}`);
  };
  let patientPath = '/pacjenci';
  const problems = [];
  let paymentPath = '/platnosci';

  await step('register a fresh user', async () => {
    await page.goto(`${BASE_URL}/rejestracja`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Hasło', { exact: true }).fill('krotkie');
    await page.getByLabel('Powtórz hasło').fill('krotkie');
    await page.getByRole('button', { name: 'Utwórz konto' }).click();
    await page.getByText('Hasło musi mieć co najmniej 8 znaków.').waitFor();
    await page.getByLabel('Hasło', { exact: true }).fill(password);
    await page.getByLabel('Powtórz hasło').fill(password);
    await page.getByRole('button', { name: 'Utwórz konto' }).click();
    await heading('Pulpit').waitFor();
  });

  await step('log out and log in again', async () => {
    await page.getByRole('button', { name: 'Wyloguj' }).click();
    await heading('Logowanie').waitFor();
    await logIn('zle-haslo-123');
    await page.getByRole('alert').filter({ hasText: 'Nieprawidłowy email lub hasło' }).waitFor();
    assert.equal(await page.getByLabel('Email').inputValue(), email);
    await logIn(password);
    await heading('Pulpit').waitFor();
  });

  await step('add a patient', async () => {
    await nav('Pacjenci').click();
    await page.getByRole('button', { name: 'Dodaj pacjenta' }).click();
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await dialog().getByText('Podaj imię i nazwisko.').waitFor();
    await dialog().getByLabel('Imię i nazwisko').fill(patient);
    await dialog().getByLabel('Telefon').fill('+48 600 100 200');
    await dialog().getByLabel('Email').fill(`pacjent-${stamp}@example.com`);
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await heading(patient).waitFor();
    patientPath = new URL(page.url()).pathname;
  });

  await step('book an appointment by clicking a slot', async () => {
    await nav('Kalendarz').click();
    await heading('Kalendarz wizyt').waitFor();
    await page.getByRole('button', { name: `Nowa wizyta: ${plDate(today)}, 10:00` }).click();
    await dialog().getByLabel('Pacjent').selectOption({ label: patient });
    assert.equal(await dialog().getByLabel('Koniec').inputValue(), '10:50');
    await dialog().getByLabel('Cena (zł)').fill('150');
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await page.getByRole('button', { name: `Wizyta 10:00–10:50 ${patient}` }).waitFor();
  });

  await step('see an overlapping booking refused, then book next to it', async () => {
    await page.getByRole('button', { name: 'Nowa wizyta', exact: true }).click();
    await dialog().getByLabel('Pacjent').selectOption({ label: patient });
    await dialog().getByLabel('Data').fill(today);
    await dialog().getByLabel('Początek').fill('10:30');
    await dialog().getByLabel('Koniec').fill('11:20');
    await dialog().getByLabel('Cena (zł)').fill('150');
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await dialog().getByRole('alert').filter({ hasText: 'Wizyta koliduje z inną wizytą w tym terminie' }).waitFor();
    assert.equal(await dialog().getByLabel('Początek').inputValue(), '10:30', 'what the user typed stays');
    await dialog().getByLabel('Początek').fill('11:00');
    await dialog().getByLabel('Koniec').fill('11:50');
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await page.getByRole('button', { name: `Wizyta 11:00–11:50 ${patient}` }).waitFor();
  });

  await step('move an appointment and delete it', async () => {
    await page.getByRole('button', { name: `Nowa wizyta: ${plDate(today)}, 14:00` }).click();
    await dialog().getByLabel('Pacjent').selectOption({ label: patient });
    await dialog().getByLabel('Cena (zł)').fill('150');
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await page.getByRole('button', { name: `Wizyta 14:00–14:50 ${patient}` }).click();
    await dialog().getByLabel('Początek').fill('15:00');
    await dialog().getByLabel('Koniec').fill('15:50');
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await page.getByRole('button', { name: `Wizyta 15:00–15:50 ${patient}` }).click();
    await dialog().getByRole('button', { name: 'Usuń wizytę' }).click();
    await dialog().getByRole('button', { name: 'Tak, usuń' }).click();
    await page.getByRole('button', { name: `Wizyta 15:00–15:50 ${patient}` }).waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('button', { name: new RegExp(`^Wizyta .*${patient}`) }).count(), 2);
  });

  await step('edit a patient and archive another', async () => {
    await nav('Pacjenci').click();
    await page.getByRole('button', { name: 'Dodaj pacjenta' }).click();
    await dialog().getByLabel('Imię i nazwisko').fill(`Do archiwum ${stamp}`);
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await page.getByRole('button', { name: 'Edytuj' }).click();
    await dialog().getByLabel('Email').fill('zly-adres');
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await dialog().getByText('Nieprawidłowy adres email.').waitFor();
    await dialog().getByLabel('Email').fill(`archiwum-${stamp}@example.com`);
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await page.getByText(`archiwum-${stamp}@example.com`).waitFor();
    await page.getByRole('button', { name: 'Archiwizuj' }).click();
    await dialog().getByRole('button', { name: 'Archiwizuj' }).click();
    await heading('Pacjenci').waitFor();
    await page.getByRole('link', { name: patient }).waitFor();
    assert.equal(await page.getByRole('link', { name: `Do archiwum ${stamp}` }).count(), 0);
  });

  await step('work with the keyboard alone', async () => {
    const focused = () => page.evaluate(() => {
      const el = globalThis.document.activeElement;
      return el?.labels?.[0]?.textContent ?? el?.getAttribute('aria-label') ?? el?.textContent ?? el?.tagName;
    });
    await page.goto(`${BASE_URL}/pacjenci`);
    await heading('Pacjenci').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Przejdź do treści');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => globalThis.document.activeElement?.id), 'tresc');
    await page.getByRole('button', { name: 'Dodaj pacjenta' }).focus();
    await page.keyboard.press('Enter');
    assert.equal(await focused(), 'Imię i nazwisko', 'a dialog starts at its first field');
    const order = [];
    for (let i = 0; i < 7; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await focused());
    }
    assert.deepEqual(order, ['Telefon', 'Email', 'Uwagi', 'E-mail', 'SMS', 'Anuluj', 'Zapisz']);
    // Past the last control the browser's own UI may take a turn; the page behind stays inert.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Zamknij', 'focus stays in the dialog');
    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'detached' });
    assert.equal(await focused(), 'Dodaj pacjenta', 'focus returns to what opened the dialog');
  });

  await step('write a note and edit it', async () => {
    await nav('Notatki').click();
    await page.getByLabel('Pacjent').selectOption({ label: patient });
    await page.getByLabel('Nowa notatka').fill('Pierwsza sesja: wywiad.');
    await page.getByRole('button', { name: 'Dodaj notatkę' }).click();
    const notes = page.getByRole('list', { name: 'Notatki, od najnowszej' });
    await notes.getByText('Pierwsza sesja: wywiad.').waitFor();
    assert.equal(await page.getByLabel('Nowa notatka').inputValue(), '');
    await page.getByRole('button', { name: 'Edytuj' }).click();
    await page.getByLabel('Treść notatki').fill('Pierwsza sesja: wywiad i kontrakt.');
    await page.getByRole('button', { name: 'Zapisz zmiany' }).click();
    await notes.getByText('Pierwsza sesja: wywiad i kontrakt.').waitFor();
  });

  await step("see who opened a patient's data and export it", async () => {
    await nav('Pacjenci').click();
    await page.getByRole('link', { name: patient }).click();
    const openedAt = Date.now();
    await heading(patient).waitFor();
    const history = page.getByRole('region', { name: 'Historia dostępu', exact: true });
    const views = history.getByRole('row').filter({ hasText: 'Odczyt: karta pacjenta' });
    await views.first().waitFor();
    const newest = views.first();
    const at = Date.parse(await newest.locator('time').getAttribute('datetime'));
    assert.ok(Math.abs(at - openedAt) < 30_000, `the newest view is the one just made (${new Date(at).toISOString()})`);
    assert.match(await newest.innerText(), new RegExp(`Ty \\(${email.replace(/[.+]/g, '\\$&')}\\)`));
    assert.match(await newest.innerText(), /127\.0\.0\.1/);

    const id = patientPath.split('/').pop();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Eksportuj dane pacjenta' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `pacjent-${id}-${today}.json`);
    const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.equal(exported.patient.name, patient);
    assert.deepEqual(exported.session_notes.map((n) => n.content), ['Pierwsza sesja: wywiad i kontrakt.']);
    assert.equal(exported.appointments.length, 3, 'the deleted appointment is in the export too');
    assert.ok(exported.access_log.some((e) => e.route === 'GET /patients/{id}'));
    await page.getByRole('status').filter({ hasText: `Pobrano plik pacjent-${id}-${today}.json` }).waitFor();
    await history.getByRole('row').filter({ hasText: 'Eksport: wszystkie dane pacjenta (plik)' }).waitFor();
  });

  await step('read the practice\'s access log, filtered by day and patient', async () => {
    await nav('Dziennik dostępu').click();
    await heading('Dziennik dostępu').waitFor();
    const entries = page.getByRole('region', { name: 'Wpisy dziennika' });
    const exportRow = entries.getByRole('row').filter({ hasText: 'Eksport: wszystkie dane pacjenta (plik)' });
    await exportRow.waitFor();
    await exportRow.getByRole('link', { name: patient }).click();
    await heading(patient).waitFor();
    await page.goBack();
    await heading('Dziennik dostępu').waitFor();
    await page.getByLabel('Od dnia').fill(today);
    await page.getByLabel('Do dnia').fill(today);
    await page.getByLabel('Pacjent').selectOption({ label: patient });
    await exportRow.waitFor();
    // The filtered list replaces the whole day's once it has come: every entry names the chosen patient.
    await page.waitForFunction((name) => {
      const rows = [...globalThis.document.querySelectorAll('[aria-label="Wpisy dziennika"] tbody tr')];
      return rows.length >= 5 && rows.every((r) => r.textContent.includes(name));
    }, patient);
    // Only the export of this patient's data: one kind of access.
    await page.getByLabel('Czynność').selectOption({ label: 'Eksport' });
    // Until the filtered list has come, the table may be empty, and every row of none is an export.
    await page.waitForFunction(() => {
      const rows = [...globalThis.document.querySelectorAll('[aria-label="Wpisy dziennika"] tbody tr')];
      return rows.length > 0 && rows.every((r) => r.textContent.includes('Eksport'));
    });
    const exports = await entries.getByRole('row').allInnerTexts();
    assert.equal(exports.length - 1, 1, 'one export of this patient today');
    assert.ok(exports[1].includes('Eksport: wszystkie dane pacjenta (plik)'));
    await page.getByLabel('Czynność').selectOption({ label: 'Wszystkie' });
    await page.getByLabel('Od dnia').fill(addDays(today, 1));
    await page.getByLabel('Do dnia').fill(addDays(today, 2));
    await page.getByText('Brak wpisów.').waitFor();
    await page.getByLabel('Do dnia').fill(today);
    await page.getByText('Data końcowa jest przed początkową.').waitFor();

    // A day's work is more than a page: older entries are a click away, and none is shown twice.
    await nav('Dziennik dostępu').click();
    const times = () => entries.locator('time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));
    await entries.waitFor();
    const first = await times();
    assert.equal(first.length, 50);
    const loaded = async () => {
      await page.getByText('Wczytywanie…').waitFor({ state: 'detached' });
      await entries.waitFor();
    };
    await page.getByRole('button', { name: 'Starsze' }).press('Enter');
    await page.getByText('Strona 2', { exact: true }).waitFor();
    await loaded();
    const second = await times();
    assert.ok(second.length > 0);
    assert.ok(Date.parse(second[0]) <= Date.parse(first.at(-1)), 'page 2 starts where page 1 ended');
    assert.equal(await page.evaluate(() => globalThis.document.activeElement?.textContent), 'Starsze →',
      'the keyboard focus stays on the button');
    await page.getByRole('button', { name: 'Nowsze' }).click();
    await page.getByText('Strona 1', { exact: true }).waitFor();
    await loaded();
    assert.equal((await times())[0], first[0]);
  });

  await step('record a payment for both appointments and see them paid', async () => {
    await nav('Płatności').click();
    await page.getByRole('button', { name: 'Nowa płatność' }).click();
    await dialog().getByLabel('Pacjent').selectOption({ label: patient });
    const boxes = dialog().getByRole('checkbox');
    await boxes.nth(1).waitFor();
    assert.equal(await boxes.count(), 2);
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    assert.equal(await dialog().getByLabel('Kwota (zł)').inputValue(), '300,00', 'amount prefilled as the sum');
    await dialog().getByLabel('Forma płatności').selectOption('CASH');
    await dialog().getByRole('button', { name: 'Zapisz płatność' }).click();
    await heading(`Płatność z ${plDate(today)}`).waitFor();
    paymentPath = new URL(page.url()).pathname;
    const paid = page.getByRole('region', { name: 'Opłacone wizyty' }).getByText('opłacona', { exact: true });
    await paid.nth(1).waitFor();
    assert.equal(await paid.count(), 2);
    await nav('Kalendarz').click();
    await page.getByRole('button', { name: `Wizyta 10:00–10:50 ${patient} (opłacona)` }).waitFor();
    await page.getByRole('button', { name: `Wizyta 11:00–11:50 ${patient} (opłacona)` }).waitFor();
  });

  await step('filter the payments and check the statistics', async () => {
    await nav('Płatności').click();
    await page.getByRole('row').filter({ hasText: patient }).waitFor();
    await page.getByLabel('Forma płatności').selectOption('TRANSFER');
    await page.getByText('Brak płatności.').waitFor();
    await page.getByLabel('Forma płatności').selectOption('CASH');
    await page.getByRole('row').filter({ hasText: patient }).waitFor();
    await page.getByText('Strona 1 z 1 · razem 1').waitFor();
    await page.getByRole('link', { name: 'Statystyki' }).click();
    await heading('Statystyki płatności').waitFor();
    const total = page.locator('dt', { hasText: 'Razem' }).locator('xpath=following-sibling::dd[1]');
    await total.waitFor();
    assert.equal(money(await total.innerText()), '300,00 zł');
    const cash = page.locator('dt', { hasText: 'Gotówka' }).locator('xpath=following-sibling::dd');
    assert.deepEqual((await cash.allInnerTexts()).map(money), ['300,00 zł', 'Płatności: 1']);
  });

  const tomorrow = addDays(today, 1);
  const yesterday = addDays(today, -1);
  const toast = () => page.getByRole('status').filter({ has: page.getByRole('button', { name: 'Zamknij powiadomienie' }) });
  const visits = () => page.getByRole('region', { name: /^Lista wizyt/ });
  /** Books a visit from the visits list's "Nowa wizyta". */
  const bookFromList = async (date, start, end, price) => {
    await page.getByRole('button', { name: 'Nowa wizyta', exact: true }).click();
    await dialog().getByLabel('Pacjent').selectOption({ label: patient });
    await dialog().getByLabel('Data').fill(date);
    await dialog().getByLabel('Początek').fill(start);
    await dialog().getByLabel('Koniec').fill(end);
    await dialog().getByLabel('Cena (zł)').fill(price);
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await dialog().waitFor({ state: 'detached' });
  };

  await step('a phone opens the calendar on one day, with prices', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${BASE_URL}/kalendarz`);
    await heading('Kalendarz wizyt').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Dzień', exact: true }).getAttribute('aria-pressed'), 'true');
    await page.getByText(spaced('Wizyty: 2 · razem 300,00 zł')).waitFor();
    await page.getByRole('button', { name: new RegExp(`^Wizyta 10:00–10:50 ${patient} \\(opłacona\\)\\s150,00\\szł$`) }).waitFor();
    await page.getByRole('button', { name: 'Następny dzień' }).click();
    await page.getByText('Tego dnia nie ma wizyt.').waitFor();
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(`${BASE_URL}/kalendarz`);
    assert.equal(await page.getByRole('button', { name: 'Tydzień', exact: true }).getAttribute('aria-pressed'), 'true',
      'a wide screen opens on the week');
    const block = page.getByRole('button', { name: new RegExp(`^Wizyta 11:00–11:50 ${patient}`) });
    assert.match(money(await block.innerText()), /150,00 zł/, 'the price is on the appointment itself');
  });

  await step('count the visits, filter them and pay one with one click on a phone', async () => {
    await nav('Wizyty').click();
    await heading('Wizyty').waitFor();
    const figure = (label) => page.getByRole('region', { name: 'Liczby wizyt' }).locator('dt', { hasText: new RegExp(`^${label}$`) })
      .locator('xpath=following-sibling::dd[1]');
    await page.getByRole('button', { name: 'Wszystkie', exact: true }).first().click();
    await page.getByLabel('Pacjent').selectOption({ label: patient });
    await visits().getByRole('listitem').nth(1).waitFor();
    assert.equal(await figure('Dziś').innerText(), '2');
    await bookFromList(tomorrow, '12:00', '12:50', '200');
    await bookFromList(yesterday, '12:00', '12:50', '100');
    await visits().getByRole('heading', { name: 'Lista wizyt (4)' }).waitFor();
    assert.equal(await figure('Dziś').innerText(), '2');
    assert.equal(await figure('Opłacone').innerText(), '2');
    assert.equal(await figure('Nieopłacone').innerText(), '2');
    assert.equal(money(await figure('Nieopłacone').locator('xpath=following-sibling::dd[1]').innerText()), '300,00 zł');
    await page.getByRole('button', { name: 'Nieopłacone', exact: true }).click();
    await visits().getByRole('heading', { name: 'Lista wizyt (2)' }).waitFor();
    assert.ok((await visits().getByRole('listitem').allInnerTexts()).every((r) => r.includes('nieopłacona')));

    await page.setViewportSize({ width: 375, height: 800 });
    await visits().getByRole('button', { name: `Opłać wizytę ${plDate(tomorrow)}, 12:00, ${patient}` }).click();
    await dialog().getByRole('heading', { name: 'Opłać wizytę' }).waitFor();
    assert.equal(money(await dialog().locator('dt', { hasText: 'Kwota' }).locator('xpath=following-sibling::dd[1]').innerText()),
      '200,00 zł', 'the amount is the price');
    assert.equal(await dialog().getByLabel('Opis').inputValue(), `Płatność za wizytę ${plDate(tomorrow)}`);
    await dialog().getByLabel('Przelew').check();
    await dialog().getByRole('button', { name: 'Potwierdź płatność' }).click();
    await toast().filter({ hasText: spaced('Zapisano płatność 200,00 zł.') }).waitFor();
    await visits().getByRole('heading', { name: 'Lista wizyt (1)' }).waitFor();
    await visits().getByText(`${plDate(yesterday)}, 12:00–12:50`).waitFor();
    await page.setViewportSize({ width: 1440, height: 900 });
    await nav('Płatności').click();
    const row = page.getByRole('row').filter({ hasText: `Płatność za wizytę ${plDate(tomorrow)}` });
    await row.waitFor();
    assert.match(money(await row.innerText()), /200,00 zł\s+Przelew\s+1/);
  });

  await step('write a note from a visit, and attach an existing one in the visit dialog', async () => {
    await page.goto(`${BASE_URL}/wizyty?okres=dzis`);
    const when10 = `wizyta ${plDate(today)}, 10:00, ${patient}`;
    await visits().getByRole('button', { name: `Dodaj notatkę: ${when10}` }).click();
    await dialog().getByRole('heading', { name: 'Nowa notatka z wizyty' }).waitFor();
    await dialog().getByRole('button', { name: 'Zapisz notatkę' }).click();
    await dialog().getByText('Notatka nie może być pusta.').waitFor();
    await dialog().getByLabel('Treść notatki').fill('Druga sesja: praca z dziennikiem.');
    await dialog().getByRole('button', { name: 'Zapisz notatkę' }).click();
    await toast().filter({ hasText: 'Notatka została zapisana i przypisana do wizyty.' }).waitFor();
    await visits().getByRole('button', { name: `Notatka: ${when10}` }).click();
    await dialog().getByRole('heading', { name: 'Notatka z wizyty' }).waitFor();
    assert.equal(await dialog().getByLabel('Treść notatki').inputValue(), 'Druga sesja: praca z dziennikiem.');
    await dialog().getByLabel('Treść notatki').fill('Druga sesja: praca z dziennikiem myśli.');
    await dialog().getByRole('button', { name: 'Zapisz notatkę' }).click();
    await toast().filter({ hasText: 'Zapisano zmiany w notatce.' }).waitFor();

    await visits().getByRole('button', { name: `Edytuj wizytę ${plDate(today)}, 11:00, ${patient}` }).click();
    const pick = dialog().getByLabel('Notatka z sesji');
    await pick.locator('option', { hasText: 'Pierwsza sesja: wywiad i kontrakt.' }).waitFor({ state: 'attached' });
    await pick.selectOption({ label: await pick.locator('option', { hasText: 'Pierwsza sesja' }).innerText() });
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await dialog().waitFor({ state: 'detached' });
    await visits().getByRole('button', { name: `Notatka: wizyta ${plDate(today)}, 11:00, ${patient}` }).click();
    await dialog().getByLabel('Treść notatki').waitFor();
    assert.equal(await dialog().getByLabel('Treść notatki').inputValue(), 'Pierwsza sesja: wywiad i kontrakt.');
    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'detached' });
    // The notes screen still has both notes: linking moves nothing.
    await page.goto(`${BASE_URL}/notatki?pacjent=${patientPath.split('/').pop()}`);
    const notes = page.getByRole('list', { name: 'Notatki, od najnowszej' });
    await notes.getByText('Druga sesja: praca z dziennikiem myśli.').waitFor();
    await notes.getByText('Pierwsza sesja: wywiad i kontrakt.').waitFor();
  });

  await step("the patient's card: totals, visits to come and past ones, and a payment from it", async () => {
    await page.goto(`${BASE_URL}${patientPath}`);
    await heading(patient).waitFor();
    const figure = (label) => page.getByRole('region', { name: 'Podsumowanie' }).locator('dt', { hasText: new RegExp(`^${label}$`) })
      .locator('xpath=following-sibling::dd');
    await figure('Nieopłacone wizyty').first().waitFor();
    assert.deepEqual((await figure('Opłacone wizyty').allInnerTexts()).map(money), ['3', '500,00 zł · z 4 wizyt']);
    assert.deepEqual((await figure('Nieopłacone wizyty').allInnerTexts()).map(money), ['1', '100,00 zł do opłacenia']);
    const upcoming = page.getByRole('region', { name: 'Nadchodzące wizyty' });
    const past = page.getByRole('region', { name: 'Historia wizyt' });
    await upcoming.getByText(`${plDate(tomorrow)}, 12:00–12:50`).waitFor();
    await past.getByText(`${plDate(yesterday)}, 12:00–12:50`).waitFor();
    assert.equal(await upcoming.getByText(plDate(yesterday)).count(), 0);
    assert.equal(await past.getByText(plDate(tomorrow)).count(), 0);
    assert.equal(await page.getByRole('link', { name: '+48 600 100 200' }).getAttribute('href'), 'tel:+48600100200');

    await page.getByRole('button', { name: 'Dodaj płatność' }).click();
    assert.equal(await dialog().getByLabel('Pacjent').inputValue(), patientPath.split('/').pop(), 'the patient is chosen');
    const box = dialog().getByRole('checkbox');
    await box.waitFor();
    assert.equal(await box.count(), 1);
    await box.check();
    const amount = dialog().getByLabel('Kwota (zł)');
    assert.equal(await amount.inputValue(), '100,00');
    await dialog().getByText('Kwota pokrywa sumę cen wizyt.').waitFor();
    await amount.fill('90');
    await dialog().getByText(spaced('Brakuje 10,00 zł do sumy cen wizyt.')).waitFor();
    await amount.fill('150');
    await dialog().getByText(spaced('Nadpłata: 50,00 zł (ponad 20% sumy cen wizyt).')).waitFor();
    await dialog().getByRole('button', { name: 'Zapisz płatność' }).click();
    const ask = dialog().getByRole('alertdialog');
    await ask.getByText('o ponad 20% wyższa niż suma cen wybranych wizyt').waitFor();
    await ask.getByRole('button', { name: 'Popraw kwotę' }).click();
    assert.equal(await page.evaluate(() => globalThis.document.activeElement?.getAttribute('name')), 'amount');
    await amount.fill('120');
    await dialog().getByText(spaced('Nadpłata: 20,00 zł.')).waitFor();
    await dialog().getByRole('button', { name: 'Zapisz płatność' }).click();
    await toast().filter({ hasText: spaced('Zapisano płatność 120,00 zł.') }).waitFor();
    await figure('Płatności').getByText('Liczba płatności: 3').waitFor();
    assert.equal(money(await figure('Płatności').first().innerText()), '620,00 zł');
    assert.equal(await figure('Nieopłacone wizyty').first().innerText(), '0');
  });

  await step("a payment's page sets the visits' sum against the amount and links the patient's contacts", async () => {
    await page.getByRole('region', { name: 'Płatności' }).getByRole('row').filter({ hasText: '120,00' })
      .getByRole('link').click();
    await heading(`Płatność z ${plDate(today)}`).waitFor();
    const settled = page.getByRole('region', { name: 'Rozliczenie' });
    const value = (label) => settled.locator('dt', { hasText: label }).locator('xpath=following-sibling::dd[1]').innerText();
    assert.equal(money(await value('Suma cen wizyt')), '100,00 zł');
    assert.equal(money(await value('Kwota płatności')), '120,00 zł');
    assert.equal(money(await value('Nadpłata')), '20,00 zł');
    assert.equal(await page.getByRole('link', { name: `pacjent-${stamp}@example.com` }).getAttribute('href'),
      `mailto:pacjent-${stamp}@example.com`);
    assert.equal(await page.getByRole('link', { name: '+48 600 100 200' }).getAttribute('href'), 'tel:+48600100200');
  });

  await step('delete a payment from the payments list on a phone', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await nav('Płatności').click();
    await page.getByText('razem 3').waitFor();
    await page.getByRole('button', { name: `Usuń płatność z ${plDate(today)}, 120,00 zł, ${patient}` }).click();
    await dialog().getByText('Jej wizyty znów będą nieopłacone.').waitFor();
    await dialog().getByRole('button', { name: 'Usuń' }).click();
    await toast().filter({ hasText: 'Płatność została usunięta, wizyty oznaczone jako nieopłacone' }).waitFor();
    await page.getByText('razem 2').waitFor();
    assert.equal(await page.getByRole('row').filter({ hasText: '120,00' }).count(), 0);
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  await step('book a weekly series with a holiday skipped, change this and following, cancel one', async () => {
    await nav('Kalendarz').click();
    await page.getByRole('button', { name: 'Nowa wizyta', exact: true }).click();
    await dialog().getByLabel('Pacjent').selectOption({ label: patient });
    await dialog().getByLabel('Data').fill('2027-04-26');
    await dialog().getByLabel('Początek').fill('16:00');
    await dialog().getByLabel('Koniec').fill('16:50');
    await dialog().getByLabel('Cena (zł)').fill('150');
    await dialog().getByLabel('Powtarzaj (seria wizyt)').check();
    await dialog().getByLabel('Liczba wizyt').fill('3');
    const dates = dialog().getByRole('region', { name: 'Terminy serii' });
    await dates.getByText('Pominięte święta: 03.05.2027 (Święto Konstytucji 3 Maja)').waitFor();
    assert.deepEqual(await dates.getByRole('listitem').allInnerTexts(), ['26.04.2027', '10.05.2027', '17.05.2027']);
    problems.push(...await axeProblems('series dialog'));
    await dialog().getByRole('button', { name: 'Zarezerwuj serię (3)' }).click();
    await dialog().waitFor({ state: 'detached' });
    await page.goto(`${BASE_URL}/kalendarz?data=2027-05-10`);
    await page.getByRole('button', { name: `Wizyta 16:00–16:50 ${patient}` }).click();
    await dialog().getByLabel('tę i następne').check();
    await dialog().getByLabel('Początek').fill('17:00');
    await dialog().getByLabel('Koniec').fill('17:50');
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await page.getByRole('button', { name: `Wizyta 17:00–17:50 ${patient}` }).click();
    await dialog().getByRole('group', { name: 'Status wizyty' }).getByRole('button', { name: 'Odwołana przeze mnie' }).click();
    await page.getByRole('button', { name: `Wizyta 17:00–17:50 ${patient} (odwołana przeze mnie)` }).waitFor();
    await page.goto(`${BASE_URL}/kalendarz?data=2027-05-17`);
    await page.getByRole('button', { name: new RegExp(`^Wizyta 17:00–17:50 ${patient}\\s150,00\\szł$`) }).waitFor();
    await page.goto(`${BASE_URL}/kalendarz?data=2027-04-26`);
    await page.getByRole('button', { name: new RegExp(`^Wizyta 16:00–16:50 ${patient}\\s150,00\\szł$`) }).waitFor();
  });

  await step('mark sessions held and cancelled late, and see what is due', async () => {
    await nav('Kalendarz').click();
    await page.getByRole('button', { name: `Wizyta 10:00–10:50 ${patient} (opłacona)` }).click();
    await dialog().getByRole('group', { name: 'Status wizyty' }).getByRole('button', { name: 'Odbyta' }).click();
    await page.getByRole('button', { name: `Wizyta 10:00–10:50 ${patient} (opłacona) (odbyta)` }).waitFor();
    // Today's 11:00 is less than 24 hours away (or past): the patient's cancellation is late, and stays paid.
    await page.getByRole('button', { name: `Wizyta 11:00–11:50 ${patient} (opłacona)` }).click();
    await dialog().getByRole('group', { name: 'Status wizyty' }).getByRole('button', { name: 'Odwołana przez pacjenta' }).click();
    await page.getByRole('button', { name: `Wizyta 11:00–11:50 ${patient} (opłacona) (odwołana przez pacjenta)` }).click();
    await dialog().getByText('późne odwołanie (płatne)').waitFor();
    await page.keyboard.press('Escape');
    await page.goto(`${BASE_URL}/platnosci/statystyki`);
    const late = page.locator('dt', { hasText: 'Należne za późne odwołania' }).locator('xpath=following-sibling::dd[1]');
    assert.equal(money(await late.innerText()), '150,00 zł');
  });

  await step('set the late-cancellation window and subscribe to the calendar feed', async () => {
    await nav('Ustawienia').click();
    await heading('Ustawienia').waitFor();
    await page.getByLabel('Godzin przed wizytą').fill('200');
    await page.getByRole('button', { name: 'Zapisz' }).click();
    await page.getByRole('alert').filter({ hasText: 'Parametr late_cancel_hours musi być liczbą całkowitą od 0 do 168' }).waitFor();
    await page.getByLabel('Godzin przed wizytą').fill('48');
    await page.getByRole('button', { name: 'Zapisz' }).click();
    await page.getByRole('status').filter({ hasText: 'Zapisano.' }).waitFor();
    await page.getByRole('button', { name: 'Utwórz link' }).click();
    const link = page.getByLabel('Link do kalendarza');
    await link.waitFor();
    const url = await link.inputValue();
    assert.match(url, /\/calendar\/[A-Za-z0-9_-]{43}\.ics$/);
    const feed = await page.request.get(url);
    assert.equal(feed.status(), 200);
    assert.equal(feed.headers()['content-type'], 'text/calendar; charset=utf-8');
    const ics = await feed.text();
    assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
    assert.match(ics, /SUMMARY:A\. T\.\r\n/);
    assert.ok(!ics.includes('Testowa') && !/zł|PLN/.test(ics), 'no name or price in the feed');
    await page.getByRole('button', { name: 'Nowy link' }).click();
    await page.waitForFunction((old) => globalThis.document.querySelector('input[readonly]')?.value !== old, url);
    assert.equal((await page.request.get(url)).status(), 404, 'the old link stops working');
    const second = await link.inputValue();
    await page.getByRole('button', { name: 'Wyłącz' }).click();
    await page.getByRole('button', { name: 'Utwórz link' }).waitFor();
    assert.equal((await page.request.get(second)).status(), 404);
  });

  await step('every screen passes axe at 375 and 1440 px', async () => {
    const dir = join(SHOTS, 'screens');
    if (process.env.SCREENS) mkdirSync(dir, { recursive: true });
    const routes = ['/', '/pacjenci', patientPath, '/kalendarz', '/kalendarz?widok=dzien', '/kalendarz?widok=miesiac',
      '/wizyty', '/wizyty?okres=wszystkie&status=nieoplacone',
      `/notatki?pacjent=${patientPath.split('/').pop()}`, '/platnosci', paymentPath, '/platnosci/statystyki',
      '/dziennik', '/ustawienia'];
    for (const width of [375, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      for (const route of routes) {
        await page.goto(`${BASE_URL}${route}`);
        await page.getByRole('heading', { level: 1 }).waitFor();
        await page.waitForLoadState('networkidle');
        problems.push(...await axeProblems(`${width}px ${route}`));
        if (process.env.SCREENS) {
          await page.screenshot({ path: join(dir, `${width}${route.replace(/[/?=]+/g, '-')}.png`), fullPage: true });
        }
      }
    }
    // The dialogs of the new actions, at both widths: open, check, close with Escape.
    const checkDialog = async (where, open) => {
      await open();
      await dialog().getByRole('button').first().waitFor();
      await page.waitForLoadState('networkidle');
      problems.push(...await axeProblems(where));
      await page.keyboard.press('Escape');
      await dialog().waitFor({ state: 'detached' });
    };
    for (const width of [375, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${BASE_URL}/kalendarz?widok=tydzien&data=${today}`);
      await checkDialog(`${width}px appointment dialog`, () =>
        page.getByRole('button', { name: new RegExp(`^Wizyta .*${patient}`) }).first().click());
      await page.goto(`${BASE_URL}/wizyty?okres=wszystkie`);
      await checkDialog(`${width}px "Opłać" dialog`, () =>
        visits().getByRole('button', { name: `Opłać wizytę ${plDate(yesterday)}, 12:00, ${patient}` }).click());
      await checkDialog(`${width}px note of a visit`, () =>
        visits().getByRole('button', { name: `Notatka: wizyta ${plDate(today)}, 10:00, ${patient}` }).click());
      await page.goto(`${BASE_URL}${patientPath}`);
      await checkDialog(`${width}px payment form asking about a large overpayment`, async () => {
        await page.getByRole('button', { name: 'Dodaj płatność' }).click();
        await dialog().getByRole('checkbox').first().check();
        await dialog().getByLabel('Kwota (zł)').fill('1000');
        await dialog().getByRole('button', { name: 'Zapisz płatność' }).click();
        await dialog().getByRole('alertdialog').waitFor();
      });
    }
    await page.setViewportSize({ width: 1440, height: 900 });
    assert.deepEqual(problems, []);
  });

  await step('the API docs, Swagger UI at /docs and ReDoc at /redoc, load nothing from elsewhere', async () => {
    const origin = new URL(BASE_URL).origin;
    const operation = {
      '/api/docs': () => docs.getByText('Get a patient', { exact: true }),
      '/api/redoc': () => docs.getByRole('heading', { name: 'Get a patient' }),
    };
    for (const [path, shows] of Object.entries(operation)) {
      const outside = [];
      const errors = [];
      docs.on('request', (r) => {
        if (!r.url().startsWith(origin) && !/^(blob|data):/.test(r.url())) outside.push(r);
      });
      docs.on('pageerror', (e) => errors.push(e.message));
      await docs.goto(`${BASE_URL}${path}`, { timeout: 6 * TIMEOUT });
      await docs.getByRole('heading', { name: /TherapyAssistance API/ }).first().waitFor();
      await shows().first().waitFor();
      await docs.waitForLoadState('networkidle');
      // ReDoc shows Redocly's logo from their CDN; the page's CSP refuses it before it leaves.
      const refused = await Promise.all(outside.map(async (r) => (await r.response()) === null && r.failure()?.errorText));
      assert.deepEqual(refused.filter((why) => why !== 'csp'), [], `${path}: nothing fetched from outside`);
      assert.deepEqual(errors, [], `${path}: no script error`);
      docs.removeAllListeners('request');
      docs.removeAllListeners('pageerror');
    }
  });

  await step('an expired session returns to the login screen with a message', async () => {
    await page.evaluate(() => localStorage.setItem('token', 'expired.or.revoked'));
    await page.goto(`${BASE_URL}/pacjenci`);
    await heading('Logowanie').waitFor();
    await page.getByRole('status').filter({ hasText: 'Sesja wygasła. Zaloguj się ponownie.' }).waitFor();
    await logIn(password);
    await heading('Pacjenci').waitFor();
  });

  await step('log out', async () => {
    await page.getByRole('button', { name: 'Wyloguj' }).click();
    await heading('Logowanie').waitFor();
    await page.goto(`${BASE_URL}/platnosci`);
    await heading('Logowanie').waitFor();
    const problems = await axeProblems('/logowanie');
    await page.getByRole('link', { name: 'Zarejestruj się' }).click();
    await heading('Rejestracja').waitFor();
    problems.push(...await axeProblems('/rejestracja'));
    assert.deepEqual(problems, []);
    assert.deepEqual(cspViolations, [], 'the page broke no Content-Security-Policy rule');
  });

  // Needs POST /patients/{id}/restore in the API (issue 14, item 1).
  // Last, so that until the API has the route only this step fails. It logs in again after "log out".
  await step('archive a patient and undo it with "Cofnij" on a phone', async () => {
    await page.goto(`${BASE_URL}/logowanie`);
    await logIn(password);
    await heading('Pulpit').waitFor();
    await page.setViewportSize({ width: 375, height: 800 });
    const name = `Do cofnięcia ${stamp}`;
    await nav('Pacjenci').click();
    await page.getByRole('button', { name: 'Dodaj pacjenta' }).click();
    await dialog().getByLabel('Imię i nazwisko').fill(name);
    await dialog().getByRole('button', { name: 'Zapisz' }).click();
    await heading(name).waitFor();
    const path = new URL(page.url()).pathname;
    await page.getByLabel('Nowa notatka').fill('Notatka, która wróci z pacjentem.');
    await page.getByRole('button', { name: 'Dodaj notatkę' }).click();
    await page.getByRole('list', { name: 'Notatki, od najnowszej' }).getByText('Notatka, która wróci z pacjentem.').waitFor();
    await page.getByRole('button', { name: 'Archiwizuj' }).click();
    await dialog().getByRole('button', { name: 'Archiwizuj' }).click();
    await heading('Pacjenci').waitFor();
    await toast().filter({ hasText: `Zarchiwizowano pacjenta ${name}.` }).waitFor();
    await page.getByRole('link', { name: patient }).waitFor();
    assert.equal(await page.getByRole('link', { name }).count(), 0, 'the archived patient left the list');
    const problems = await axeProblems('375px toast with "Cofnij"');
    await toast().getByRole('button', { name: 'Cofnij' }).click();
    await toast().filter({ hasText: `Przywrócono pacjenta ${name} z wizytami, notatkami i płatnościami.` }).waitFor();
    await heading(name).waitFor();
    assert.equal(new URL(page.url()).pathname, path);
    await page.getByRole('list', { name: 'Notatki, od najnowszej' }).getByText('Notatka, która wróci z pacjentem.').waitFor();
    await nav('Pacjenci').click();
    await page.getByRole('link', { name }).waitFor();
    await page.setViewportSize({ width: 1440, height: 900 });
    assert.deepEqual(problems, []);
  });
});
