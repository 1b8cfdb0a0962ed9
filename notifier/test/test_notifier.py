"""The notifier against real servers (run by run.sh, which makes the database).

Every check reads what a real server received (the aiosmtpd mailbox's files, the SMS gateway's
request log) and what the outbox recorded. Waits are bounded by a deadline and then fail; no
assertion depends on how fast anything ran.
"""
import email
import email.policy
import email.utils
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import datetime
from zoneinfo import ZoneInfo

DB = os.environ["NOTIFIER_TEST_DB"]
ROLE = os.environ["NOTIFIER_TEST_ROLE"]
OWNER = os.environ["NOTIFIER_TEST_OWNER"]
PSQL = os.path.join(os.environ["PGBIN"], "psql")
SOCK, PORT = os.environ["PGSOCK"], os.environ["DB_PORT"]
BIN = os.environ["NOTIFIER_BIN"]
WORK = os.environ["NOTIFIER_TEST_WORK"]
SMTP_PORT = int(os.environ.get("NOTIFIER_TEST_PORT", "2517"))
SMS_PORT = SMTP_PORT + 1
DEAD_PORT = SMTP_PORT + 2  # nothing listens there
TOKEN = "test-token-" + "x" * 20
HERE = os.path.dirname(os.path.abspath(__file__))
WARSAW = ZoneInfo("Europe/Warsaw")
MAILBOX = os.path.join(WORK, "mailbox")
SMS_LOG = os.path.join(WORK, "sms.jsonl")

failures = []


def check(name, ok, detail=""):
    print(("ok: " if ok else "FAILED: ") + name + ("" if ok else " -- " + str(detail)), flush=True)
    if not ok:
        failures.append(name)


def psql(sql, user="postgres"):
    r = subprocess.run([PSQL, "-X", "-qtA", "-v", "ON_ERROR_STOP=1", "-h", SOCK, "-p", PORT, "-U", user, "-d", DB],
                       input=sql, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("psql: " + r.stderr + "\n" + sql[:500])
    return r.stdout.strip()


def as_practice(practice, sql):
    """sql run through the api as the practice's therapist (as the proxy runs it)."""
    token = practice.get("token")
    if token is None:  # the database verifies a real token (ta.caller), as for the proxy's requests
        token = practice["token"] = psql("SELECT ta.issue_token(u) ->> 'access_token' FROM ta.users u WHERE u.id = %d"
                                         % int(practice["uid"]))
    return psql("SELECT set_config('request.jwt', '%s', false) \\g /dev/null\n%s" % (token, sql), user="ta_app")


def wait_until(what, cond, timeout=60, every=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(every)
    raise RuntimeError("gave up waiting (%d s) for: %s" % (timeout, what))


def register(email_address):
    out = psql("SELECT api.register(json_build_object('email', '%s', 'password', 'haslo-testowe'))" % email_address,
               user="ta_app")
    uid = json.loads(out)["id"]
    pid = int(psql("SELECT practice_id FROM ta.users WHERE id = %d" % uid))
    return {"uid": uid, "pid": pid, "email": email_address}


def settings(practice, **values):
    return json.loads(as_practice(practice, "SELECT api.update_reminder_settings('%s')" %
                                  json.dumps(values).replace("'", "''")))


def patient(practice, name, email_address=None, phone=None, consent_email=False, consent_sms=False, notes=None):
    body = {"name": name, "email": email_address, "phone": phone, "notes": notes,
            "reminder_email": consent_email, "reminder_sms": consent_sms}
    return json.loads(as_practice(practice, "SELECT api.create_patient('%s')" % json.dumps(body).replace("'", "''")))["id"]


def appointment(practice, patient_id, start, minutes=30, price=150):
    """start: an aware datetime; the appointment is booked in Warsaw time."""
    local = start.astimezone(WARSAW)
    end = local + datetime.timedelta(minutes=minutes)
    body = {"patient_id": patient_id, "date": local.strftime("%Y-%m-%d"), "start_time": local.strftime("%H:%M:%S"),
            "end_time": end.strftime("%H:%M:%S"), "price": price}
    return json.loads(as_practice(practice, "SELECT api.create_appointment('%s')" % json.dumps(body)))["id"]


SLOTS = [0]


def soon(hours=None):
    """The next free start within the coming day: 40-minute steps from 2 hours from now, none in
    Warsaw's 23:00-24:00 (a 30-minute appointment there would cross midnight)."""
    base = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)).replace(second=0, microsecond=0)
    while True:
        SLOTS[0] += 1
        t = base + datetime.timedelta(minutes=40 * SLOTS[0])
        if t.astimezone(WARSAW).hour != 23:
            return t


