/* The database side: one libpq connection as the notifier role, which may call only the
 * notifier.* functions (sql/notifier.sql holds every rule). A claimed message's row stays
 * locked until outbox_record() commits, so no other sender can take it meanwhile. */
#ifndef NOTIFIER_OUTBOX_H
#define NOTIFIER_OUTBOX_H

#include <stdbool.h>

#include "config.h"
#include "send_result.h"

struct outbox;

/* One message as notifier.claim() made it; strings owned by the struct (outbox_message_clear). */
struct outbox_message {
	char *id, *kind, *channel, *recipient, *subject, *body, *message_key;
};

/* Connects, LISTENs on ta_outbox and says what it can send. NULL (with a message) on failure. */
struct outbox *outbox_connect(const struct config *cfg, bool email, bool sms);
void outbox_close(struct outbox *o);

/* Claims the next due message: 1 and m filled (a transaction is open), 0 when none is due (no
 * transaction left open), -1 on a database error (the connection should be remade). */
int outbox_claim(struct outbox *o, struct outbox_message *m);

/* Records the outcome of the claimed message m and commits; with next != NULL, also claims the
 * next message in the same round trip (after the COMMIT, in a new transaction). Returns 1 when
 * next was filled (its transaction is open), 0 when recorded and nothing more is due (or next is
 * NULL; no transaction left open), -1 on a database error (the connection should be remade; if
 * the record did not land, the row stays pending and will be claimed again). */
int outbox_record(struct outbox *o, const struct outbox_message *m, const struct send_result *r,
		  struct outbox_message *next);

void outbox_message_clear(struct outbox_message *m);

/* Waits until a NOTIFY arrives or the next row is due (at most 60 s) or stop is set; also says
 * hello again every minute. false on a database error. */
bool outbox_wait(struct outbox *o, volatile int *stop);

#endif
