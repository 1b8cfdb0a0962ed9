/* Arguments of an api function from the request, and the call on the primary or the read replica. */
#define _POSIX_C_SOURCE 200809L
#include "api_call.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bearer_auth.h"
#include "db_pool.h"
#include "form.h"
#include "read_routing.h"
#include "response.h"
#include "sqlstate_status.h"

#define POOL_WAIT_MS 5000
#define DETAIL_BAD_UTF8 "Nieprawidłowe kodowanie znaków (wymagane UTF-8)"

/*
 * Runs the route's statement with params and answers with its JSON or its error: a GET on the read replica
 * when there is one (read_routing_try), anything else, and whatever the replica cannot answer, on the primary.
 */
static enum MHD_Result call_database(struct request *r, struct MHD_Connection *c, int nparams,
				     const char *const *params)
{
	const struct request_env *env = r->env;
	const struct route *route = r->match.route;
	bool read = strcmp(route->method, "GET") == 0;
	PGresult *res;

	if (read && env->reads != NULL) {
		switch (read_routing_try(env->reads, env->pool, route, nparams, params, &res)) {
		case READ_ANSWERED:
			r->replica = true;
			return respond_result(r, c, res);
		case READ_UNRECORDED: {
			/* A caller deleted meanwhile is refused as such; any other failure withholds the answer. */
			enum MHD_Result ret;

			if (res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR &&
			    sqlstate_status(PQresultErrorField(res, PG_DIAG_SQLSTATE)) == 401)
				ret = respond_db_error(r, c, res);
			else
				ret = respond_detail(r, c, MHD_HTTP_SERVICE_UNAVAILABLE, DETAIL_UNAVAILABLE, NULL, NULL);
			PQclear(res);
			return ret;
		}
		case READ_ON_PRIMARY:
			break;
		}
	}
	res = db_pool_run(env->pool, POOL_WAIT_MS, (size_t)(route - route_table), nparams, params);
	if (res == NULL)
		return respond_detail(r, c, MHD_HTTP_SERVICE_UNAVAILABLE, DETAIL_UNAVAILABLE, NULL, NULL);
	/* The session's next reads wait for the replica to have replayed this write (see read_routing.h). */
	if (!read && env->reads != NULL && r->token != NULL)
		read_routing_note_write(env->reads, r->token);
	if (route->function != NULL && strcmp(route->function, "api.logout") == 0)
		bearer_auth_forget(env->auth, r->token);
	return respond_result(r, c, res);
}

struct query_json {
	json_t *object;
	bool invalid;   /* an argument was not UTF-8 */
};

/* Collects query arguments as strings; stops at the first one that is not UTF-8. */
static enum MHD_Result query_argument(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_json *q = cls;
	json_t *v = json_string(value != NULL ? value : "");

	(void)kind;
	if (v == NULL || json_object_set_new(q->object, key, v) != 0) {
		q->invalid = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/*
 * The query string as a JSON object of strings in *text (caller frees; "{}" without arguments is not allocated).
 * Returns 0, or answers 400/500 itself and returns -1.
 */
static int query_json_text(struct request *r, struct MHD_Connection *c, char **text, enum MHD_Result *ret)
{
	struct query_json query = {.object = NULL, .invalid = false};

	*text = NULL;
	if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) == 0)
		return 0;
	query.object = json_object();
	if (query.object == NULL) {
		*ret = respond_detail(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, DETAIL_INTERNAL, NULL, NULL);
		return -1;
	}
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_argument, &query);
	if (query.invalid) {
		json_decref(query.object);
		*ret = respond_detail(r, c, 400, DETAIL_BAD_UTF8, "query", NULL);
		return -1;
	}
	*text = json_dumps(query.object, JSON_COMPACT);
	json_decref(query.object);
	if (*text == NULL) {
		*ret = respond_detail(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, DETAIL_INTERNAL, NULL, NULL);
		return -1;
	}
	return 0;
}

/*
 * Checks that the body is a UTF-8 JSON object. Returns 0, or answers 400/422 itself and returns -1.
 */
static int check_json_body(struct request *r, struct MHD_Connection *c, enum MHD_Result *ret)
{
	json_error_t err;
	json_t *value;

	if (r->body_len == 0) {
		*ret = respond_detail(r, c, 422, "Brak danych w treści żądania", "body", "Pole wymagane");
		return -1;
	}
	if (memchr(r->body, '\0', r->body_len) != NULL) {
		*ret = respond_detail(r, c, 400, "Nieprawidłowy format JSON", "body", "Znak NUL w treści");
		return -1;
	}
	value = json_loadb(r->body, r->body_len, 0, &err);
	if (value == NULL) {
		if (json_error_code(&err) == json_error_invalid_utf8)
			*ret = respond_detail(r, c, 400, DETAIL_BAD_UTF8, "body", err.text);
		else
			*ret = respond_detail(r, c, 422, "Nieprawidłowy format JSON", "body", err.text);
		return -1;
	}
	if (!json_is_object(value)) {
		json_decref(value);
		*ret = respond_detail(r, c, 422, "Treść żądania musi być obiektem JSON", "body", NULL);
		return -1;
	}
	json_decref(value);
	return 0;
}

/* The fields POST /auth/login passes on from a form. */
static const char *const login_fields[] = {"username", "email", "password", NULL};

/* Turns a login form into JSON text in *form_json (caller frees). Returns 0, or answers 422 itself and -1. */
static int login_form_json(struct request *r, struct MHD_Connection *c, char **form_json, enum MHD_Result *ret)
{
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *error = NULL;
	json_t *fields;

	*form_json = NULL;
	if (type != NULL && strncasecmp(type, "multipart/form-data", 19) == 0)
		fields = form_multipart_parse(type, r->body, r->body_len, login_fields, &error);
	else if (type != NULL && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0)
		fields = form_urlencoded_parse(r->body, r->body_len, login_fields, &error);
	else
		return check_json_body(r, c, ret);
	if (fields == NULL) {
		*ret = respond_detail(r, c, 422, error, "body", NULL);
		return -1;
	}
	*form_json = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	if (*form_json == NULL) {
		*ret = respond_detail(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, DETAIL_INTERNAL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* The arguments in the order route_sql gives them: address, token, id or text, query, body. */
enum MHD_Result api_call(struct request *r, struct MHD_Connection *c)
{
	const struct route *route = r->match.route;
	const char *params[5];
	char id_text[24];
	char *query_json = NULL, *form_json = NULL;
	enum MHD_Result ret = MHD_NO;
	int n = 0;

	params[n++] = r->client_addr;
	if (route->authenticated)
		params[n++] = r->token;
	if (route->takes_id) {
		snprintf(id_text, sizeof(id_text), "%lld", (long long)r->match.id);
		params[n++] = id_text;
	}
	if (route->takes_text)
		params[n++] = r->match.text;
	if (route->takes_query) {
		if (query_json_text(r, c, &query_json, &ret) != 0)
			return ret;
		params[n++] = query_json != NULL ? query_json : "{}";
	}
	if (route->body == BODY_JSON) {
		if (check_json_body(r, c, &ret) != 0)
			goto out;
		params[n++] = r->body;
	} else if (route->body == BODY_LOGIN_FORM) {
		if (login_form_json(r, c, &form_json, &ret) != 0)
			goto out;
		params[n++] = form_json != NULL ? form_json : r->body;
	}
	ret = call_database(r, c, n, params);
out:
	free(query_json);
	free(form_json);
	return ret;
}
