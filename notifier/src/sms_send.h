/* SMS through SMSAPI.pl's REST API (POST sms.do, bearer token) with libcurl; HTTPS required
 * except for a gateway on loopback (tests). */
#ifndef NOTIFIER_SMS_SEND_H
#define NOTIFIER_SMS_SEND_H

#include "config.h"
#include "send_result.h"

struct sms_sender;

/* NULL on allocation failure, or (with a message) when SMSAPI_URL is plain http:// off loopback. */
struct sms_sender *sms_sender_new(const struct config *cfg);
void sms_sender_free(struct sms_sender *s);

/* Sends text to number (digits with country code). idx: the outbox id, which SMSAPI keeps
 * with the message and, with check_idx, refuses to accept twice. */
void sms_send(struct sms_sender *s, const char *number, const char *text, const char *idx, struct send_result *out);

#endif
