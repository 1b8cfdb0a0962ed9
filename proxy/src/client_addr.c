/* The client address passed to the database (request.client_addr) for the audit trail and login throttling. */
#define _POSIX_C_SOURCE 200809L
#include "client_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static int format_in6(const struct in6_addr *a6, char out[CLIENT_ADDR_MAX])
{
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return inet_ntop(AF_INET, &a6->s6_addr[12], out, CLIENT_ADDR_MAX) != NULL ? 0 : -1;
	return inet_ntop(AF_INET6, a6, out, CLIENT_ADDR_MAX) != NULL ? 0 : -1;
}

int client_addr_normalize(const char *text, size_t len, char out[CLIENT_ADDR_MAX])
{
	char buf[CLIENT_ADDR_MAX];
	struct in_addr a4;
	struct in6_addr a6;

	while (len > 0 && (*text == ' ' || *text == '\t')) {
		text++;
		len--;
	}
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1)
		return inet_ntop(AF_INET, &a4, out, CLIENT_ADDR_MAX) != NULL ? 0 : -1;
	if (inet_pton(AF_INET6, buf, &a6) == 1)
		return format_in6(&a6, out);
	return -1;
}

int client_addr_from_sockaddr(const struct sockaddr *sa, char out[CLIENT_ADDR_MAX])
{
	if (sa != NULL && sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, CLIENT_ADDR_MAX) != NULL
			       ? 0
			       : -1;
	if (sa != NULL && sa->sa_family == AF_INET6)
		return format_in6(&((const struct sockaddr_in6 *)sa)->sin6_addr, out);
	return -1;
}

bool client_addr_trusted(const char *trusted, const char *addr)
{
	size_t len = strlen(addr);

	for (const char *p = trusted; *p != '\0';) {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, addr, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

void client_addr_resolve(const char *peer, const char *trusted, const char *real_ip, const char *forwarded_for,
			 char out[CLIENT_ADDR_MAX])
{
	snprintf(out, CLIENT_ADDR_MAX, "%s", peer);
	if (!client_addr_trusted(trusted, peer))
		return;
	if (real_ip != NULL && client_addr_normalize(real_ip, strlen(real_ip), out) == 0)
		return;
	if (forwarded_for != NULL) {
		const char *last = strrchr(forwarded_for, ',');

		last = last != NULL ? last + 1 : forwarded_for;
		if (client_addr_normalize(last, strlen(last), out) == 0)
			return;
	}
	snprintf(out, CLIENT_ADDR_MAX, "%s", peer);
}
