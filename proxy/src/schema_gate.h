/*
 * The schema version the proxy needs (therapyassistance.control's default_version, compiled in as
 * TA_SCHEMA_VERSION) against the one the database has (api.schema_version(); a 1.0 schema lacks it). Checked on
 * every new database connection; on an older schema every route answers 503 naming both and the upgrade.
 */
#ifndef TA_SCHEMA_GATE_H
#define TA_SCHEMA_GATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* How long an old schema is believed before a request checks again (an upgrade needs no proxy restart). */
#define SCHEMA_RECHECK_MS 1000

enum schema_state {
	SCHEMA_UNKNOWN,   /* no connection checked yet */
	SCHEMA_CURRENT,   /* the installed version is the required one or newer */
	SCHEMA_OLD,       /* older than required: nothing but /health answers, and it 503 */
};

struct schema_gate;

/* A gate requiring version required ("1.1"). Returns NULL when out of memory. */
struct schema_gate *schema_gate_create(const char *required);
void schema_gate_destroy(struct schema_gate *gate);

/*
 * db_pool_on_open's hook: asks pg for api.schema_version() (undefined_function: "1.0") and records the answer.
 * Returns 0 when the schema is current; -1 (the connection is closed again) when it is old or could not be
 * asked, so that no statement runs on an old schema.
 */
int schema_gate_check(PGconn *pg, void *gate);

/*
 * The state now. SCHEMA_OLD only while the last check is under SCHEMA_RECHECK_MS old: after that the caller
 * lets a connection be opened (and so checked) again. installed (len bytes; NULL: not
 * wanted, and a current schema is then told without a lock) gets the version last seen, or "".
 */
enum schema_state schema_gate_state(struct schema_gate *gate, char *installed, size_t len);

/*
 * True at most once per SCHEMA_RECHECK_MS: whether a request may open a connection just to learn the schema
 * (a database that does not answer is not asked by every request).
 */
bool schema_gate_may_probe(struct schema_gate *gate);

/* The 503's detail for installed: both versions and the upgrade commands. Returns buf. */
const char *schema_gate_detail(const struct schema_gate *gate, const char *installed, char *buf, size_t len);

/* Compares dotted version numbers ("1.9" < "1.10"): <0, 0 or >0. Non-digits end a component. */
int schema_version_compare(const char *a, const char *b);

#endif
