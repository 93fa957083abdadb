/*
 * hostile.c: the attacker of the hostile benchmark (issue 9,
 * docs/SECURITY.md).  One mode per attack, run for --seconds against one
 * node on a loopback address; prints its counters as one JSON object on
 * stdout at the end (and a progress line on stderr every 5 s with -v).
 *
 *   hostile MODE --target 127.0.0.1:PORT [options]
 *
 * Build (from the repository root, after `make all`):
 *   cc -O2 -g -D_GNU_SOURCE -I. -o build/bench/hostile \
 *       tests/bench/hostile/hostile.c tests/bench/hostile/link.c \
 *       tests/bench/hostile/peers.c tests/bench/hostile/raw.c \
 *       build/libproto.a -levent -lsodium
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sodium.h>

#include "hostile.h"

#define TICK_MS		5
#define PROGRESS_S	5

const char *const hcount_names[HC_COUNT] = {
	"connects", "connect_failed", "accepted", "refused", "handshakes",
	"active", "closed_by_node", "closed_by_us", "bytes_sent", "bytes_recv",
	"inv_frames_sent", "inv_ids_sent", "getdata_frames_sent",
	"getdata_ids_sent", "getdata_ids_recv", "notfound_ids_sent",
	"inv_ids_recv", "tx_recv", "tx_sent", "pings_answered", "throttled",
	"hs_answered", "slow_bytes", "http_requests", "http_401", "http_413",
	"http_other", "http_no_answer", "body_bytes_sent", "probe_ok",
	"probe_fail"
};

static const struct mode *const modes[] = {
	&mode_junk, &mode_getdata, &mode_api, &mode_halfopen, &mode_slowloris,
	&mode_refuse, &mode_replay, &mode_badsig, &mode_spam, &mode_idle,
	&mode_probe
};
#define NMODES	(sizeof(modes) / sizeof(modes[0]))

uint64_t
hostile_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
hostile_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

void
hostile_keygen(uint8_t sk[TX_SK_LEN])
{
	uint8_t pk[TX_PK_LEN];

	crypto_sign_keypair(pk, sk);
}

int
hostile_running(const struct hostile *h)
{
	return !h->stopping;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
"usage: hostile MODE --target HOST:PORT [options]\n"
"Attacks one noded on a loopback address for --seconds, then prints its\n"
"counters as one JSON object.  Modes:\n");
	for (i = 0; i < NMODES; i++)
		fprintf(f, "  %-10s %s\n", modes[i]->name, modes[i]->help);
	fprintf(f,
"Options (defaults depend on the mode, see docs/SECURITY.md):\n"
"  --target HOST:PORT   the node's P2P port (API port for mode api); 127.0.0.0/8\n"
"  --src IP             bind our sockets to this loopback address\n"
"  --network NAME       network name (default devnet)\n"
"  --seconds S          how long (default 20)\n"
"  --conns N            connections / peers kept\n"
"  --rate R             ids/s per peer (junk), connections/s (replay, refuse),\n"
"                       tx/s (spam)\n"
"  --retry-ms MS        wait before reopening a closed connection\n"
"  --ids-per-inv N      junk: ids in one INV (1..1000, default 1000)\n"
"  --notfound           junk: answer the node's GETDATA with NOTFOUND\n"
"  --hold-bytes N       getdata: answer bytes asked per peer (default 15.5 MiB)\n"
"  --rcvbuf N           SO_RCVBUF of our sockets (getdata default 4096)\n"
"  --body-bytes N       api: request body (default 4194304)\n"
"  --byte-ms MS         slowloris: one byte every MS (default 1000)\n"
"  --keys N --memo N    spam: senders (1000) and memo bytes (256)\n"
"  --fixed-key          one node key for every connection (badsig, probe)\n"
"  --fresh-keys         a new node key for every connection (the others)\n"
"  --tries N --timeout-ms MS --interval-ms MS   probe (20, 2000, 800)\n"
"  -v                   progress on stderr every 5 s (-vv: every close)\n");
}

/* IPv4 or IPv6 literal in the loopback range into ss; 0 or -1. */
static int
loopback_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static void
defaults(struct opts *o, const struct mode *m)
{
	struct { const char *mode; unsigned conns; double rate; unsigned retry; } d[] = {
		{ "junk", 125, 2000, 1000 },	{ "getdata", 125, 0, 1000 },
		{ "api", 250, 0, 0 },		{ "halfopen", 250, 0, 100 },
		{ "slowloris", 250, 0, 100 },	{ "refuse", 32, 0, 0 },
		{ "replay", 64, 2800, 0 },	{ "badsig", 1, 0, 0 },
		{ "spam", 4, 1500, 1000 },	{ "idle", 125, 0, 1000 },
		{ "probe", 1, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		if (strcmp(d[i].mode, m->name) != 0)
			continue;
		if (o->conns == (unsigned)-1)
			o->conns = d[i].conns;
		if (o->rate < 0)
			o->rate = d[i].rate;
		if (o->retry_ms == (unsigned)-1)
			o->retry_ms = d[i].retry;
	}
	if (o->rcvbuf < 0)
		o->rcvbuf = m == &mode_getdata ? 4096 : 0;
	if (o->fixed_key < 0)
		o->fixed_key = m == &mode_badsig || m == &mode_probe;
}

static struct hostile H;

static void
stop_all(void)
{
	H.stopping = 1;
	H.end_ns = hostile_now_ns();
	event_base_loopbreak(H.base);
}

static void
tickcb(evutil_socket_t fd, short what, void *arg)
{
	struct hostile *h = arg;
	uint64_t now = hostile_now_ns();
	static uint64_t last_progress;
	size_t i;

	(void)fd;
	(void)what;
	h->active_sum_s += (double)h->active * (double)(now - h->last_tick_ns) / 1e9;
	if (now >= h->start_ns + (uint64_t)(h->o.seconds * 1e9))
		h->stopping = 1;
	h->mode->tick(h, now);
	h->last_tick_ns = now;
	link_reap(h);
	if (h->o.verbose && now - last_progress >= PROGRESS_S * 1000000000ull) {
		last_progress = now;
		fprintf(stderr, "hostile %s %.0fs: links %u active %u (max %u)",
		    h->mode->name, (double)(now - h->start_ns) / 1e9, h->links,
		    h->active, h->active_max);
		for (i = 0; i < HC_COUNT; i++)
			if (h->c[i] != 0)
				fprintf(stderr, " %s=%llu", hcount_names[i],
				    (unsigned long long)h->c[i]);
		fprintf(stderr, "\n");
	}
	if (h->stopping)
		stop_all();
}

static void
sigcb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	stop_all();
}

