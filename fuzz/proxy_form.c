/*
 * The login form parsers (proxy/src/form.c). Input: a Content-Type line, then the body. Both parsers run on
 * every input; what they return must be a JSON object of UTF-8 strings holding only wanted fields.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "property failed: %s\n", #cond); abort(); } } while (0)

static const char *const login_fields[] = {"username", "email", "password", NULL};

static void check_result(json_t *obj, const char *error, const char *const *wanted)
{
	const char *key;
	json_t *value;

	if (obj == NULL) {
		CHECK(error != NULL && error[0] != '\0');
		return;
	}
	CHECK(json_is_object(obj));
	json_object_foreach(obj, key, value) {
		bool listed = wanted == NULL;

		CHECK(json_is_string(value));
		CHECK(strlen(json_string_value(value)) == json_string_length(value));   /* no NUL inside */
		for (const char *const *w = wanted; w != NULL && *w != NULL; w++)
			listed = listed || strcmp(*w, key) == 0;
		CHECK(listed);
	}
	json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *newline = memchr(data, '\n', size);
	size_t type_len = newline != NULL ? (size_t)(newline - (const char *)data) : 0;
	const char *body = newline != NULL ? newline + 1 : (const char *)data;
	size_t body_len = size - (size_t)(body - (const char *)data);
	char *type = strndup((const char *)data, type_len);
	/* The body in a buffer of its own size, so ASan sees any read past its end. */
	char *copy = malloc(body_len ? body_len : 1);
	const char *error = NULL;

	memcpy(copy, body, body_len);
	for (int i = 0; i < 2; i++) {
		const char *const *wanted = i == 0 ? login_fields : NULL;

		error = NULL;
		check_result(form_urlencoded_parse(copy, body_len, wanted, &error), error, wanted);
		error = NULL;
		check_result(form_multipart_parse(type, copy, body_len, wanted, &error), error, wanted);
	}
	free(copy);
	free(type);
	return 0;
}
