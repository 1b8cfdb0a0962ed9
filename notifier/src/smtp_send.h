/* E-mail over SMTP with libcurl: STARTTLS required (except on loopback) for smtp://, TLS from
 * the first byte for smtps://. One handle is kept, so the connection is reused between messages. */
#ifndef NOTIFIER_SMTP_SEND_H
#define NOTIFIER_SMTP_SEND_H

#include <stddef.h>

#include "config.h"
#include "send_result.h"

struct smtp_sender;

/* NULL on allocation failure. cfg must outlive the sender. */
struct smtp_sender *smtp_sender_new(const struct config *cfg);
void smtp_sender_free(struct smtp_sender *s);

/* Sends message (len bytes, a whole RFC 5322 text) to one recipient address. */
void smtp_send(struct smtp_sender *s, const char *to, const char *message, size_t len, struct send_result *out);

#endif
