/* base64url (RFC 4648 section 5) without padding, as JWTs use it. */
#ifndef TA_BASE64URL_H
#define TA_BASE64URL_H

#include <stddef.h>

/* Encodes len bytes of src; returns a palloc'd NUL-terminated string (caller frees). */
extern char *base64url_encode(const unsigned char *src, size_t len);

/*
 * Decodes len characters of src into a palloc'd buffer with a NUL after the
 * data (caller frees); sets *out_len. Returns NULL on any character outside the
 * alphabet, on padding, or on a length no encoder produces.
 */
extern unsigned char *base64url_decode(const char *src, size_t len, size_t *out_len);

#endif
