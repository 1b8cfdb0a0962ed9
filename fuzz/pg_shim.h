/* Helpers for the extension harnesses (see pg_shim.c): text datums and V1 calls without a backend. */
#ifndef TA_FUZZ_PG_SHIM_H
#define TA_FUZZ_PG_SHIM_H

#include "postgres.h"

#include "fmgr.h"

extern const char *shim_last_numeric;
text *shim_text(const uint8_t *data, size_t len);
Datum shim_call(PGFunction fn, text *a, text *b, bool *isnull);

/* The extension's V1 functions (in extension/). */
Datum jwt_sign(PG_FUNCTION_ARGS);
Datum jwt_verify(PG_FUNCTION_ARGS);
Datum secure_equal(PG_FUNCTION_ARGS);
Datum is_email(PG_FUNCTION_ARGS);
Datum parse_date(PG_FUNCTION_ARGS);
Datum parse_time(PG_FUNCTION_ARGS);
Datum parse_money(PG_FUNCTION_ARGS);

#endif
