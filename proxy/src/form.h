/* HTML form bodies (urlencoded and multipart) turned into JSON objects of strings. */
#ifndef TA_FORM_H
#define TA_FORM_H

#include <stddef.h>
#include <jansson.h>

/*
 * Each parser keeps the fields named in wanted (a NULL-terminated list; NULL keeps all) as JSON strings, the
 * last value winning. Returns a new object (caller decrefs), or NULL with *error set to a static message when the
 * body is malformed, not UTF-8, or holds a NUL byte. File parts of multipart bodies are skipped.
 */
json_t *form_urlencoded_parse(const char *body, size_t len, const char *const *wanted, const char **error);
json_t *form_multipart_parse(const char *content_type, const char *body, size_t len, const char *const *wanted,
			     const char **error);

/* The value of one hexadecimal digit, or -1. */
int form_hex_digit(char c);

#endif