def outbox(where="true"):
    # ta.messages(): the outbox and the reminders still waiting on their appointments (same ids)
    rows = psql("SELECT coalesce(json_agg(o ORDER BY o.id), '[]') FROM ta.messages() o WHERE %s" % where)
    return json.loads(rows)


def reminder_of(appointment_id, channel="email"):
    rows = outbox("appointment_id = %d AND channel = '%s'" % (appointment_id, channel))
    return rows[0] if rows else None


def messages():
    """Every message the SMTP server accepted, parsed."""
    found = []
    for path in sorted(glob.glob(os.path.join(MAILBOX, "*.eml"))):
        with open(path, "rb") as f:
            raw = f.read()
        found.append((raw, email.message_from_bytes(raw, policy=email.policy.default)))
    return found


def mailbox_idle():
    with open(os.path.join(MAILBOX, ".connections")) as f:
        return f.read().strip() == "0"


def messages_to(address):
    return [(raw, m) for raw, m in messages() if m["X-Envelope-To"] == address]


def sms_requests():
    if not os.path.exists(SMS_LOG):
        return []
    with open(SMS_LOG) as f:
        return [json.loads(line) for line in f if line.strip()]


STARTED = []  # every notifier this run started, stopped on any exit (SIGTERM included)


class Notifier:
    def __init__(self, smtp_url="smtp://127.0.0.1:%d" % SMTP_PORT, sms=False, name="notifier", extra=None):
        env = {"PATH": os.environ["PATH"],
               "NOTIFIER_DATABASE_URL": "postgresql:///%s?host=%s&port=%s&user=%s" % (DB, SOCK, PORT, ROLE),
               "MAIL_FROM": "Gabinet <przypomnienia@gabinet.example.pl>", "APP_URL": "https://gabinet.example.pl/",
               "NOTIFIER_RETRY_SECONDS": "1", "NOTIFIER_SEND_TIMEOUT": "2"}
        if smtp_url:
            env["SMTP_URL"] = smtp_url
        if sms:
            env.update({"SMSAPI_TOKEN": TOKEN, "SMSAPI_URL": "http://127.0.0.1:%d/sms.do" % SMS_PORT,
                        "SMSAPI_FROM": "Gabinet"})
        env.update(extra or {})
        self.log = open(os.path.join(WORK, name + ".log"), "ab")
        self.proc = subprocess.Popen([BIN], env=env, stdout=self.log, stderr=self.log)
        STARTED.append(self.proc)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.log.close()
        return self.proc.returncode

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log.close()


def notifier_sessions():
    return int(psql("SELECT count(*) FROM pg_stat_activity WHERE usename = '%s'" % ROLE))


def no_due_pending():
    return psql("SELECT count(*) FROM ta.messages() WHERE status = 'pending' AND send_at <= now()") == "0"


def local_date_time(ts):
    t = datetime.datetime.fromisoformat(ts).astimezone(WARSAW)
    return t.strftime("%d.%m.%Y"), t.strftime("%H:%M")


# --- the tests -------------------------------------------------------------------------------

