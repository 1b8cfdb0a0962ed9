/*
 * What a request must pass before it is dispatched: CORS, its route, the schema, the size limit and its token,
 * decided from the headers alone; and its body, collected under that limit (or read and dropped while a refusal
 * waits, see request.h's hold). Every refusal is answered here, through response.c.
 */
#ifndef TA_ADMISSION_H
#define TA_ADMISSION_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "request.h"

/* The contract's limit: bigger bodies answer 413 and are never stored. */
#define ADMISSION_MAX_BODY (1024 * 1024)

/* True when the client announced a body (Content-Length above 0 or chunked). */
bool admission_body_announced(struct MHD_Connection *c);
/* True when the client waits for "100 Continue" before sending its body. */
bool admission_expects_continue(struct MHD_Connection *c);

/*
 * Decides everything that needs no body: CORS preflight, route, schema version, size limit, token. Answers when
 * one of them refuses (r->responded); returns MHD_YES without answering when the request may go on.
 */
enum MHD_Result admission_check(struct request *r, struct MHD_Connection *c, const char *url, const char *method);

/* Takes len bytes of the body: stored, or dropped while a refusal is held; answers 413 past the limit. */
enum MHD_Result admission_body_data(struct request *r, struct MHD_Connection *c, const char *data, size_t len);

/* The body is complete: r->body is set ("" when there was none). Returns -1 when out of memory. */
int admission_body_end(struct request *r);

#endif
