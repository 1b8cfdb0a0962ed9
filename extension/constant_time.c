/* ta.secure_equal(a text, b text): comparison whose time does not depend on where a and b differ. */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(secure_equal);

Datum
secure_equal(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	size_t		len = VARSIZE_ANY_EXHDR(a);

	/* Lengths are public (a bcrypt hash is always 60 bytes); contents are not. */
	if (len != VARSIZE_ANY_EXHDR(b))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(timingsafe_bcmp(VARDATA_ANY(a), VARDATA_ANY(b), len) == 0);
}
