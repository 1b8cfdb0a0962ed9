/*
 * The extension's input validators and constant-time compare (extension/validators.c, constant_time.c) outside
 * the server. The first byte picks the function; each answer is checked against an independent oracle.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pg_shim.h"
#include "utils/date.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "property failed: %s\n", #cond); abort(); } } while (0)

static bool all_digits(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* An accepted address: one '@', no control characters or spaces, at most 254 bytes, a dotted domain. */
static void check_email(const uint8_t *s, size_t n)
{
	bool isnull;
	bool ok = DatumGetBool(shim_call(is_email, shim_text(s, n), NULL, &isnull));
	const uint8_t *at;

	if (!ok)
		return;
	CHECK(n <= 254);
	at = memchr(s, '@', n);
	CHECK(at != NULL && at > s && memchr(at + 1, '@', s + n - at - 1) == NULL);
	CHECK(memchr(at + 1, '.', s + n - at - 1) != NULL);
	for (size_t i = 0; i < n; i++)
		CHECK(s[i] > ' ' && s[i] != 0x7f && s[i] != '"' && s[i] != '\\');
	CHECK(s[n - 1] != '.' && s[n - 1] != '-' && s[0] != '.');
}

/* YYYY-MM-DD of 1900..2999 is accepted exactly when it is a calendar day; the value is its day number. */
static void check_date(const uint8_t *s, size_t n)
{
	bool isnull;
	Datum d = shim_call(parse_date, shim_text(s, n), NULL, &isnull);
	bool shaped = n == 10 && s[4] == '-' && s[7] == '-' && all_digits(s, 4) && all_digits(s + 5, 2) &&
		      all_digits(s + 8, 2);
	bool real_day = false;
	long days = 0;

	if (shaped) {
		int y = atoi((const char *)s), m = (s[5] - '0') * 10 + s[6] - '0', dd = (s[8] - '0') * 10 + s[9] - '0';
		struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = dd};   /* midnight: t / 86400 is exact */
		time_t t = timegm(&tm);
		struct tm back;

		gmtime_r(&t, &back);
		real_day = y >= 1900 && y <= 2999 && m >= 1 && m <= 12 && dd >= 1 && back.tm_year == y - 1900 &&
			   back.tm_mon == m - 1 && back.tm_mday == dd;
		days = (long)(t / 86400) - 10957;   /* 2000-01-01, PostgreSQL's epoch */
	}
	CHECK(isnull == !real_day);
	if (!isnull)
		CHECK(DatumGetDateADT(d) == days);
}

/* HH:MM or HH:MM:SS within a day; the value is microseconds since midnight. */
static void check_time(const uint8_t *s, size_t n)
{
	bool isnull;
	Datum d = shim_call(parse_time, shim_text(s, n), NULL, &isnull);
	bool shaped = (n == 5 || (n == 8 && s[5] == ':' && all_digits(s + 6, 2))) && s[2] == ':' &&
		      all_digits(s, 2) && all_digits(s + 3, 2);
	int h = 0, m = 0, sec = 0;

	if (shaped) {
		h = (s[0] - '0') * 10 + s[1] - '0';
		m = (s[3] - '0') * 10 + s[4] - '0';
		sec = n == 8 ? (s[6] - '0') * 10 + s[7] - '0' : 0;
	}
	CHECK(isnull == !(shaped && h < 24 && m < 60 && sec < 60));
	if (!isnull)
		CHECK(DatumGetTimeADT(d) == ((int64)h * 3600 + m * 60 + sec) * 1000000);
}

/* numeric_in's stand-in checks the grammar; here: what reaches it is the input itself. */
static void check_money(const uint8_t *s, size_t n)
{
	bool isnull;

	shim_last_numeric = NULL;
	shim_call(parse_money, shim_text(s, n), NULL, &isnull);
	if (!isnull)
		CHECK(shim_last_numeric != NULL && strlen(shim_last_numeric) == n && memcmp(shim_last_numeric, s, n) == 0);
}

/* secure_equal(a, b) is plain equality: input split at its first 0xff byte (or its middle). */
static void check_secure_equal(const uint8_t *s, size_t n)
{
	const uint8_t *sep = memchr(s, 0xff, n);
	size_t a_len = sep != NULL ? (size_t)(sep - s) : n / 2;
	const uint8_t *b = sep != NULL ? sep + 1 : s + a_len;
	size_t b_len = s + n - b;
	bool isnull;
	bool eq = DatumGetBool(shim_call(secure_equal, shim_text(s, a_len), shim_text(b, b_len), &isnull));

	CHECK(!isnull);
	CHECK(eq == (a_len == b_len && memcmp(s, b, a_len) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0:
		check_email(data + 1, size - 1);
		break;
	case 1:
		check_date(data + 1, size - 1);
		break;
	case 2:
		check_time(data + 1, size - 1);
		break;
	case 3:
		check_money(data + 1, size - 1);
		break;
	case 4:
		check_secure_equal(data + 1, size - 1);
		break;
	}
	return 0;
}
