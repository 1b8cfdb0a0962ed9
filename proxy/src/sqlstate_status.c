/* The SQLSTATE → HTTP table; '*' matches any character, the first matching row wins. */
#include "sqlstate_status.h"

#include <stddef.h>
#include <string.h>

static const struct {
	const char *pattern;
	int status;
} sqlstate_table[] = {
	{"23502", 422}, /* not_null_violation */
	{"23514", 422}, /* check_violation */
	{"22***", 422}, /* data exceptions, among them 22023 invalid_parameter_value */
	{"P0001", 400}, /* raise_exception: a business rule refuses */
	{"23505", 400}, /* unique_violation */
	{"23P01", 400}, /* exclusion_violation: overlapping appointments */
	{"P0002", 404}, /* no_data_found, also another practice's row */
	{"28000", 401}, /* invalid_authorization_specification */
	{"42501", 403}, /* insufficient_privilege */
	{"PT429", 429}, /* too many failed logins */
	{"57014", 503}, /* query_canceled (statement timeout) */
	{"40001", 503}, /* serialization_failure */
	{"40P01", 503}, /* deadlock_detected */
	{"08***", 503}, /* connection exceptions */
	{"53***", 503}, /* insufficient resources */
	{"57P**", 503}, /* operator intervention: shutdown, crash recovery */
};

static int sqlstate_matches(const char *pattern, const char *sqlstate)
{
	for (size_t i = 0; i < 5; i++)
		if (pattern[i] != '*' && pattern[i] != sqlstate[i])
			return 0;
	return 1;
}

int sqlstate_status(const char *sqlstate)
{
	if (sqlstate == NULL || strlen(sqlstate) != 5)
		return 500;
	for (size_t i = 0; i < sizeof(sqlstate_table) / sizeof(sqlstate_table[0]); i++)
		if (sqlstate_matches(sqlstate_table[i].pattern, sqlstate))
			return sqlstate_table[i].status;
	return 500;
}
