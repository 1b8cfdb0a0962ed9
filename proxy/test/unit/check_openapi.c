/* openapi.json (served at /openapi.json, embedded at build time) describes exactly the routes served. */
#include <ctype.h>
#include <string.h>

#include <jansson.h>

#include "route_table.h"
#include "static_assets.h"
#include "suites.h"

static json_t *load_openapi(void)
{
	struct static_asset asset;
	json_error_t err;
	json_t *doc;

	ck_assert_int_eq(static_asset_find("openapi.json", 12, &asset), 0);
	doc = json_loadb((const char *)asset.data, asset.size, 0, &err);
	ck_assert_msg(doc != NULL, "openapi.json: %s at line %d", err.text, err.line);
	return doc;
}

static void lower(const char *in, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i < outlen - 1; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

START_TEST(every_route_is_described)
{
	json_t *doc = load_openapi();
	json_t *paths = json_object_get(doc, "paths");

	ck_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	for (size_t i = 0; i < route_count; i++) {
		const struct route *r = &route_table[i];
		char method[16];

		if (!r->in_openapi)
			continue;
		lower(r->method, method, sizeof(method));
		ck_assert_msg(json_object_get(json_object_get(paths, r->pattern), method) != NULL,
			      "openapi.json lacks %s %s", r->method, r->pattern);
	}
	json_decref(doc);
}
END_TEST

START_TEST(nothing_is_described_that_is_not_served)
{
	json_t *doc = load_openapi();
	const char *path, *method;
	json_t *item, *op;

	json_object_foreach(json_object_get(doc, "paths"), path, item) {
		json_object_foreach(item, method, op) {
			bool served = false;

			if (strcmp(method, "parameters") == 0)
				continue;
			for (size_t i = 0; i < route_count && !served; i++)
				served = strcmp(route_table[i].pattern, path) == 0 &&
					 strcasecmp(route_table[i].method, method) == 0 && route_table[i].in_openapi;
			ck_assert_msg(served, "openapi.json describes %s %s, which is not served", method, path);
			(void)op;
		}
	}
	json_decref(doc);
}
END_TEST

START_TEST(docs_assets_are_embedded)
{
	struct static_asset asset;

	ck_assert_int_eq(static_asset_find("index.html", 10, &asset), 0);
	ck_assert(memmem(asset.data, asset.size, "openapi.json", 12) != NULL);
	ck_assert_int_eq(static_asset_find("swagger-ui-bundle.js", 20, &asset), 0);
	ck_assert_uint_gt(asset.size, 100000);
	ck_assert_int_eq(static_asset_find("redoc.html", 10, &asset), 0);
	ck_assert(memmem(asset.data, asset.size, "spec-url=\"openapi.json\"", 23) != NULL);
	ck_assert_int_eq(static_asset_find("redoc.standalone.js", 19, &asset), 0);
	ck_assert_uint_gt(asset.size, 100000);
	ck_assert_int_eq(static_asset_find("../main.c", 9, &asset), -1);
}
END_TEST

Suite *openapi_suite(void)
{
	return SUITE("openapi",
		     every_route_is_described,
		     nothing_is_described_that_is_not_served,
		     docs_assets_are_embedded);
}
