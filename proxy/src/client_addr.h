/* Who the client is: the peer's address, or the one a trusted local proxy (nginx) forwarded. */
#ifndef TA_CLIENT_ADDR_H
#define TA_CLIENT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Room for any address as text (INET6_ADDRSTRLEN) and its NUL. */
#define CLIENT_ADDR_MAX 46

/*
 * Writes text's address in canonical form into out (an IPv4-mapped IPv6 address as IPv4). Returns 0, or -1
 * when text (len bytes, surrounding spaces ignored) is not a numeric IPv4 or IPv6 address.
 */
int client_addr_normalize(const char *text, size_t len, char out[CLIENT_ADDR_MAX]);

/* The same for a socket address. Returns 0, or -1 for a family other than IPv4 and IPv6. */
int client_addr_from_sockaddr(const struct sockaddr *sa, char out[CLIENT_ADDR_MAX]);

/* True when addr (canonical) is in trusted, a comma-separated list of canonical addresses. */
bool client_addr_trusted(const char *trusted, const char *addr);

/*
 * The client's address into out: peer itself, unless peer is trusted and forwarded one. Then X-Real-IP wins
 * (nginx sets it to the address it accepted the connection from, replacing what a client sent), else the last
 * entry of X-Forwarded-For (the one the trusted proxy appended). A forwarded value that is not an address is
 * ignored. real_ip and forwarded_for may be NULL.
 */
void client_addr_resolve(const char *peer, const char *trusted, const char *real_ip, const char *forwarded_for,
			 char out[CLIENT_ADDR_MAX]);

#endif
