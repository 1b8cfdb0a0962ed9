/* Embeds the docs files (Swagger UI and ReDoc); the Makefile passes the directories with -Wa,-I. */
#define EMBED(sym, file)            \
	.global sym##_start;        \
	.global sym##_end;          \
	.balign 16;                 \
sym##_start:                        \
	.incbin file;               \
sym##_end:                          \
	.byte 0

	.section .rodata
EMBED(asset_openapi_json, "openapi.json")
EMBED(asset_docs_index_html, "index.html")
EMBED(asset_redoc_html, "redoc.html")
EMBED(asset_swagger_ui_css, "swagger-ui.css")
EMBED(asset_swagger_ui_bundle_js, "swagger-ui-bundle.js")
EMBED(asset_favicon_png, "favicon-32x32.png")
EMBED(asset_redoc_standalone_js, "redoc.standalone.js")

	.section .note.GNU-stack,"",@progbits
