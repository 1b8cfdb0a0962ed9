/* Who the client is: the peer, unless a trusted proxy forwarded the address; never what a client claims. */
#include <netinet/in.h>
#include <string.h>

#include "client_addr.h"
#include "suites.h"

START_TEST(addresses_are_canonical)
{
	char out[CLIENT_ADDR_MAX];

	ck_assert_int_eq(client_addr_normalize(" 203.0.113.7 ", 13, out), 0);
	ck_assert_str_eq(out, "203.0.113.7");
	ck_assert_int_eq(client_addr_normalize("2001:DB8:0:0::7", 15, out), 0);
	ck_assert_str_eq(out, "2001:db8::7");
	ck_assert_int_eq(client_addr_normalize("::ffff:127.0.0.1", 16, out), 0);
	ck_assert_str_eq(out, "127.0.0.1");
	ck_assert_int_eq(client_addr_normalize("", 0, out), -1);
	ck_assert_int_eq(client_addr_normalize("localhost", 9, out), -1);
	ck_assert_int_eq(client_addr_normalize("1.2.3.4'); DROP", 15, out), -1);
	ck_assert_int_eq(client_addr_normalize("1.2.3.4:80", 10, out), -1);
	ck_assert_int_eq(client_addr_normalize("unknown, 1.2.3.4", 16, out), -1);
}
END_TEST

START_TEST(socket_addresses)
{
	char out[CLIENT_ADDR_MAX];
	struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
	struct sockaddr un = {.sa_family = AF_UNIX};

	ck_assert_int_eq(client_addr_from_sockaddr((struct sockaddr *)&v4, out), 0);
	ck_assert_str_eq(out, "127.0.0.1");
	v6.sin6_addr.s6_addr[15] = 1;
	ck_assert_int_eq(client_addr_from_sockaddr((struct sockaddr *)&v6, out), 0);
	ck_assert_str_eq(out, "::1");
	v6.sin6_addr.s6_addr[10] = v6.sin6_addr.s6_addr[11] = 0xff;
	v6.sin6_addr.s6_addr[12] = 10;
	ck_assert_int_eq(client_addr_from_sockaddr((struct sockaddr *)&v6, out), 0);
	ck_assert_str_eq(out, "10.0.0.1");
	ck_assert_int_eq(client_addr_from_sockaddr(&un, out), -1);
	ck_assert_int_eq(client_addr_from_sockaddr(NULL, out), -1);
}
END_TEST

START_TEST(trusted_list_matches_whole_entries)
{
	ck_assert(client_addr_trusted("127.0.0.1,::1", "127.0.0.1"));
	ck_assert(client_addr_trusted("127.0.0.1,::1", "::1"));
	ck_assert(!client_addr_trusted("127.0.0.1,::1", "127.0.0.10"));
	ck_assert(!client_addr_trusted("127.0.0.10", "127.0.0.1"));
	ck_assert(!client_addr_trusted("", "127.0.0.1"));
}
END_TEST

START_TEST(forwarded_address_only_from_a_trusted_peer)
{
	const char *trusted = "127.0.0.1,::1";
	char out[CLIENT_ADDR_MAX];

	/* nginx on this machine: X-Real-IP first, else the last X-Forwarded-For entry (the one nginx added). */
	client_addr_resolve("127.0.0.1", trusted, "198.51.100.4", "6.6.6.6, 198.51.100.4", out);
	ck_assert_str_eq(out, "198.51.100.4");
	client_addr_resolve("127.0.0.1", trusted, NULL, "6.6.6.6, 198.51.100.5", out);
	ck_assert_str_eq(out, "198.51.100.5");
	client_addr_resolve("::1", trusted, "2001:DB8::1", NULL, out);
	ck_assert_str_eq(out, "2001:db8::1");
	/* A forwarded value that is no address is ignored. */
	client_addr_resolve("127.0.0.1", trusted, "evil", "also evil", out);
	ck_assert_str_eq(out, "127.0.0.1");
	client_addr_resolve("127.0.0.1", trusted, NULL, NULL, out);
	ck_assert_str_eq(out, "127.0.0.1");
	/* Anyone else's headers are the client's own claims: the peer address stands. */
	client_addr_resolve("203.0.113.9", trusted, "198.51.100.4", "198.51.100.4", out);
	ck_assert_str_eq(out, "203.0.113.9");
	client_addr_resolve("127.0.0.1", "", "198.51.100.4", NULL, out);
	ck_assert_str_eq(out, "127.0.0.1");
}
END_TEST

Suite *client_addr_suite(void)
{
	return SUITE("client_addr",
		     addresses_are_canonical,
		     socket_addresses,
		     trusted_list_matches_whole_entries,
		     forwarded_address_only_from_a_trusted_peer);
}
