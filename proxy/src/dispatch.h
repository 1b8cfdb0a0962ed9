/* The handler of an admitted request's route: the api call, GET /health, the root and the embedded docs. */
#ifndef TA_DISPATCH_H
#define TA_DISPATCH_H

#include <microhttpd.h>

#include "request.h"

/* Answers the request (its body complete, admission passed) with its route's handler. */
enum MHD_Result dispatch(struct request *r, struct MHD_Connection *c);

#endif
