/* The HTTP side: libmicrohttpd callbacks that turn one request into one api call. */
#ifndef TA_HTTP_SERVER_H
#define TA_HTTP_SERVER_H

struct proxy_config;
struct db_pool;
struct http_server;

/* Starts listening per cfg. Returns NULL with a message on stderr when the address cannot be bound. */
struct http_server *http_server_start(const struct proxy_config *cfg);
/* Stops accepting, lets requests in flight finish (up to grace_seconds), then stops and frees everything. */
void http_server_stop(struct http_server *srv, int grace_seconds);

#endif
