/*
 * web.h: the live web view (web/ in the source tree), built into the
 * binary at build time (tools/webgen.sh) and served by the API at "/".
 * Loop thread only.
 */
#ifndef HTTP_WEB_H
#define HTTP_WEB_H

struct evhttp_request;
struct server;

/*
 * Answers a GET or HEAD of one of the view's files ("/" is index.html).
 * Returns 1 if path is one (answered), 0 if not (nothing sent).
 */
int	web_serve(struct server *srv, struct evhttp_request *req, const char *path);

#endif
