/* What became of one attempt to hand a message over, as both senders report it. */
#ifndef NOTIFIER_SEND_RESULT_H
#define NOTIFIER_SEND_RESULT_H

enum send_outcome {
	SEND_OK,        /* the server or gateway accepted it */
	SEND_RETRY,     /* a failure that may pass (network, 4xx, gateway busy): try again later */
	SEND_PERMANENT, /* it will never go (recipient refused, number invalid): fail now */
};

struct send_result {
	enum send_outcome outcome;
	char error[512]; /* the reason, for the outbox's last_error; never holds a secret */
};

#endif
