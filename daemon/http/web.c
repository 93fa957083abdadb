/*
 * web.c: the web view's files (web/), which tools/webgen.sh turns into
 * byte arrays at build time (build/web_assets.inc).  They are the same for
 * everyone and hold no secret, so they are served without the API token;
 * the page asks for the token and sends it with its API requests.  Nothing
 * is fetched from elsewhere: the CSP says so to the browser.  Loop thread.
 */
#include <stddef.h>
#include <string.h>

#include <event2/http.h>

#include "http/server.h"
#include "http/web.h"

struct web_asset {
	const char		*path;
	const char		*ctype;
	const unsigned char	*data;
	size_t			 len;
};

#include "web_assets.inc"

int
web_serve(struct server *srv, struct evhttp_request *req, const char *path)
{
	struct evkeyvalq	*h;
	size_t			 i;

	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (i = 0; i < sizeof(web_assets) / sizeof(web_assets[0]); i++) {
		if (strcmp(path, web_assets[i].path) != 0)
			continue;
		h = evhttp_request_get_output_headers(req);
		evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
		evhttp_add_header(h, "Content-Security-Policy", "default-src "
		    "'self'; connect-src *; img-src 'self' data:; "
		    "frame-ancestors 'none'");
		server_reply(srv, req, 200, web_assets[i].ctype,
		    (const char *)web_assets[i].data, web_assets[i].len);
		return 1;
	}
	return 0;
}
