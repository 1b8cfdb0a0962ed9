/* The one database call of an api route: its arguments from the request, the call, and the answer. */
#ifndef TA_API_CALL_H
#define TA_API_CALL_H

#include <microhttpd.h>

#include "request.h"

/*
 * Builds the route's arguments (address, claims, id, query as JSON, body checked as a JSON object or a login form
 * turned into one), runs its statement (a GET on the replica when read_routing allows, else on the primary) and
 * answers with its JSON or its error. Bad input answers 400/422 without touching the database.
 */
enum MHD_Result api_call(struct request *r, struct MHD_Connection *c);

#endif
