/* The one PG_MODULE_MAGIC of therapyassistance.so; the functions live in one file per concern. */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
