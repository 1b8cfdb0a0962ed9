/*
 * Routing (proxy/src/route_table.c): "METHOD path" lines. A found route's pattern matches the path again segment
 * by segment, its id is what the path says, and every answer is one of the four kinds.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route_table.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "property failed: %s\n", #cond); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);   /* a C string, as libmicrohttpd hands it on */
	char *space = strchr(text, ' ');
	const char *method = space != NULL ? text : "GET";
	const char *path = space != NULL ? space + 1 : text;
	struct route_match m;
	int64_t id;

	if (space != NULL)
		*space = '\0';
	switch (route_find(method, path, &m)) {
	case ROUTE_FOUND:
		CHECK(strcmp(m.route->method, method) == 0);
		if (m.route->takes_id) {
			char digits[32];

			CHECK(m.id >= 0);
			snprintf(digits, sizeof(digits), "/%" PRId64, m.id);
			CHECK(strstr(path, digits) != NULL || strstr(path, "/0") != NULL);
		}
		break;
	case ROUTE_METHOD_NOT_ALLOWED:
		/* allow lists other methods than this one: "GET, POST, OPTIONS" (OPTIONS, for CORS preflights, always). */
		CHECK(m.allow[0] != '\0');
		for (const char *a = strcmp(method, "OPTIONS") == 0 ? "" : m.allow; *a != '\0'; a += strspn(a, ", ")) {
			size_t len = strcspn(a, ", ");

			CHECK(len != strlen(method) || strncmp(a, method, len) != 0);
			a += len;
		}
		break;
	case ROUTE_BAD_ID:
		CHECK(m.param_name != NULL && m.param_name_len > 0);
		break;
	case ROUTE_NOT_FOUND:
		break;
	default:
		CHECK(0);
	}
	if (route_parse_id(text, strlen(text), &id) == 0)
		CHECK(id >= 0 && strlen(text) <= 18 && strspn(text, "0123456789") == strlen(text));
	free(text);
	return 0;
}
