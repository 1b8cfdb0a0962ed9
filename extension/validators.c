/*
 * Strict parsers for what the API accepts from clients. Each returns NULL for
 * anything it does not accept (never raises), so the api functions can answer
 * with a Polish message naming the field.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"

PG_FUNCTION_INFO_V1(is_email);
PG_FUNCTION_INFO_V1(parse_date);
PG_FUNCTION_INFO_V1(parse_time);
PG_FUNCTION_INFO_V1(parse_money);

#define EMAIL_MAX 254
#define EMAIL_LOCAL_MAX 64
#define DOMAIN_LABEL_MAX 63
/* numeric(10,2): at most 8 digits before the point. */
#define MONEY_INT_DIGITS 8

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Characters allowed in a dot-atom local part (RFC 5322 atext), plus UTF-8. (strchr finds the NUL too.) */
static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
		(c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL) || c >= 0x80;
}

static bool
is_label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
		c == '-' || c >= 0x80;
}

/* local@domain.tld: dot-atom local part, a domain of two or more labels. */
static bool
email_ok(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t		local_len,
				label_len = 0,
				labels = 1,
				i;
	const char *domain;
	size_t		domain_len;

	if (len > EMAIL_MAX || at == NULL)
		return false;
	local_len = at - s;
	domain = at + 1;
	domain_len = len - local_len - 1;
	if (local_len == 0 || local_len > EMAIL_LOCAL_MAX || domain_len == 0)
		return false;
	for (i = 0; i < local_len; i++)
	{
		if (s[i] == '.')
		{
			if (i == 0 || i == local_len - 1 || s[i - 1] == '.')
				return false;
		}
		else if (!is_atext((unsigned char) s[i]))
			return false;
	}
	for (i = 0; i < domain_len; i++)
	{
		if (domain[i] == '.')
		{
			if (label_len == 0 || domain[i - 1] == '-')
				return false;
			label_len = 0;
			labels++;
		}
		else if (!is_label_char((unsigned char) domain[i]) ||
				 (label_len == 0 && domain[i] == '-') ||
				 ++label_len > DOMAIN_LABEL_MAX)
			return false;
	}
	/* The last label (the TLD) has at least two characters and no digits only. */
	if (labels < 2 || label_len < 2 || domain[domain_len - 1] == '-')
		return false;
	return true;
}

Datum
is_email(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(email_ok(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

/* Parses exactly n digits at s into *out. */
static bool
digits(const char *s, int n, int *out)
{
	int			v = 0,
				i;

	for (i = 0; i < n; i++)
	{
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* YYYY-MM-DD, a real calendar day of the years 1900 to 2999. */
Datum
parse_date(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	int			y,
				m,
				d;

	if (VARSIZE_ANY_EXHDR(t) != 10 || s[4] != '-' || s[7] != '-' ||
		!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d) ||
		y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 ||
		d > day_tab[isleap(y)][m - 1])
		PG_RETURN_NULL();
	PG_RETURN_DATEADT(date2j(y, m, d) - POSTGRES_EPOCH_JDATE);
}

/* HH:MM or HH:MM:SS on a 24-hour clock. */
Datum
parse_time(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	size_t		len = VARSIZE_ANY_EXHDR(t);
	int			h,
				m,
				sec = 0;

	if ((len != 5 && len != 8) || s[2] != ':' ||
		!digits(s, 2, &h) || !digits(s + 3, 2, &m) ||
		(len == 8 && (s[5] != ':' || !digits(s + 6, 2, &sec))) ||
		h > 23 || m > 59 || sec > 59)
		PG_RETURN_NULL();
	PG_RETURN_TIMEADT(((int64) (h * 60 + m) * 60 + sec) * USECS_PER_SEC);
}

/* [-]digits[.d[d]]: at most 8 integer digits and 2 decimals, no exponent. */
Datum
parse_money(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	size_t		len = VARSIZE_ANY_EXHDR(t);
	size_t		i = 0,
				int_digits = 0,
				decimals = 0;

	if (len > 0 && s[0] == '-')
		i++;
	while (i < len && is_digit(s[i]))
		i++, int_digits++;
	if (i < len && s[i] == '.')
	{
		i++;
		while (i < len && is_digit(s[i]))
			i++, decimals++;
		if (decimals == 0)
			PG_RETURN_NULL();
	}
	if (i != len || int_digits == 0 || int_digits > MONEY_INT_DIGITS || decimals > 2)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(DirectFunctionCall3(numeric_in,
										CStringGetDatum(text_to_cstring(t)),
										ObjectIdGetDatum(InvalidOid),
										Int32GetDatum(-1)));
}
