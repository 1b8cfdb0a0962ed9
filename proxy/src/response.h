/* The response writer: every answer the proxy gives goes out through respond(), with the same headers. */
#ifndef TA_RESPONSE_H
#define TA_RESPONSE_H

#include <libpq-fe.h>
#include <microhttpd.h>

#include "request.h"

#define DETAIL_INTERNAL "Wewnętrzny błąd serwera"
#define DETAIL_UNAVAILABLE "Usługa chwilowo niedostępna, spróbuj ponownie"

/*
 * Adds the headers every response carries (request id, CORS, Keep-Alive, ...), records the status for the access
 * log and queues resp, or holds it in r->held while the body is still coming (r->hold). Takes resp over.
 */
enum MHD_Result respond(struct request *r, struct MHD_Connection *c, int status, struct MHD_Response *resp,
			const char *content_type);
/* Sends the answer held while the body was read. */
enum MHD_Result respond_release_held(struct request *r, struct MHD_Connection *c);
/* data must outlive the response (a literal or an embedded asset). */
enum MHD_Result respond_static(struct request *r, struct MHD_Connection *c, int status, const void *data,
			       size_t len, const char *content_type);
/* {"detail": detail}, plus "errors": [{"field", "message"}] when field is given. */
enum MHD_Result respond_detail(struct request *r, struct MHD_Connection *c, int status, const char *detail,
			       const char *field, const char *message);
/* The JSON text as the body; copied when res is NULL, else it points into res, which the response PQclears. */
enum MHD_Result respond_json(struct request *r, struct MHD_Connection *c, int status, const char *json,
			     PGresult *res);
/* An error result as the contract's status and body: the one SQLSTATE table, applied here only. */
enum MHD_Result respond_db_error(struct request *r, struct MHD_Connection *c, const PGresult *res);
/*
 * A statement's (body, response.status) row as the answer (a 2xx with the route's content_type, when it names
 * one), or its error. Takes res over (and PQclears it).
 */
enum MHD_Result respond_result(struct request *r, struct MHD_Connection *c, PGresult *res);
/* 204 to an allowed CORS preflight. */
enum MHD_Result respond_preflight(struct request *r, struct MHD_Connection *c);

#endif
