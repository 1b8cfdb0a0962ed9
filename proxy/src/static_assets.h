/* Files built into the binary: openapi.json, the Swagger UI and ReDoc pages and their npm-bundled assets. */
#ifndef TA_STATIC_ASSETS_H
#define TA_STATIC_ASSETS_H

#include <stddef.h>

struct static_asset {
	const char *content_type;
	const unsigned char *data;
	size_t size;
};

/* Fills *out with the asset called name (len bytes): "openapi.json", "index.html", "redoc.html" or a
 * Swagger UI or ReDoc file. Returns 0, or -1 when there is none. */
int static_asset_find(const char *name, size_t len, struct static_asset *out);

#endif
