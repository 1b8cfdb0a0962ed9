/* The response writer: headers every answer carries, held answers, JSON details, database results and errors. */
#define _POSIX_C_SOURCE 200809L
#include "response.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bearer_auth.h"
#include "cors.h"
#include "sqlstate_status.h"

enum MHD_Result respond(struct request *r, struct MHD_Connection *c, int status, struct MHD_Response *resp,
			const char *content_type)
{
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	if (content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	/* Tells clients when the idle timeout closes the connection, so they do not reuse it just then. */
	MHD_add_response_header(resp, "Keep-Alive", r->env->keep_alive);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->cors_allowed && cors_only_wildcard(r->env->cfg, r->origin)) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
		MHD_add_response_header(resp, "Access-Control-Expose-Headers", "X-Request-Id");
	} else if (r->cors_allowed) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->origin);
		MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
		MHD_add_response_header(resp, "Access-Control-Expose-Headers", "X-Request-Id");
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (status == MHD_HTTP_TOO_MANY_REQUESTS && r->retry_after[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after);
	r->responded = true;
	r->status = status;
	if (r->hold) {
		r->held = resp;
		return MHD_YES;
	}
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result respond_release_held(struct request *r, struct MHD_Connection *c)
{
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, r->held);

	MHD_destroy_response(r->held);
	r->held = NULL;
	r->hold = false;
	return ret;
}

enum MHD_Result respond_static(struct request *r, struct MHD_Connection *c, int status, const void *data,
			       size_t len, const char *content_type)
{
	return respond(r, c, status,
		       MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT), content_type);
}

enum MHD_Result respond_detail(struct request *r, struct MHD_Connection *c, int status, const char *detail,
			       const char *field, const char *message)
{
	static const char internal[] = "{\"detail\":\"" DETAIL_INTERNAL "\"}";
	json_t *obj = json_pack("{s:s}", "detail", detail);
	char *text;

	if (obj != NULL && field != NULL)
		json_object_set_new(obj, "errors",
				    json_pack("[{s:s,s:s}]", "field", field, "message", message ? message : detail));
	text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (text == NULL)
		return respond_static(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, internal, sizeof(internal) - 1,
				      "application/json");
	return respond(r, c, status, MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE),
		       "application/json");
}

static void clear_result(void *res)
{
	PQclear(res);
}

/* text as the body with content_type: copied when res is NULL, else sent from res, which the response PQclears. */
static enum MHD_Result respond_text(struct request *r, struct MHD_Connection *c, int status, const char *text,
				    PGresult *res, const char *content_type)
{
	struct MHD_Response *resp;

	if (res == NULL)
		return respond(r, c, status,
			       MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY),
			       content_type);
	/* The body is sent from the result itself, which lives until libmicrohttpd is done with it. */
	resp = MHD_create_response_from_buffer_with_free_callback_cls(strlen(text), (void *)text, clear_result,
								      res);
	if (resp == NULL)
		PQclear(res);
	return respond(r, c, status, resp, content_type);
}

enum MHD_Result respond_json(struct request *r, struct MHD_Connection *c, int status, const char *json,
			     PGresult *res)
{
	return respond_text(r, c, status, json, res, "application/json");
}

enum MHD_Result respond_db_error(struct request *r, struct MHD_Connection *c, const PGresult *res)
{
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
	int status = sqlstate_status(sqlstate);

	if (status == MHD_HTTP_UNAUTHORIZED)
		bearer_auth_forget(r->env->auth, r->token);

	if (status == 500 || status == 503) {
		/* The database's text goes to our log only (for a 500, a bug, with its message): never to the client. */
		json_t *line = json_pack("{s:s,s:s,s:s,s:s++,s:s?}", "level", "error", "request_id", r->request_id,
					 "sqlstate", sqlstate ? sqlstate : "", "route", r->method, " ",
					 r->match.route->pattern, "message", status == 500 ? message : NULL);
		char *text = line != NULL ? json_dumps(line, JSON_COMPACT) : NULL;

		if (text != NULL)
			fprintf(stderr, "%s\n", text);
		free(text);
		json_decref(line);
		return respond_detail(r, c, status, status == 500 ? DETAIL_INTERNAL : DETAIL_UNAVAILABLE, NULL, NULL);
	}
	if (message == NULL)
		message = DETAIL_INTERNAL;
	/* A 429's DETAIL is the number of seconds to wait (ta.login_throttle). */
	if (status == MHD_HTTP_TOO_MANY_REQUESTS) {
		const char *wait = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);

		if (wait != NULL && wait[0] != '\0' && strlen(wait) < sizeof(r->retry_after) &&
		    strspn(wait, "0123456789") == strlen(wait))
			memcpy(r->retry_after, wait, strlen(wait) + 1);
	}
	if (status == 422 && column != NULL)
		return respond_detail(r, c, status, message, column, message);
	return respond_detail(r, c, status, message, NULL, NULL);
}

/*
 * The status a function chose without raising (response.status, PostgREST's way): 200 when it set none,
 * -1 when it set something that is not an HTTP status.
 */
static int answer_status(const PGresult *res)
{
	const char *text = PQgetisnull(res, 0, 1) ? "" : PQgetvalue(res, 0, 1);
	size_t len = strlen(text);

	if (len == 0)
		return MHD_HTTP_OK;
	if (len != 3 || strspn(text, "0123456789") != 3 || text[0] < '2' || text[0] > '5')
		return -1;
	return atoi(text);
}

enum MHD_Result respond_result(struct request *r, struct MHD_Connection *c, PGresult *res)
{
	enum MHD_Result ret;
	int status;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) >= 2 &&
	    (status = answer_status(res)) > 0) {
		const char *type = r->match.route->content_type;

		/* A route's own content type describes its successful answer; anything else the function answers is JSON. */
		if (type == NULL || status / 100 != 2)
			type = "application/json";
		if (PQgetisnull(res, 0, 0)) {
			PQclear(res);
			return respond_text(r, c, status, "null", NULL, type);
		}
		return respond_text(r, c, status, PQgetvalue(res, 0, 0), res, type);
	}
	if (PQresultStatus(res) == PGRES_FATAL_ERROR)
		ret = respond_db_error(r, c, res);
	else
		ret = respond_detail(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, DETAIL_INTERNAL, NULL, NULL);
	PQclear(res);
	return ret;
}

enum MHD_Result respond_preflight(struct request *r, struct MHD_Connection *c)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	const char *headers = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Headers");

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
	MHD_add_response_header(resp, "Access-Control-Allow-Headers",
				headers != NULL && strlen(headers) < 1024 ? headers : "Authorization, Content-Type");
	MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
	return respond(r, c, MHD_HTTP_NO_CONTENT, resp, NULL);
}
