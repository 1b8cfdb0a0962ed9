/* Route handlers (see dispatch.h): api routes go to api_call.c; /health, / and the docs are answered here. */
#define _POSIX_C_SOURCE 200809L
#include "dispatch.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api_call.h"
#include "db_pool.h"
#include "response.h"
#include "route_table.h"
#include "schema_gate.h"
#include "static_assets.h"

#ifndef TA_SCHEMA_VERSION
#error "TA_SCHEMA_VERSION (therapyassistance.control's default_version) must be defined by the build"
#endif

#define POOL_WAIT_MS 5000
#define MAX_DETAIL 512

static const char root_body[] =
	"{\"message\":\"Witaj w TherapyAssistance API\",\"docs\":\"/docs\",\"version\":\"1.0.0\"}";

/* {"status": "unhealthy", "detail": reason} with 503. */
static enum MHD_Result respond_unhealthy(struct request *r, struct MHD_Connection *c, const char *reason)
{
	json_t *obj = json_pack("{s:s,s:s}", "status", "unhealthy", "detail", reason);
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (text == NULL)
		return MHD_NO;
	return respond(r, c, MHD_HTTP_SERVICE_UNAVAILABLE,
		       MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE), "application/json");
}

/*
 * GET /health: 200 with api.health()'s answer ({"status": "healthy", "schema_version"}) when the database
 * answers on a schema this proxy can use; 503 {"status": "unhealthy", "detail"} with the reason (an old schema:
 * both versions and the upgrade command) otherwise.
 */
static enum MHD_Result dispatch_health(struct request *r, struct MHD_Connection *c)
{
	const struct request_env *env = r->env;
	PGresult *res = db_pool_run(env->pool, POOL_WAIT_MS, (size_t)(r->match.route - route_table), 0, NULL);
	char installed[32], detail[MAX_DETAIL];
	const char *reason;
	enum MHD_Result ret;

	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		return respond_json(r, c, MHD_HTTP_OK, PQgetvalue(res, 0, 0), res);
	if (res != NULL)
		reason = "database did not answer api.health()";
	else if (schema_gate_state(env->schema, installed, sizeof(installed)) == SCHEMA_OLD ||
		 (installed[0] != '\0' && schema_version_compare(installed, TA_SCHEMA_VERSION) < 0))
		reason = schema_gate_detail(env->schema, installed, detail, sizeof(detail));
	else
		reason = "database unavailable";
	ret = respond_unhealthy(r, c, reason);
	PQclear(res);
	return ret;
}

static enum MHD_Result respond_asset(struct request *r, struct MHD_Connection *c, const char *name, size_t len)
{
	struct static_asset asset;

	if (static_asset_find(name, len, &asset) != 0)
		return respond_detail(r, c, MHD_HTTP_NOT_FOUND, "Not Found", NULL, NULL);
	return respond_static(r, c, MHD_HTTP_OK, asset.data, asset.size, asset.content_type);
}

enum MHD_Result dispatch(struct request *r, struct MHD_Connection *c)
{
	const char *asset;

	switch (r->match.route->handler) {
	case HANDLER_API:
		return api_call(r, c);
	case HANDLER_HEALTH:
		return dispatch_health(r, c);
	case HANDLER_ROOT:
		return respond_static(r, c, MHD_HTTP_OK, root_body, sizeof(root_body) - 1, "application/json");
	case HANDLER_OPENAPI:
		return respond_asset(r, c, "openapi.json", 12);
	case HANDLER_DOCS:
		return respond_asset(r, c, "index.html", 10);
	case HANDLER_REDOC:
		return respond_asset(r, c, "redoc.html", 10);
	case HANDLER_DOCS_ASSET:
		asset = r->path + strlen("/docs/");
		return respond_asset(r, c, asset, strcspn(asset, "/"));
	}
	return respond_detail(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, DETAIL_INTERNAL, NULL, NULL);
}
