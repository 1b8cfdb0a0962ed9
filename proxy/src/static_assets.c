/* Lookup of the files that static_assets.S embeds with .incbin. */
#include "static_assets.h"

#include <string.h>

#define EMBEDDED(sym) extern const unsigned char sym##_start[], sym##_end[]
EMBEDDED(asset_openapi_json);
EMBEDDED(asset_docs_index_html);
EMBEDDED(asset_redoc_html);
EMBEDDED(asset_swagger_ui_css);
EMBEDDED(asset_swagger_ui_bundle_js);
EMBEDDED(asset_favicon_png);
EMBEDDED(asset_redoc_standalone_js);
#undef EMBEDDED

#define ASSET(name, type, sym) {name, type, sym##_start, sym##_end}

static const struct {
	const char *name;
	const char *content_type;
	const unsigned char *start, *end;
} assets[] = {
	ASSET("openapi.json", "application/json", asset_openapi_json),
	ASSET("index.html", "text/html; charset=utf-8", asset_docs_index_html),
	ASSET("redoc.html", "text/html; charset=utf-8", asset_redoc_html),
	ASSET("swagger-ui.css", "text/css; charset=utf-8", asset_swagger_ui_css),
	ASSET("swagger-ui-bundle.js", "text/javascript; charset=utf-8", asset_swagger_ui_bundle_js),
	ASSET("favicon-32x32.png", "image/png", asset_favicon_png),
	ASSET("redoc.standalone.js", "text/javascript; charset=utf-8", asset_redoc_standalone_js),
};

int static_asset_find(const char *name, size_t len, struct static_asset *out)
{
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		if (strlen(assets[i].name) != len || memcmp(assets[i].name, name, len) != 0)
			continue;
		out->content_type = assets[i].content_type;
		out->data = assets[i].start;
		out->size = (size_t)(assets[i].end - assets[i].start);
		return 0;
	}
	return -1;
}
