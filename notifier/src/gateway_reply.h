/* SMSAPI.pl's answer to POST sms.do?format=json, read without a JSON library: success is
 * {"count":N,"list":[{"id":...,"status":"QUEUE",...}]}, an error {"error":13,"message":"..."}. */
#ifndef NOTIFIER_GATEWAY_REPLY_H
#define NOTIFIER_GATEWAY_REPLY_H

#include <stddef.h>

#include "send_result.h"

/* Classifies the reply (HTTP status and body) into out. Codes 11-14 (message, parts, numbers,
 * sender) are permanent; others (authorisation, points, the gateway's own trouble) are retried;
 * a body that is neither form is an error too ("nieczytelna odpowiedź"). */
void gateway_reply_classify(long http_status, const char *body, size_t len, struct send_result *out);

#endif