static void
report(struct hostile *h)
{
	double s = (double)(h->end_ns - h->start_ns) / 1e9;
	size_t i;
	int first = 1;

	printf("{\"mode\":\"%s\",\"target\":\"%s:%u\",\"seconds\":%.2f,"
	    "\"conns\":%u,\"links_open_at_end\":%u,\"active_at_end\":%u,"
	    "\"active_max\":%u,\"active_mean\":%.1f,\"counters\":{",
	    h->mode->name, h->o.host, h->o.port, s, h->o.conns, h->links, h->active,
	    h->active_max, s > 0 ? h->active_sum_s / s : 0.0);
	for (i = 0; i < HC_COUNT; i++) {
		if (h->c[i] == 0)
			continue;
		printf("%s\"%s\":%llu", first ? "" : ",", hcount_names[i],
		    (unsigned long long)h->c[i]);
		first = 0;
	}
	printf("}");
	if (h->mode->report != NULL)
		h->mode->report(h, stdout);
	printf("}\n");
	fflush(stdout);
}

static unsigned
num(const char *opt, const char *s, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
		fprintf(stderr, "hostile: --%s '%s': expected a number 0..%.0f\n",
		    opt, s, max);
		exit(2);
	}
	return (unsigned)v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "src", required_argument, NULL, 'S' },
		{ "network", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "retry-ms", required_argument, NULL, 'R' },
		{ "ids-per-inv", required_argument, NULL, 'i' },
		{ "notfound", no_argument, NULL, 'N' },
		{ "hold-bytes", required_argument, NULL, 'H' },
		{ "rcvbuf", required_argument, NULL, 'b' },
		{ "body-bytes", required_argument, NULL, 'B' },
		{ "byte-ms", required_argument, NULL, 'y' },
		{ "keys", required_argument, NULL, 'k' },
		{ "memo", required_argument, NULL, 'm' },
		{ "fixed-key", no_argument, NULL, 'F' },
		{ "fresh-keys", no_argument, NULL, 'f' },
		{ "tries", required_argument, NULL, 'T' },
		{ "timeout-ms", required_argument, NULL, 'o' },
		{ "interval-ms", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct hostile *h = &H;
	struct opts *o = &h->o;
	struct event *tick, *sigint, *sigterm;
	struct timeval tv = { 0, TICK_MS * 1000 };
	struct rlimit rl;
	const char *target = NULL, *colon;
	size_t i;
	int ch;

	memset(o, 0, sizeof(*o));
	o->seconds = 20;
	o->conns = (unsigned)-1;
	o->rate = -1;
	o->retry_ms = (unsigned)-1;
	o->ids_per_inv = FRAME_MAX_IDS;
	o->hold_bytes = (size_t)(15.5 * 1024 * 1024);
	o->rcvbuf = -1;
	o->body_bytes = 4u << 20;
	o->byte_ms = 1000;
	o->keys = 1000;
	o->memo = TX_MEMO_MAX;
	o->tries = 20;
	o->timeout_ms = 2000;
	o->interval_ms = 800;
	o->fixed_key = -1;
	snprintf(o->network, sizeof(o->network), "devnet");

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 0; i < NMODES; i++)
		if (strcmp(argv[1], modes[i]->name) == 0)
			h->mode = modes[i];
	if (h->mode == NULL) {
		fprintf(stderr, "hostile: unknown mode '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	o->mode = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 't': target = optarg; break;
		case 'S': snprintf(o->src, sizeof(o->src), "%s", optarg); break;
		case 'n': snprintf(o->network, sizeof(o->network), "%s", optarg); break;
		case 's': o->seconds = strtod(optarg, NULL); break;
		case 'c': o->conns = num("conns", optarg, 60000); break;
		case 'r': o->rate = strtod(optarg, NULL); break;
		case 'R': o->retry_ms = num("retry-ms", optarg, 3600000); break;
		case 'i': o->ids_per_inv = num("ids-per-inv", optarg, FRAME_MAX_IDS); break;
		case 'N': o->notfound = 1; break;
		case 'H': o->hold_bytes = strtoull(optarg, NULL, 10); break;
		case 'b': o->rcvbuf = (int)num("rcvbuf", optarg, 1 << 26); break;
		case 'B': o->body_bytes = strtoull(optarg, NULL, 10); break;
		case 'y': o->byte_ms = num("byte-ms", optarg, 600000); break;
		case 'k': o->keys = num("keys", optarg, 1000000); break;
		case 'm': o->memo = num("memo", optarg, TX_MEMO_MAX); break;
		case 'F': o->fixed_key = 1; break;
		case 'f': o->fixed_key = 0; break;
		case 'T': o->tries = num("tries", optarg, 100000); break;
		case 'o': o->timeout_ms = num("timeout-ms", optarg, 3600000); break;
		case 'I': o->interval_ms = num("interval-ms", optarg, 3600000); break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	defaults(o, h->mode);
	if (target == NULL || (colon = strrchr(target, ':')) == NULL ||
	    (size_t)(colon - target) >= sizeof(o->host)) {
		fprintf(stderr, "hostile: --target HOST:PORT is required\n");
		return 2;
	}
	memcpy(o->host, target, (size_t)(colon - target));
	o->host[colon - target] = '\0';
	if (o->host[0] == '[') {
		memmove(o->host, o->host + 1, strlen(o->host));
		o->host[strcspn(o->host, "]")] = '\0';
	}
	o->port = (uint16_t)num("target port", colon + 1, 65535);
	if (loopback_sockaddr(o->host, o->port, &h->target, &h->target_len) == -1) {
		fprintf(stderr, "hostile: --target '%s': must be a literal loopback "
		    "address (127.0.0.0/8 or ::1): this tool attacks only this machine\n",
		    target);
		return 2;
	}
	if (o->src[0] != '\0' &&
	    loopback_sockaddr(o->src, 0, &h->source, &h->source_len) == -1) {
		fprintf(stderr, "hostile: --src '%s': must be a loopback address\n", o->src);
		return 2;
	}
	if (o->ids_per_inv == 0 || o->keys == 0 || o->seconds <= 0 ||
	    (h->mode == &mode_junk && o->rate <= 0) ||
	    (h->mode == &mode_replay && o->rate <= 0) ||
	    (h->mode == &mode_spam && o->rate <= 0)) {
		fprintf(stderr, "hostile: --ids-per-inv, --keys, --seconds and this "
		    "mode's --rate must be above 0\n");
		return 2;
	}

	/* Hundreds of sockets: take every descriptor we are allowed. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "hostile: sodium_init failed\n");
		return 1;
	}
	tx_netid(h->netid, o->network);
	hostile_keygen(h->fixed_sk);
	if ((h->base = event_base_new()) == NULL) {
		fprintf(stderr, "hostile: cannot create the event loop\n");
		return 1;
	}
	h->start_ns = h->last_tick_ns = hostile_now_ns();
	h->mode->start(h);
	tick = event_new(h->base, -1, EV_PERSIST, tickcb, h);
	event_add(tick, &tv);
	sigint = evsignal_new(h->base, SIGINT, sigcb, h);
	sigterm = evsignal_new(h->base, SIGTERM, sigcb, h);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	event_base_dispatch(h->base);
	if (h->end_ns == 0)
		h->end_ns = hostile_now_ns();
	report(h);
	/* The sockets close with the process. */
	return 0;
}
