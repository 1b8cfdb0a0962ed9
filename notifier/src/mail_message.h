/* An RFC 5322 message with MIME UTF-8 text: what the SMTP server receives. */
#ifndef NOTIFIER_MAIL_MESSAGE_H
#define NOTIFIER_MAIL_MESSAGE_H

#include <stddef.h>
#include <time.h>

/*
 * Builds the message: Date (of now), From (mail_from as given), To, Subject as RFC 2047
 * encoded words (UTF-8, base64), Message-ID <message_key@domain of mail_from>, MIME-Version,
 * Content-Type text/plain; charset=UTF-8, base64 body (its newlines made CRLF). The
 * Message-ID stays the same if the message is ever sent again, so a mailbox can spot a copy.
 * Returns a NUL-terminated malloc'd buffer (caller frees) and its length in *len; NULL on
 * allocation failure.
 */
char *mail_message_build(const char *mail_from, const char *to, const char *subject, const char *body,
			 const char *message_key, time_t now, size_t *len);

/* The address inside mail_from ("Name <a@b>" -> "<a@b>", "a@b" -> "<a@b>"), for MAIL FROM; caller frees. */
char *mail_envelope_address(const char *mail_from);

#endif
