/* Form parsing for POST /auth/login: the SPA sends multipart/form-data, scripts send urlencoded. */
#define _GNU_SOURCE /* memmem, strncasecmp */
#include "form.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FORM_MAX_BOUNDARY 70 /* RFC 2046 */

static bool field_wanted(const char *const *wanted, const char *name, size_t len)
{
	if (wanted == NULL)
		return true;
	for (; *wanted != NULL; wanted++)
		if (strlen(*wanted) == len && memcmp(*wanted, name, len) == 0)
			return true;
	return false;
}

/* Sets name (len bytes) to value in obj. Returns 0, or -1 with *error set. */
static int set_field(json_t *obj, const char *name, size_t name_len, const char *value, size_t value_len,
		     const char **error)
{
	char key[64];
	json_t *v;

	if (memchr(value, '\0', value_len) != NULL || memchr(name, '\0', name_len) != NULL) {
		*error = "Pole formularza zawiera znak NUL";
		return -1;
	}
	if (name_len >= sizeof(key)) {
		*error = "Za długa nazwa pola formularza";
		return -1;
	}
	memcpy(key, name, name_len);
	key[name_len] = '\0';
	v = json_stringn(value, value_len);
	if (v == NULL) {
		*error = "Nieprawidłowe kodowanie znaków (wymagane UTF-8)";
		return -1;
	}
	json_object_set_new(obj, key, v);
	return 0;
}

int form_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes '+' and %XX of src into dst (at least len bytes). Returns the decoded length or -1. */
static long url_decode(const char *src, size_t len, char *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (src[i] == '+') {
			dst[o++] = ' ';
		} else if (src[i] == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = form_hex_digit(src[i + 1]);
			lo = form_hex_digit(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			dst[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			dst[o++] = src[i];
		}
	}
	return (long)o;
}

json_t *form_urlencoded_parse(const char *body, size_t len, const char *const *wanted, const char **error)
{
	json_t *obj = json_object();
	char *scratch = malloc(len + 1);
	const char *p = body, *end = body + len;

	if (obj == NULL || scratch == NULL) {
		*error = "Brak pamięci";
		goto fail;
	}
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp != NULL ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pair_end - p));
		const char *name_end = eq != NULL ? eq : pair_end;
		const char *value = eq != NULL ? eq + 1 : pair_end;
		long name_len, value_len;

		if (pair_end > p) {
			/* Name and value decode into one scratch buffer: the value right after the name. */
			name_len = url_decode(p, (size_t)(name_end - p), scratch);
			value_len = name_len < 0 ? -1
						 : url_decode(value, (size_t)(pair_end - value), scratch + name_len);
			if (name_len < 0 || value_len < 0) {
				*error = "Nieprawidłowe kodowanie formularza";
				goto fail;
			}
			if (field_wanted(wanted, scratch, (size_t)name_len) &&
			    set_field(obj, scratch, (size_t)name_len, scratch + name_len, (size_t)value_len, error) != 0)
				goto fail;
		}
		p = pair_end + 1;
	}
	free(scratch);
	return obj;
fail:
	free(scratch);
	json_decref(obj);
	return NULL;
}

/* Finds boundary=... in a multipart Content-Type. Returns its length (0 when missing or invalid). */
static size_t multipart_boundary(const char *content_type, const char **boundary)
{
	const char *p = content_type;

	while ((p = strchr(p, ';')) != NULL) {
		size_t len;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) != 0)
			continue;
		p += 9;
		if (*p == '"') {
			const char *close = strchr(p + 1, '"');

			if (close == NULL)
				return 0;
			*boundary = p + 1;
			len = (size_t)(close - p - 1);
		} else {
			*boundary = p;
			len = strcspn(p, "; \t");
		}
		return len <= FORM_MAX_BOUNDARY ? len : 0;
	}
	return 0;
}

/*
 * Reads the part headers in [p, end) for Content-Disposition's name (and whether it has a filename). Returns
 * false when there is no name.
 */
static bool part_name(const char *p, const char *end, const char **name, size_t *name_len, bool *is_file)
{
	*is_file = false;
	*name = NULL;
	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		const char *line_end = eol != NULL ? eol : end;

		if ((size_t)(line_end - p) > 20 && strncasecmp(p, "content-disposition:", 20) == 0) {
			const char *q = p + 20;

			while (q < line_end) {
				const char *semi = memchr(q, ';', (size_t)(line_end - q));
				const char *param_end = semi != NULL ? semi : line_end;

				while (q < param_end && (*q == ' ' || *q == '\t'))
					q++;
				if ((size_t)(param_end - q) >= 5 && strncasecmp(q, "name=", 5) == 0) {
					q += 5;
					if (q < param_end && *q == '"' && param_end - q >= 2 && param_end[-1] == '"') {
						*name = q + 1;
						*name_len = (size_t)(param_end - q - 2);
					} else {
						*name = q;
						*name_len = (size_t)(param_end - q);
					}
				} else if ((size_t)(param_end - q) >= 9 && strncasecmp(q, "filename=", 9) == 0) {
					*is_file = true;
				}
				q = param_end + 1;
			}
		}
		p = line_end + 2;
	}
	return *name != NULL;
}

json_t *form_multipart_parse(const char *content_type, const char *body, size_t len, const char *const *wanted,
			     const char **error)
{
	const char *boundary = NULL;
	size_t blen = multipart_boundary(content_type, &boundary);
	char delim[FORM_MAX_BOUNDARY + 4];
	size_t dlen;
	const char *p, *end = body + len;
	json_t *obj;

	*error = "Nieprawidłowy formularz multipart";
	if (blen == 0)
		return NULL;
	/* Parts are separated by CRLF "--" boundary; the first one may start the body. */
	dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%.*s", (int)blen, boundary);
	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
		p = body + dlen - 2;
	} else {
		p = memmem(body, len, delim, dlen);
		if (p == NULL)
			return NULL;
		p += dlen;
	}
	obj = json_object();
	if (obj == NULL)
		return NULL;
	for (;;) {
		const char *headers_end, *value, *next;
		const char *name;
		size_t name_len;
		bool is_file;

		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return obj; /* the closing delimiter */
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			break;
		p += 2;
		headers_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (headers_end == NULL)
			break;
		value = headers_end + 4;
		next = memmem(value, (size_t)(end - value), delim, dlen);
		if (next == NULL)
			break;
		if (!part_name(p, headers_end + 2, &name, &name_len, &is_file))
			break;
		if (!is_file && field_wanted(wanted, name, name_len) &&
		    set_field(obj, name, name_len, value, (size_t)(next - value), error) != 0)
			break;
		p = next + dlen;
	}
	json_decref(obj);
	return NULL;
}
