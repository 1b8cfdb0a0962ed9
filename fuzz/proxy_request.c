/*
 * The whole request path of the proxy (proxy/src/http_server.c, admission.c, dispatch.c and what they call: CORS,
 * routing, limits, token, body collection, JSON and form checks, query arguments) behind libmicrohttpd's HTTP
 * parser. The server runs in this process on a loopback port with an unreachable database; each input is sent as
 * raw bytes on a fresh connection, which is then half-closed and read to its end. No answer may be a 500, and the
 * server must keep answering (a crash or a sanitizer report in its threads ends the run with the input saved).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "http_server.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "property failed: %s\n", #cond); abort(); } } while (0)

static unsigned short port;
static char port_text[8];
static unsigned long inputs;

/* The configuration the server runs with: a fixed secret (seed tokens are signed with it), no database. */
static const char *lookup(void *ctx, const char *name)
{
	static const char *const settings[][2] = {
		{"JWT_SECRET", "fuzz-secret-fuzz-secret-fuzz-secret-0123"},
		{"DATABASE_URL", "postgresql:///nothing?host=/nonexistent&connect_timeout=1"},
		{"LISTEN_ADDRESS", "127.0.0.1"},
		{"PROXY_THREADS", "2"},
		{"PROXY_CONNECTION_TIMEOUT", "2"},
		{"ALLOWED_ORIGINS", "http://allowed.test"},
	};

	(void)ctx;
	if (strcmp(name, "PORT") == 0)
		return port_text;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (strcmp(settings[i][0], name) == 0)
			return settings[i][1];
	return NULL;
}

/* A port nothing listens on now (the kernel's choice for a socket bound to port 0). */
static unsigned short free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
	close(s);
	return ntohs(a.sin_port);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct proxy_config cfg;
	char err[256];

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	json_object_seed(0);
	CHECK(freopen("/dev/null", "w", stdout) != NULL);   /* the access log */
	port = free_port();
	snprintf(port_text, sizeof(port_text), "%u", port);
	if (config_load(&cfg, lookup, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "config: %s\n", err);
		abort();
	}
	/* Never stopped: the server lives as long as the fuzzer. */
	CHECK(http_server_start(&cfg) != NULL);
	return 0;
}

/* No answer in the len bytes at text (NUL bytes of a body end the scan early) is a 500. */
static void check_no_500(char *text, size_t len)
{
	text[len] = '\0';
	for (const char *line = text; (line = strstr(line, "HTTP/1.1 ")) != NULL; line += 9)
		CHECK(strncmp(line + 9, "500", 3) != 0);
}

/* GET / must be answered within 2 s (the idle timeout of a stuck connection, were the server stuck). */
static void check_alive(void)
{
	static const char request[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct pollfd p = {.fd = s, .events = POLLIN};
	char answer[16] = "";

	CHECK(s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(send(s, request, sizeof(request) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(request) - 1);
	CHECK(poll(&p, 1, 2000) == 1 && recv(s, answer, sizeof(answer) - 1, 0) > 12);
	CHECK(strncmp(answer, "HTTP/1.1 200", 12) == 0);
	close(s);
}

/* The size of the first response in text (headers and Content-Length body), or 0 while its headers are cut. */
static size_t first_response_size(const char *text)
{
	const char *end = strstr(text, "\r\n\r\n");
	const char *length = strcasestr(text, "\r\nContent-Length:");

	if (end == NULL)
		return 0;
	return (size_t)(end + 4 - text) + (length != NULL && length < end ? strtoul(length + 17, NULL, 10) : 0);
}

/*
 * Sends the input, half-closes, and reads what comes back. libmicrohttpd does not always notice the half-close
 * (it then waits for its idle timeout), so reading stops at the end of the connection, 5 ms after the first
 * response is complete (time for pipelined ones), or after 20 ms without any byte: then the harness closes.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char head[4096], chunk[16384];
	size_t head_len = 0, total = 0, sent = 0, expected = 0;

	CHECK(s >= 0);
	CHECK(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	while (sent < size) {
		ssize_t n = send(s, data + sent, size - sent, MSG_NOSIGNAL);

		if (n <= 0)
			break;   /* the server may close early, e.g. after a 413 */
		sent += (size_t)n;
	}
	shutdown(s, SHUT_WR);
	for (;;) {
		struct pollfd p = {.fd = s, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, expected > 0 && total >= expected ? 5 : 20) != 1)
			break;
		n = recv(s, chunk, sizeof(chunk) - 1, 0);
		if (n <= 0)
			break;
		check_no_500(chunk, (size_t)n);
		total += (size_t)n;
		if (head_len < sizeof(head) - 1) {
			size_t take = (size_t)n < sizeof(head) - 1 - head_len ? (size_t)n : sizeof(head) - 1 - head_len;

			memcpy(head + head_len, chunk, take);
			head_len += take;
			head[head_len] = '\0';
			expected = first_response_size(head);
		}
	}
	close(s);
	/* Every 500 inputs: the server still answers a plain request at once. */
	if (++inputs % 500 == 0)
		check_alive();
	return 0;
}
