/* The SQLSTATE → HTTP table of sql/README.md, row by row. */
#include "sqlstate_status.h"
#include "suites.h"

START_TEST(every_row_of_the_table)
{
	static const struct {
		const char *sqlstate;
		int status;
	} cases[] = {
		{"22023", 422}, {"22007", 422}, {"22P02", 422}, {"23502", 422}, {"23514", 422},
		{"P0001", 400}, {"23505", 400}, {"23P01", 400}, {"P0002", 404}, {"28000", 401},
		{"42501", 403}, {"PT429", 429}, {"57014", 503}, {"40001", 503}, {"40P01", 503},
		{"08006", 503}, {"08P01", 503}, {"53300", 503}, {"57P01", 503}, {"57P03", 503},
		/* a bug: never the database's text */
		{"42883", 500}, {"XX000", 500}, {"23503", 500}, {"57000", 500}, {"P0003", 500},
		{"2202", 500}, {"220233", 500}, {"", 500},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(sqlstate_status(cases[i].sqlstate) == cases[i].status, "%s should be %d, is %d",
			      cases[i].sqlstate, cases[i].status, sqlstate_status(cases[i].sqlstate));
	ck_assert_int_eq(sqlstate_status(NULL), 500);
}
END_TEST

Suite *sqlstate_status_suite(void)
{
	return SUITE("sqlstate_status", every_row_of_the_table);
}
