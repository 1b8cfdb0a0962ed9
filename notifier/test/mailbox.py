"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts as a file.

    mailbox.py PORT DIR

Each accepted message is written to DIR/<n>.eml (and renamed into place) before the server answers
250, so a message the notifier saw accepted is always there for the test to read. Not fsynced: the
tests kill the notifier, never this machine, and an fsync per message made this server, not the
notifier, the bench's bottleneck (78 messages/s under this VM's load vs 265/s without). DIR/.connections holds the number of
client connections not yet handled to the end: 0 once a killed client's last bytes were handled, which is
when the test may count what arrived. Recipients steer the server:
  odmowa@...          refused for good at RCPT (550)
  odmowa-raz@...      refused once at DATA (451), accepted from the second attempt on
"""
import asyncio
import os
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.Lock()
        self.count = len(os.listdir(folder))
        self.refused_once = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("odmowa@"):
            return "550 5.1.1 Skrzynka nie istnieje"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            if rcpt.lower().startswith("odmowa-raz@") and rcpt not in self.refused_once:
                self.refused_once.add(rcpt)
                return "451 4.3.0 Chwilowy problem, sprobuj pozniej"
        with self.lock:
            self.count += 1
            name = os.path.join(self.folder, "%06d.eml" % self.count)
        tmp = name + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content if envelope.original_content is not None else envelope.content)
        os.rename(tmp, name)
        return "250 2.0.0 Przyjeto"


class CountingSMTP(SMTP):
    """Keeps DIR/.connections up to date (written before the change is visible to anyone)."""
    open_connections = 0
    folder = None

    @classmethod
    def publish(cls):
        tmp = os.path.join(cls.folder, ".connections.tmp")
        with open(tmp, "w") as f:
            f.write(str(cls.open_connections))
        os.rename(tmp, os.path.join(cls.folder, ".connections"))

    def connection_made(self, transport):
        CountingSMTP.open_connections += 1
        CountingSMTP.publish()
        super().connection_made(transport)

    async def _handle_client(self):
        # ends when the client's last command was handled (or the task was cancelled at EOF):
        # only then is what it sent on disk or gone for good
        try:
            await super()._handle_client()
        finally:
            CountingSMTP.open_connections -= 1
            CountingSMTP.publish()


class CountingController(Controller):
    def factory(self):
        return CountingSMTP(self.handler, **self.SMTP_kwargs)


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    CountingSMTP.folder = folder
    CountingSMTP.publish()
    # a fixed name: the default looks the host's name up for every connection
    controller = CountingController(Handler(folder), hostname="127.0.0.1", port=port, server_hostname="mailbox.test")
    controller.start()
    print("mailbox: listening on 127.0.0.1:%d" % port, flush=True)
    try:
        asyncio.get_event_loop().run_until_complete(asyncio.Event().wait())
    except (KeyboardInterrupt, RuntimeError):
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
