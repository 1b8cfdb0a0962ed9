/* Whether a URL's host is this machine, where plain text may be allowed (tests, a local relay). */
#ifndef NOTIFIER_URL_SECURITY_H
#define NOTIFIER_URL_SECURITY_H

#include <stdbool.h>

/* True when url parses and its host is 127.0.0.0/8, ::1 or localhost. */
bool url_is_loopback(const char *url);

/* The URL's host for log lines (no user, password or path); caller frees with curl_free. NULL if unparsable. */
char *url_host(const char *url);

#endif
