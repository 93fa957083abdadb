/*
 * jenc.c: JSON values of the API's answers and events.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "http/jenc.h"
#include "lib/util.h"
#include "proto/hex.h"

json_t *
jenc_str(const char *s)
{
	json_t	*j;
	char	*copy, *p;

	if ((j = json_string(s)) != NULL)
		return j;
	copy = xstrdup(s);
	for (p = copy; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	}
	j = json_string(copy);
	free(copy);
	return j != NULL ? j : json_string("");
}

json_t *
jenc_u64(uint64_t v)
{
	char	buf[24];

	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

json_t *
jenc_hex(const uint8_t *p, size_t len)
{
	char	*buf;
	json_t	*j;

	buf = xmalloc(2 * len + 1);
	hex_encode(buf, p, len);
	j = json_string(buf);
	free(buf);
	return j;
}

json_t *
jenc_peer(const struct peer_info *p)
{
	json_t	*o = json_object();

	json_object_set_new(o, "node_id", jenc_str(p->node_id));
	json_object_set_new(o, "name", jenc_str(p->name));
	json_object_set_new(o, "addr", jenc_str(p->addr));
	json_object_set_new(o, "direction", json_string(p->outbound ?
	    "outbound" : "inbound"));
	return o;
}
