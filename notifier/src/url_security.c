/* URL host checks with libcurl's own parser (CURLU), so the host judged is the one curl connects to. */
#include "url_security.h"

#include <curl/curl.h>
#include <string.h>

char *url_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;

	if (u == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		host = NULL;
	curl_url_cleanup(u);
	return host;
}

/* An IPv4 literal in 127.0.0.0/8 ("127.example.com" is a name, not loopback). */
static bool is_ipv4_loopback(const char *host)
{
	int dots = 0;

	if (strncmp(host, "127.", 4) != 0)
		return false;
	for (const char *p = host; *p != '\0'; p++) {
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			return false;
	}
	return dots == 3;
}

bool url_is_loopback(const char *url)
{
	char *host = url_host(url);
	bool loopback;

	if (host == NULL)
		return false;
	loopback = strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0 ||
		   is_ipv4_loopback(host);
	curl_free(host);
	return loopback;
}