def test_message_content(practice):
    """One reminder: exactly one message, its headers and UTF-8 text as the practice wrote them."""
    name = "Gabinet „Zdrowa Głowa” — Łódź"
    subject = "Przypomnienie: wizyta {data} o {godzina} w gabinecie {gabinet}; prosimy o punktualność, dziękujemy"
    body = "Dzień dobry,\nprzypominamy o wizycie {data} o godz. {godzina}.\nZażółć gęślą jaźń.\n{gabinet}"
    settings(practice, email_enabled=True, hours_before=24, practice_name=name, email_subject=subject, email_body=body)
    pid = patient(practice, "Zofia Tajemnicza-Poufna", "zofia@example.com", consent_email=True,
                  notes="NOTATKA-POUFNA-123")
    aid = appointment(practice, pid, soon(3), price=177)
    n = Notifier(name="content")
    try:
        row = wait_until("the reminder is sent", lambda: (r := reminder_of(aid)) and r["status"] == "sent" and r)
    finally:
        n.stop()
    got = messages_to("zofia@example.com")
    check("exactly one message for one reminder", len(got) == 1, len(got))
    if not got:
        return
    raw, m = got[0]
    d, t = local_date_time(row["starts_at"])
    fill = lambda s: s.replace("{data}", d).replace("{godzina}", t).replace("{gabinet}", name)
    check("Subject decodes to the practice's template, filled in", m["Subject"] == fill(subject), m["Subject"])
    head = raw.split(b"\r\n\r\n", 1)[0]
    check("the raw header is 7-bit ASCII (RFC 2047 encoded words)", all(b < 128 for b in head))
    check("no header line over 78 characters", max(len(x) for x in head.split(b"\r\n")) <= 78)
    text = m.get_body().get_content()
    check("body decodes to the template, filled in (UTF-8 Polish letters)",
          text.replace("\r\n", "\n").strip() == fill(body), text)
    check("Content-Type is text/plain; charset=UTF-8",
          m.get_content_type() == "text/plain" and m.get_content_charset() == "utf-8", m["Content-Type"])
    check("MIME-Version 1.0", m["MIME-Version"] == "1.0")
    date = email.utils.parsedate_to_datetime(m["Date"])
    check("Date is an RFC 5322 date with a zone, of today",
          date.tzinfo is not None and abs((date - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 86400,
          m["Date"])
    check("Message-ID is <ta-reminder-ID@sender's domain>",
          m["Message-ID"] == "<ta-reminder-%d@gabinet.example.pl>" % row["id"], m["Message-ID"])
    check("From and envelope sender are MAIL_FROM",
          m["From"] == "Gabinet <przypomnienia@gabinet.example.pl>" and
          m["X-Envelope-From"] == "przypomnienia@gabinet.example.pl", (m["From"], m["X-Envelope-From"]))
    for secret in ("Zofia", "Tajemnicza", "NOTATKA", "177"):
        check("the message does not contain %r" % secret, secret not in text and secret not in m["Subject"])
    check("the outbox records sent, 1 attempt, no error",
          row["status"] == "sent" and row["attempts"] == 1 and row["last_error"] is None and row["sent_at"], row)


def test_none_when_not_wanted(practice):
    """Cancelled appointment, withdrawn consent, start passed while the notifier was away: no message."""
    p1 = patient(practice, "Anulowana", "anulowana@example.com", consent_email=True)
    a1 = appointment(practice, p1, soon(4))
    as_practice(practice, "SELECT api.delete_appointment(%d)" % a1)
    p2 = patient(practice, "Wycofana", "wycofana@example.com", consent_email=True)
    a2 = appointment(practice, p2, soon(5))
    as_practice(practice, "SELECT api.update_patient(%d, '{\"reminder_email\": false}')" % p2)
    p3 = patient(practice, "Spozniona", "spozniona@example.com", consent_email=True)
    a3 = appointment(practice, p3, soon(6))
    # As if the notifier had been down past the start: the reminder is still pending (waiting on its
    # appointment's row), its start passed.
    psql("SET session_replication_role = replica;"
         "UPDATE ta.appointments SET reminder_starts_at = now() - interval '1 minute',"
         " reminder_send_at = now() - interval '2 hours' WHERE id = %d" % a3)
    check("cancelling cancels the reminder", reminder_of(a1)["status"] == "cancelled", reminder_of(a1))
    check("withdrawing consent cancels the reminder", reminder_of(a2)["status"] == "cancelled", reminder_of(a2))
    n = Notifier(name="none")
    try:
        wait_until("nothing due is left", no_due_pending)
    finally:
        n.stop()
    for address in ("anulowana@example.com", "wycofana@example.com", "spozniona@example.com"):
        check("no message to %s" % address, not messages_to(address), len(messages_to(address)))
    r3 = reminder_of(a3)
    check("a reminder whose start passed is failed with the reason, never sent",
          r3["status"] == "failed" and "rozpoczęciem" in (r3["last_error"] or ""), r3)


def test_retry_and_refusal(practice):
    """The server refuses once (451): retried and sent once. Refuses for good (550): failed with the reason."""
    p1 = patient(practice, "Raz Odmowa", "odmowa-raz@example.com", consent_email=True)
    a1 = appointment(practice, p1, soon(7))
    p2 = patient(practice, "Zawsze Odmowa", "odmowa@example.com", consent_email=True)
    a2 = appointment(practice, p2, soon(8))
    n = Notifier(name="retry")
    try:
        r1 = wait_until("the refused-once reminder is sent", lambda: (r := reminder_of(a1)) and r["status"] == "sent" and r)
        r2 = wait_until("the refused reminder is failed", lambda: (r := reminder_of(a2)) and r["status"] == "failed" and r)
    finally:
        n.stop()
    check("refused once, then sent: 2 attempts", r1["attempts"] == 2, r1)
    check("... and exactly one message arrived", len(messages_to("odmowa-raz@example.com")) == 1)
    check("refused for good: failed after 1 attempt, SMTP 550 recorded",
          r2["attempts"] == 1 and "550" in (r2["last_error"] or ""), r2)
    check("... and nothing arrived", not messages_to("odmowa@example.com"))


def test_unreachable_server(practice):
    """No SMTP server at all: the attempt is recorded with the reason and retried; a working server then delivers."""
    p = patient(practice, "Nieosiagalny", "nieosiagalny@example.com", consent_email=True)
    a = appointment(practice, p, soon(9))
    n = Notifier(smtp_url="smtp://127.0.0.1:%d" % DEAD_PORT, name="unreachable")
    try:
        r = wait_until("a failed attempt is recorded", lambda: (r := reminder_of(a)) and r["attempts"] >= 1 and r)
    finally:
        n.stop()
    check("unreachable server: still pending, last_error says why",
          r["status"] == "pending" and "SMTP" in (r["last_error"] or ""), r)
    n = Notifier(name="reachable")
    try:
        wait_until("sent once the server is there", lambda: reminder_of(a)["status"] == "sent")
    finally:
        n.stop()
    check("... then delivered exactly once", len(messages_to("nieosiagalny@example.com")) == 1)


def test_plain_smtp_refused_off_loopback():
    """smtp:// to a host that is not this machine must use STARTTLS: refused before any message."""
    # 127.0.0.1 spelled as a name that is not loopback by its text is not trusted either; a
    # real non-loopback host cannot be reached here, so the check is on what the sender says.
    out = subprocess.run([BIN], env={"NOTIFIER_DATABASE_URL": "postgresql:///nonexistent?host=/nonexistent",
                                     "SMTP_URL": "ftp://mail.example.pl", "MAIL_FROM": "a@b.pl"},
                         capture_output=True, text=True, timeout=10)
    check("an SMTP_URL that is not smtp:// or smtps:// is refused at start", out.returncode == 2, out.stderr)


def test_database_tls_off_this_machine(practice=None):
    """A DB_HOST that is not this machine gets sslmode=require, as the proxy's: a server that answers "no TLS"
    is never sent the login in clear. DB_SSLMODE chooses another mode; one that libpq lacks is refused at start."""
    import socket
    def first_contact(extra):
        """What a fake server listening on 127.0.0.1 saw from a notifier told DB_HOST=::ffff:127.0.0.1 (loopback,
        but not by its text): b"" when the client hung up after the refused SSLRequest, else its next bytes."""
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(30)  # a deadline, then the check fails
        env = {"PATH": os.environ["PATH"], "DB_HOST": "::ffff:127.0.0.1", "DB_PORT": str(srv.getsockname()[1]),
               "DB_NAME": "therapyassistance", "DB_NOTIFIER": "ta_notifier", "DB_NOTIFIER_PASSWORD": "haslo-w-jawnym-tekscie",
               "SMTP_URL": "smtp://127.0.0.1:%d" % SMTP_PORT, "MAIL_FROM": "a@gabinet.example.pl",
               "NOTIFIER_RETRY_SECONDS": "1"}
        env.update(extra)
        log = open(os.path.join(WORK, "tls.log"), "ab")
        proc = subprocess.Popen([BIN], env=env, stdout=log, stderr=log)
        STARTED.append(proc)
        try:
            conn, _ = srv.accept()
            conn.settimeout(30)
            hello = conn.recv(8)
            conn.sendall(b"N")  # no TLS here
            rest = b""
            while b"ta_notifier" not in hello + rest:  # until the client hangs up or has named its role in clear
                chunk = conn.recv(4096)
                if not chunk:
                    break
                rest += chunk
            conn.close()
            return hello, rest
        finally:
            proc.kill()
            proc.wait(timeout=10)
            log.close()
            srv.close()
    ssl_request = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
    hello, rest = first_contact({})
    check("another machine: TLS asked for first", hello == ssl_request, hello)
    check("... and refused without TLS: the login and password never sent in clear",
          rest == b"" and b"haslo" not in rest, rest)
    hello, rest = first_contact({"DB_SSLMODE": "disable"})
    check("DB_SSLMODE=disable chooses plain text (the setting reaches libpq)", hello != ssl_request and b"ta_notifier" in hello + rest,
          hello + rest)
    out = subprocess.run([BIN], env={"DB_HOST": "db.example.pl", "DB_SSLMODE": "tak", "SMTP_URL": "smtp://127.0.0.1:1",
                                     "MAIL_FROM": "a@b.pl"}, capture_output=True, text=True, timeout=10)
    check("a DB_SSLMODE libpq lacks is refused at start", out.returncode == 2 and "DB_SSLMODE" in out.stderr, out.stderr)


def test_sms(practice):
    """SMS through the SMSAPI-like gateway: the request field by field; errors recorded."""
    settings(practice, sms_enabled=True, sms_body="Wizyta {data} o {godzina}, {gabinet}. Zażółć.",
             practice_name="Gabinet Łąka")
    ok = patient(practice, "Sms Ok", phone="600 100 200", consent_sms=True)
    bad = patient(practice, "Sms Zly", phone="500 000 013", consent_sms=True)
    once = patient(practice, "Sms Raz", phone="500000201", consent_sms=True)
    garbage = patient(practice, "Sms Smieci", phone="+48 500 000 999", consent_sms=True)
    slow = patient(practice, "Sms Wolny", phone="500000408", consent_sms=True)
    a_ok, a_bad, a_once = appointment(practice, ok, soon(10)), appointment(practice, bad, soon(10.5)), \
        appointment(practice, once, soon(11))
    a_garbage, a_slow = appointment(practice, garbage, soon(11.5)), appointment(practice, slow, soon(12))
    n = Notifier(smtp_url=None, sms=True, name="sms")
    try:
        r_ok = wait_until("SMS sent", lambda: (r := reminder_of(a_ok, "sms")) and r["status"] == "sent" and r)
        r_bad = wait_until("SMS failed", lambda: (r := reminder_of(a_bad, "sms")) and r["status"] == "failed" and r)
        r_once = wait_until("SMS retried and sent", lambda: (r := reminder_of(a_once, "sms")) and r["status"] == "sent" and r)
        r_garbage = wait_until("garbage recorded", lambda: (r := reminder_of(a_garbage, "sms")) and r["attempts"] >= 1 and r)
        r_slow = wait_until("timeout recorded", lambda: (r := reminder_of(a_slow, "sms")) and r["attempts"] >= 1 and r)
    finally:
        n.stop()
    reqs = [q for q in sms_requests() if q["fields"].get("to") == "48600100200"]
    check("one request to the gateway for one SMS", len(reqs) == 1, len(reqs))
    if reqs:
        q, f = reqs[0], reqs[0]["fields"]
        d, t = local_date_time(r_ok["starts_at"])
        check("POST /sms.do", q["method"] == "POST" and q["path"] == "/sms.do", q["path"])
        check("Authorization: Bearer SMSAPI_TOKEN", q["headers"].get("authorization") == "Bearer " + TOKEN)
        check("form-encoded body", q["headers"].get("content-type") == "application/x-www-form-urlencoded")
        check("to: the number with country code", f.get("to") == "48600100200", f)
        check("message: the template filled in, UTF-8",
              f.get("message") == "Wizyta %s o %s, Gabinet Łąka. Zażółć." % (d, t), f.get("message"))
        check("format=json, encoding=utf-8, normalize=1",
              (f.get("format"), f.get("encoding"), f.get("normalize")) == ("json", "utf-8", "1"), f)
        check("idx is the outbox id, check_idx=1", f.get("idx") == str(r_ok["id"]) and f.get("check_idx") == "1", f)
        check("from: SMSAPI_FROM", f.get("from") == "Gabinet", f)
        check("no other fields", set(f) == {"to", "message", "format", "encoding", "normalize", "idx", "check_idx", "from"}, f)
    check("error 13 (no valid number): failed at once with the gateway's reason",
          r_bad["attempts"] == 1 and "13" in (r_bad["last_error"] or ""), r_bad)
    check("error 201 once: retried, sent on the 2nd attempt", r_once["attempts"] == 2, r_once)
    check("a body that is not JSON: recorded, to be retried",
          r_garbage["status"] in ("pending", "failed") and "nieczytelna" in (r_garbage["last_error"] or ""), r_garbage)
    check("a gateway that does not answer: timeout recorded",
          r_slow["status"] in ("pending", "failed") and (r_slow["last_error"] or "").startswith("SMSAPI"), r_slow)
    # the retried ones would go on retrying: settle them so later tests see no due rows
    psql("UPDATE ta.outbox SET status = 'cancelled' WHERE channel = 'sms' AND status = 'pending'")


def test_test_message_and_password_reset(practice):
    """"Wyślij test" goes to the therapist; a password-reset link arrives and works once."""
    as_practice(practice, "SELECT api.send_test_reminder('{}')")
    psql("SELECT api.request_password_reset('{\"email\": \"%s\"}')" % practice["email"], user="ta_app")
    psql("SELECT api.request_password_reset('{\"email\": \"nikt-taki@example.com\"}')", user="ta_app")
    n = Notifier(name="reset")
    try:
        wait_until("both sent", lambda: len(messages_to(practice["email"])) >= 2 and no_due_pending())
    finally:
        n.stop()
    got = messages_to(practice["email"])
    check("two messages to the therapist (test and reset), none to an unknown address",
          len(got) == 2 and not messages_to("nikt-taki@example.com"), len(got))
    tests = [m for _, m in got if m["Subject"].startswith("[Test] ")]
    check("the test message uses the practice's template", len(tests) == 1)
    resets = [m for _, m in got if m["Subject"] == "Zmiana hasła w TherapyAssistance"]
    check("a reset message arrived", len(resets) == 1)
    if not resets:
        return
    link = re.search(r"https://gabinet\.example\.pl/reset-hasla\?token=([0-9a-f]{64})", resets[0].get_body().get_content())
    check("it holds APP_URL/reset-hasla?token=...", link is not None)
    if link:
        body = json.dumps({"token": link.group(1), "new_password": "nowe-haslo-123"})
        out = psql("SELECT api.confirm_password_reset('%s')" % body, user="ta_app")
        check("the link's token sets a new password", "Hasło zostało zmienione" in out, out)
        r = subprocess.run([PSQL, "-X", "-qtA", "-h", SOCK, "-p", PORT, "-U", "ta_app", "-d", DB, "-c",
                            "SELECT api.confirm_password_reset('%s')" % body], capture_output=True, text=True)
        check("... once", r.returncode != 0 and "już użyty" in r.stderr, r.stderr)


def many_reminders(practice, count, hours_before=72, tag="m"):
    """count reminders due now: one patient each, 20-second appointments one after another over the
    next 70 hours (none across midnight), written by one INSERT through the triggers."""
    settings(practice, email_enabled=True, hours_before=hours_before)
    claims = json.dumps({"sub": str(practice["uid"]), "pid": practice["pid"]})
    psql("""
SELECT set_config('request.jwt.claims', '%(claims)s', false) \\g /dev/null
SET ROLE %(owner)s;
WITH slots AS (
    SELECT s, row_number() OVER (ORDER BY s) AS n
      FROM generate_series(date_trunc('hour', now() AT TIME ZONE 'Europe/Warsaw') + interval '2 hours',
                           date_trunc('hour', now() AT TIME ZONE 'Europe/Warsaw') + interval '72 hours',
                           interval '20 seconds') s
     WHERE s::time < '23:59:00' LIMIT %(count)d),
p AS (
    INSERT INTO ta.patients (practice_id, name, email, reminder_email)
    SELECT %(pid)d, 'Pacjent ' || n, '%(tag)s' || n || '@example.com', true FROM generate_series(1, %(count)d) n
    RETURNING id, substr(name, 9)::int AS n)
INSERT INTO ta.appointments (practice_id, patient_id, date, start_time, end_time, price)
SELECT %(pid)d, p.id, slots.s::date, slots.s::time, (slots.s + interval '20 seconds')::time, 100
  FROM p JOIN slots USING (n);
""" % {"claims": claims, "owner": OWNER, "pid": practice["pid"], "count": count, "tag": tag})
    ids = outbox("practice_id = %d AND status = 'pending' AND kind = 'reminder'" % practice["pid"])
    return {r["id"] for r in ids}


def key_of(m):
    found = re.match(r"<ta-reminder-(\d+)@", m["Message-ID"] or "")
    return int(found.group(1)) if found else None


def test_several_senders(practice):
    """Three senders at once on 300 due reminders: each sent exactly once."""
    ids = many_reminders(practice, 300, tag="rownolegle")
    senders = [Notifier(name="parallel-%d" % i) for i in range(3)]
    try:
        wait_until("all 300 sent", lambda: psql("SELECT count(*) FROM ta.outbox WHERE id IN (%s) AND status = 'sent'"
                                                 % ",".join(map(str, ids))) == "300", timeout=120)
    finally:
        for s in senders:
            s.stop()
    keys = [key_of(m) for _, m in messages() if key_of(m) in ids]
    check("three senders: 300 reminders, 300 messages, each once", len(keys) == 300 and set(keys) == ids,
          (len(keys), len(set(keys))))


def test_sigkill_loop(practice):
    """SIGKILL in a loop while 500 reminders are due: none lost; a copy only of the one message a
    killed sender had handed over and not yet recorded, at most one per kill."""
    ids = many_reminders(practice, 500, tag="zabity")
    in_window = {}  # outbox id -> how many kills found it handed over but not recorded
    kills = 0
    deadline = time.time() + 240
    rng = random.Random(17)
    while time.time() < deadline:
        sent = psql("SELECT count(*) FROM ta.outbox WHERE id IN (%s) AND status = 'sent'" % ",".join(map(str, ids)))
        if sent == "500":
            break
        n = Notifier(name="killed")
        # kill it while it sends: after a random number of messages arrived (whatever the load)
        target = len(glob.glob(os.path.join(MAILBOX, "*.eml"))) + rng.randint(1, 25)
        wait_until("the sender gets going", lambda: len(glob.glob(os.path.join(MAILBOX, "*.eml"))) >= target
                   or n.proc.poll() is not None or psql("SELECT count(*) FROM ta.messages() WHERE id IN (%s)"
                   " AND status = 'pending'" % ",".join(map(str, ids))) == "0", timeout=60)
        time.sleep(rng.uniform(0, 0.005))
        n.kill()
        kills += 1
        # the killed session's transaction must be over, and the SMTP server done with what the
        # killed sender had sent, before the outbox and the mailbox are read
        wait_until("the killed sender's session ends", lambda: notifier_sessions() == 0)
        wait_until("the SMTP server has no client", mailbox_idle)
        recorded = {r["id"] for r in outbox("id IN (%s) AND status = 'sent'" % ",".join(map(str, ids)))}
        received = {}
        for _, m in messages():
            k = key_of(m)
            if k in ids:
                received[k] = received.get(k, 0) + 1
        window = {k for k in received if k not in recorded}
        check("kill %d: at most one message handed over but not recorded" % kills, len(window) <= 1, window)
        for k in window:
            in_window[k] = in_window.get(k, 0) + 1
    final = {}
    for _, m in messages():
        k = key_of(m)
        if k in ids:
            final[k] = final.get(k, 0) + 1
    check("SIGKILL loop: every one of the 500 reminders arrived (%d kills)" % kills, set(final) == ids,
          len(set(final)))
    extra = {k: c for k, c in final.items() if c != 1 + in_window.get(k, 0)}
    check("SIGKILL loop: each arrived exactly once, plus one copy per kill that caught it in hand "
          "(%d such kills)" % sum(in_window.values()), not extra, extra)
    check("SIGKILL loop: the sender was killed at least 5 times while reminders were due", kills >= 5, kills)


def bench(count):
    """count reminders (default 10,000) due at once, one sender: the time until all were handed to the
    SMTP server, and the sender's peak RSS. Polls the outbox every 2 s only (a poll costs CPU too)."""
    practice = register("bench@example.com")
    t0 = time.time()
    ids = many_reminders(practice, count, tag="bench")
    print("bench: %d reminders written in %.1f s" % (len(ids), time.time() - t0), flush=True)
    t0 = time.time()
    n = Notifier(name="bench")
    sent = lambda: int(psql("SELECT count(*) FROM ta.outbox WHERE status = 'sent' AND practice_id = %d" % practice["pid"]))
    try:
        wait_until("all sent", lambda: sent() >= len(ids), timeout=900, every=2)
    finally:
        elapsed = time.time() - t0
        with open("/proc/%d/status" % n.proc.pid) as f:
            status = dict(line.split(":", 1) for line in f)
        n.stop()
        done = sent()
        got = sum(1 for _, m in messages() if key_of(m) in ids)
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        print("bench: %d of %d reminders claimed, handed to the SMTP server and recorded in %.1f s (%.0f/s);"
              " notifier peak RSS %s; messages the server holds %d; load average %s"
              % (done, len(ids), elapsed, done / elapsed, status["VmHWM"].strip(), got, load), flush=True)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(MAILBOX)
    servers = [subprocess.Popen([sys.executable, os.path.join(HERE, "mailbox.py"), str(SMTP_PORT), MAILBOX],
                                stdout=subprocess.PIPE, stderr=open(os.path.join(WORK, "mailbox.log"), "w")),
               subprocess.Popen([sys.executable, os.path.join(HERE, "smsapi_gateway.py"), str(SMS_PORT), SMS_LOG, TOKEN],
                                stdout=subprocess.PIPE, stderr=open(os.path.join(WORK, "gateway.log"), "w"))]
    try:
        for s in servers:
            line = s.stdout.readline().decode()
            if "listening" not in line:
                raise RuntimeError("a test server did not start: " + line)
        if sys.argv[1:2] == ["bench"]:
            bench(int(sys.argv[2]) if len(sys.argv) > 2 else 10000)
            return 0
        if sys.argv[1:2] == ["only"]:  # run.sh only test_sigkill_loop ...: some tests, each a practice of its own
            for name in sys.argv[2:]:
                globals()[name](register(name.replace("_", "-") + "@example.com"))
            return 1 if failures else 0
        practice = register("terapeutka@example.com")
        for test in (test_message_content, test_none_when_not_wanted, test_retry_and_refusal, test_unreachable_server,
                     test_sms, test_test_message_and_password_reset):
            test(practice)
        test_plain_smtp_refused_off_loopback()
        test_database_tls_off_this_machine()
        test_several_senders(register("rownolegle@example.com"))
        test_sigkill_loop(register("zabity@example.com"))
    finally:
        for p in STARTED:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        for s in servers:
            s.terminate()
            s.wait(timeout=10)
    print("notifier: %s" % ("all checks passed" if not failures else "%d FAILED: %s" % (len(failures), ", ".join(failures))))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
