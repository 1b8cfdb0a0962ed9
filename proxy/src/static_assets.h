/* Files built into the binary: openapi.json and the Swagger UI page with its npm-bundled assets. */
#ifndef TA_STATIC_ASSETS_H
#define TA_STATIC_ASSETS_H

#include <stddef.h>

struct static_asset {
	const char *content_type;
	const unsigned char *data;
	size_t size;
};

/* Fills *out with the asset called name (len bytes): "openapi.json", "index.html" or a Swagger UI file. Returns
 * 0, or -1 when there is none. */
int static_asset_find(const char *name, size_t len, struct static_asset *out);

#endif
