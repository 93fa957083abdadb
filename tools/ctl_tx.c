/*
 * ctl_tx.c: nodectl's wallet and transaction commands: keygen, pubkey,
 * send, submit and tx.  A wallet key file holds the 64-byte libsodium
 * Ed25519 secret key as 128 hex digits and a newline, mode 0600; in memory
 * the key lives only in sodium_malloc'd buffers that are wiped when freed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/util.h"
#include "ctl.h"
#include "proto/hex.h"
#include "proto/tx.h"

#define KEY_HEX_LEN	(2 * TX_SK_LEN)
#define KEY_FILE_MAX	512		/* a key file is 129 bytes; more is not one */
#define NETWORK_MAX	64		/* as noded's --network */
#define TX_HEX_MAX	(2 * TX_MAX_LEN)

enum {
	OPT_OUT = CTL_OPT_COMMAND,
	OPT_FORCE,
	OPT_KEY,
	OPT_TO,
	OPT_AMOUNT,
	OPT_NONCE,
	OPT_MEMO,
	OPT_NETWORK,
	OPT_DRY_RUN,
	OPT_COUNT
};

#define CTL_COUNT_MAX	1000000		/* send --dry-run --count */

int
ctl_keygen(struct ctl *c, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "out",	required_argument,	NULL,	OPT_OUT },
		{ "force",	no_argument,		NULL,	OPT_FORCE },
		{ NULL,		0,			NULL,	0 }
	};
	const char	*out = NULL;
	uint8_t		 pk[TX_PK_LEN], *sk = NULL;
	char		 pkhex[2 * TX_PK_LEN + 1], *skhex = NULL;
	size_t		 off = 0;
	ssize_t		 n;
	int		 ch, fd = -1, force = 0, rc = CTL_ERR;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		switch (ch) {
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_FORCE:
			force = 1;
			break;
		case CTL_OPT_HELP:
			return ctl_help(c->cmd);
		default:
			return CTL_ERR;
		}
	}
	if (ctl_extra_args(c, argc, argv, 0) != 0)
		return CTL_ERR;
	if (out == NULL || *out == '\0')
		return ctl_usage(c, "--out FILE is required");

	if ((sk = sodium_malloc(TX_SK_LEN)) == NULL ||
	    (skhex = sodium_malloc(KEY_HEX_LEN + 2)) == NULL) {
		ctl_warnx("cannot allocate secure memory");
		goto done;
	}
	crypto_sign_keypair(pk, sk);
	hex_encode(skhex, sk, TX_SK_LEN);
	skhex[KEY_HEX_LEN] = '\n';
	hex_encode(pkhex, pk, TX_PK_LEN);

	if (force && unlink(out) == -1 && errno != ENOENT) {
		ctl_warnx("--out '%s': cannot replace: %s", out, strerror(errno));
		goto done;
	}
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		if (errno == EEXIST)
			ctl_warnx("--out '%s': the file exists; give --force "
			    "to replace it", out);
		else
			ctl_warnx("--out '%s': %s", out, strerror(errno));
		goto done;
	}
	while (off < KEY_HEX_LEN + 1) {
		n = write(fd, skhex + off, KEY_HEX_LEN + 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		off += (size_t)n;
	}
	if (off != KEY_HEX_LEN + 1 || fsync(fd) == -1 || close(fd) == -1) {
		ctl_warnx("--out '%s': %s", out, strerror(errno));
		fd = -1;
		unlink(out);
		goto done;
	}
	fd = -1;

	if (c->json) {
		json_t	*j = json_pack("{s:s}", "public_key", pkhex);
		char	*text;

		/* A path that is not UTF-8 cannot go into JSON; leave it out. */
		if (j != NULL)
			json_object_set_new(j, "key_file", json_string(out));
		if (j == NULL || (text = json_dumps(j, JSON_COMPACT)) == NULL) {
			json_decref(j);
			ctl_warnx("out of memory");
			goto done;
		}
		printf("%s\n", text);
		free(text);
		json_decref(j);
	} else
		printf("%s\n", pkhex);
	rc = CTL_OK;
done:
	if (fd != -1)
		close(fd);
	sodium_free(sk);
	sodium_free(skhex);
	return rc;
}

/*
 * Reads the wallet key in path into sodium_malloc'd memory the caller frees
 * with sodium_free; checks that its public half matches its secret half.
 * Returns NULL after printing what is wrong.
 */
static uint8_t *
ctl_key_load(const char *path)
{
	struct stat	 st;
	uint8_t		*sk = NULL, *scratch = NULL;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, ok = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		ctl_warnx("--key '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		ctl_warnx("--key '%s': not a regular file", path);
		goto done;
	}
	if (st.st_size > KEY_FILE_MAX) {
		ctl_warnx("--key '%s': %jd bytes: not a key file (128 hex "
		    "digits)", path, (intmax_t)st.st_size);
		goto done;
	}
	if ((st.st_mode & 077) != 0)
		ctl_warnx("warning: key file '%s' is open to other users "
		    "(mode %04o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
	if ((buf = sodium_malloc(KEY_FILE_MAX + 1)) == NULL ||
	    (sk = sodium_malloc(TX_SK_LEN)) == NULL ||
	    (scratch = sodium_malloc(TX_PK_LEN + TX_SK_LEN + 32)) == NULL) {
		ctl_warnx("cannot allocate secure memory");
		goto done;
	}
	while (len < KEY_FILE_MAX + 1) {
		n = read(fd, buf + len, KEY_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ctl_warnx("--key '%s': %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len != KEY_HEX_LEN || hex_decode(sk, TX_SK_LEN, buf, len) == -1) {
		ctl_warnx("--key '%s': not a key file (expected 128 hex "
		    "digits and a newline, as keygen writes)", path);
		goto done;
	}
	/* The seed must give back the public half stored beside it. */
	crypto_sign_ed25519_sk_to_seed(scratch + TX_PK_LEN + TX_SK_LEN, sk);
	crypto_sign_seed_keypair(scratch, scratch + TX_PK_LEN,
	    scratch + TX_PK_LEN + TX_SK_LEN);
	if (sodium_memcmp(scratch, sk + 32, TX_PK_LEN) != 0) {
		ctl_warnx("--key '%s': damaged key file (its public half does "
		    "not match its secret half)", path);
		goto done;
	}
	ok = 1;
done:
	close(fd);
	sodium_free(buf);
	sodium_free(scratch);
	if (!ok) {
		sodium_free(sk);
		return NULL;
	}
	return sk;
}

int
ctl_pubkey(struct ctl *c, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "key",	required_argument,	NULL,	OPT_KEY },
		{ NULL,		0,			NULL,	0 }
	};
	const char	*key = NULL;
	uint8_t		*sk;
	char		 pkhex[2 * TX_PK_LEN + 1];
	int		 ch;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		switch (ch) {
		case OPT_KEY:
			key = optarg;
			break;
		case CTL_OPT_HELP:
			return ctl_help(c->cmd);
		default:
			return CTL_ERR;
		}
	}
	if (ctl_extra_args(c, argc, argv, 0) != 0)
		return CTL_ERR;
	if (key == NULL)
		return ctl_usage(c, "--key FILE is required");
	if ((sk = ctl_key_load(key)) == NULL)
		return CTL_ERR;
	hex_encode(pkhex, sk + 32, TX_PK_LEN);
	sodium_free(sk);
	if (c->json)
		printf("{\"public_key\": \"%s\"}\n", pkhex);
	else
		printf("%s\n", pkhex);
	return CTL_OK;
}

/* A network by name and id, as the node's status gives them. */
struct ctl_network {
	char	name[NETWORK_MAX + 1];		/* "" while unknown */
	char	id[2 * TX_NETID_LEN + 1];	/* hex */
};

/* What send signed for, and what it knows of the node's network. */
struct ctl_sendnet {
	struct ctl_network	ours;
	struct ctl_network	node;		/* name "" while not asked */
};

/*
 * Asks the node for its network (GET /v1/status) into net.  Returns 0, or
 * -1 with err saying why not and *status the HTTP status (0: no answer).
 * Prints nothing.
 */
static int
ctl_node_network(struct ctl *c, struct ctl_network *net, int *status,
    char *err, size_t errlen)
{
	struct ctl_answer	 a;
	const char		*name, *id, *msg;
	char			 safe[256];
	int			 rc = -1;

	*status = 0;
	if (ctl_fetch(c, "GET", "/v1/status", NULL, &a, err, errlen) == -1)
		return -1;
	*status = a.status;
	name = json_string_value(json_object_get(a.json, "network"));
	id = json_string_value(json_object_get(a.json, "network_id"));
	if (a.status != 200) {
		msg = json_string_value(json_object_get(a.json, "error"));
		ctl_safe(safe, sizeof(safe), msg != NULL ? msg : a.reason);
		snprintf(err, errlen, "%s: GET /v1/status: %s (HTTP %d)",
		    c->nodes[0].text, safe, a.status);
	} else if (name == NULL || *name == '\0' || strlen(name) > NETWORK_MAX)
		snprintf(err, errlen, "%s: GET /v1/status names no network",
		    c->nodes[0].text);
	else {
		snprintf(net->name, sizeof(net->name), "%s", name);
		if (id != NULL && hex_valid(id, 2 * TX_NETID_LEN))
			snprintf(net->id, sizeof(net->id), "%s", id);
		else {
			uint8_t	netid[TX_NETID_LEN];

			tx_netid(netid, net->name);
			hex_encode(net->id, netid, sizeof(netid));
		}
		rc = 0;
	}
	ctl_answer_free(&a);
	return rc;
}

/*
 * A wrong-network rejection of send: names both networks, which the node
 * cannot do for a network it does not know by name.
 */
static void
ctl_wrong_network(struct ctl *c, struct ctl_sendnet *sn, char *out,
    size_t outlen)
{
	char	err[1024], ours[NETWORK_MAX * 4 + 1], node[NETWORK_MAX * 4 + 1];
	int	status;

	if (sn->node.name[0] == '\0' &&
	    ctl_node_network(c, &sn->node, &status, err, sizeof(err)) == -1)
		sn->node.name[0] = '\0';
	ctl_safe(ours, sizeof(ours), sn->ours.name);
	if (sn->node.name[0] == '\0') {
		snprintf(out, outlen, "wrong network: signed for %s (netid %.16s), "
		    "not the node's", ours, sn->ours.id);
		return;
	}
	ctl_safe(node, sizeof(node), sn->node.name);
	snprintf(out, outlen, "wrong network: signed for %s (netid %.16s), this "
	    "node is on %s (netid %.16s)", ours, sn->ours.id, node, sn->node.id);
	ctl_warnx("leave out --network to sign for the node's network, or give "
	    "--network %s", node);
}

/*
 * Prints the verdict of POST /v1/tx: "<id> accepted" or "<id> rejected:
 * <reason>"; local_id stands in when the node names none.  sn: what send
 * signed for (NULL for submit).
 */
static int
ctl_verdict(struct ctl *c, struct ctl_answer *a, const char *local_id,
    struct ctl_sendnet *sn)
{
	const char	*id, *reason, *msg, *code;
	char		 sid[TX_ID_HEX_LEN + 16], sreason[1024];

	/* 503 with a status: a verdict too ("store error": not kept, retry). */
	if ((a->status != 200 && a->status != 422 && !(a->status == 503 &&
	    json_is_object(a->json) && json_object_get(a->json, "status") != NULL)) ||
	    !json_is_object(a->json))
		return ctl_answer_error(c, a);
	if (c->json) {
		ctl_print_raw(a);
		return a->status == 200 ? CTL_OK : CTL_FAIL;
	}
	id = json_string_value(json_object_get(a->json, "id"));
	if (id == NULL)
		id = local_id;
	if (id != NULL)
		ctl_safe(sid, sizeof(sid), id);
	if (a->status == 200) {
		printf("%s accepted%s\n", id != NULL ? sid : "-",
		    json_is_true(json_object_get(a->json, "duplicate")) ?
		    " (duplicate)" : "");
		return CTL_OK;
	}
	reason = json_string_value(json_object_get(a->json, "reason"));
	msg = json_string_value(json_object_get(a->json, "message"));
	code = json_string_value(json_object_get(a->json, "code"));
	/* The message adds detail ("amount too high: 150 > 100") after the reason. */
	if (reason == NULL || (msg != NULL &&
	    strncmp(msg, reason, strlen(reason)) == 0))
		reason = msg;
	ctl_safe(sreason, sizeof(sreason), reason != NULL ? reason :
	    "no reason given");
	/* An older node sends no code, but the same reason text. */
	if (sn != NULL && ((code != NULL && strcmp(code, "wrong_network") == 0) ||
	    (code == NULL && reason != NULL &&
	    strncmp(reason, "wrong network", 13) == 0)))
		ctl_wrong_network(c, sn, sreason, sizeof(sreason));
	if (id != NULL)
		printf("%s rejected: %s\n", sid, sreason);
	else
		printf("rejected: %s\n", sreason);
	return CTL_FAIL;
}

/* POSTs the transaction in hex and prints the verdict (sn: see ctl_verdict). */
static int
ctl_post_tx(struct ctl *c, const char *hex, const char *local_id,
    struct ctl_sendnet *sn)
{
	struct ctl_answer	 a;
	json_t			*body;
	int			 rc;

	if ((body = json_pack("{s:s}", "tx", hex)) == NULL) {
		ctl_warnx("out of memory");
		return CTL_ERR;
	}
	rc = ctl_call(c, "POST", "/v1/tx", body, &a);
	json_decref(body);
	if (rc == -1)
		return CTL_ERR;
	rc = ctl_verdict(c, &a, local_id, sn);
	ctl_answer_free(&a);
	return rc;
}

int
ctl_send(struct ctl *c, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "key",	required_argument,	NULL,	OPT_KEY },
		{ "to",		required_argument,	NULL,	OPT_TO },
		{ "amount",	required_argument,	NULL,	OPT_AMOUNT },
		{ "nonce",	required_argument,	NULL,	OPT_NONCE },
		{ "memo",	required_argument,	NULL,	OPT_MEMO },
		{ "network",	required_argument,	NULL,	OPT_NETWORK },
		{ "dry-run",	no_argument,		NULL,	OPT_DRY_RUN },
		{ "count",	required_argument,	NULL,	OPT_COUNT },
		{ NULL,		0,			NULL,	0 }
	};
	const char	*key = NULL, *to = NULL, *memo = NULL, *network = NULL;
	uint64_t	 amount = 0, nonce = 0, count = 1, i;
	int		 have_amount = 0, have_nonce = 0, dry_run = 0, ch, rc;
	int		 status;
	struct ctl_sendnet sn;
	char		 err[1024];
	struct tx	 t;
	uint8_t		*sk, buf[TX_MAX_LEN], id[TX_ID_LEN];
	char		 hex[TX_HEX_MAX + 1], idhex[TX_ID_HEX_LEN + 1];
	size_t		 len;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		switch (ch) {
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_AMOUNT:
			if (ctl_parse_u64(c, "--amount", optarg, &amount) == -1)
				return CTL_ERR;
			have_amount = 1;
			break;
		case OPT_NONCE:
			if (ctl_parse_u64(c, "--nonce", optarg, &nonce) == -1)
				return CTL_ERR;
			have_nonce = 1;
			break;
		case OPT_MEMO:
			memo = optarg;
			break;
		case OPT_NETWORK:
			network = optarg;
			break;
		case OPT_DRY_RUN:
			dry_run = 1;
			break;
		case OPT_COUNT:
			if (ctl_parse_u64(c, "--count", optarg, &count) == -1)
				return CTL_ERR;
			if (count < 1 || count > CTL_COUNT_MAX)
				return ctl_usage(c, "--count %s: must be 1..%d",
				    optarg, CTL_COUNT_MAX);
			break;
		case CTL_OPT_HELP:
			return ctl_help(c->cmd);
		default:
			return CTL_ERR;
		}
	}
	if (ctl_extra_args(c, argc, argv, 0) != 0)
		return CTL_ERR;
	if (key == NULL)
		return ctl_usage(c, "--key FILE is required");
	if (to == NULL)
		return ctl_usage(c, "--to PUBKEY is required");
	if (!have_amount)
		return ctl_usage(c, "--amount N is required");
	if (count > 1 && !dry_run)
		return ctl_usage(c, "--count: only with --dry-run (it prints the "
		    "transactions; submit sends one)");
	if (!hex_valid(to, 2 * TX_PK_LEN))
		return ctl_usage(c, "--to: expected 64 hex characters");
	if (memo != NULL && strlen(memo) > TX_MEMO_MAX)
		return ctl_usage(c, "--memo: %zu bytes; at most %d",
		    strlen(memo), TX_MEMO_MAX);
	if (network != NULL && (*network == '\0' || strlen(network) > NETWORK_MAX))
		return ctl_usage(c, "--network '%s': 1 to %d bytes", network,
		    NETWORK_MAX);
	memset(&sn, 0, sizeof(sn));
	/* A dry run asks a node only for its network, and only if it can. */
	if ((network == NULL || !dry_run) &&
	    (rc = ctl_connect_setup(c, 0)) != 0)
		return rc;
	if (network == NULL &&
	    ctl_node_network(c, &sn.node, &status, err, sizeof(err)) == -1) {
		if (!dry_run) {
			ctl_warnx("%s", err);
			if (status == 401)
				ctl_token_hint(c);
			else if (status != 0)
				ctl_warnx("give --network NAME");
			return CTL_ERR;
		}
		ctl_warnx("%s: signed for %s (give --network NAME to choose)",
		    err, CTL_DEFAULT_NETWORK);
		network = CTL_DEFAULT_NETWORK;
	} else if (network == NULL)
		network = sn.node.name;
	snprintf(sn.ours.name, sizeof(sn.ours.name), "%s", network);

	memset(&t, 0, sizeof(t));
	t.version = TX_VERSION;
	tx_netid(t.netid, network);
	hex_encode(sn.ours.id, t.netid, TX_NETID_LEN);
	hex_decode(t.recipient, TX_PK_LEN, to, 2 * TX_PK_LEN);
	t.amount = amount;
	if (memo != NULL) {
		t.memo_len = (uint16_t)strlen(memo);
		memcpy(t.memo, memo, t.memo_len);
	}
	if ((sk = ctl_key_load(key)) == NULL)
		return CTL_ERR;
	/* --count N: N of them, each with its own nonce (consecutive from --nonce). */
	for (i = 0, rc = 0; i < count && rc == 0; i++) {
		if (have_nonce)
			t.nonce = nonce + i;
		else {
			randombytes_buf(&t.nonce, sizeof(t.nonce));
			/* 63 bits: fresh enough, and an integer (not a string) in JSON. */
			t.nonce &= INT64_MAX;
		}
		t.timestamp_ms = now_ms();
		if ((rc = tx_sign(&t, sk)) == -1)
			ctl_warnx("cannot sign the transaction");
		else if ((len = tx_encode(&t, buf, sizeof(buf))) == 0) {
			ctl_warnx("cannot encode the transaction");
			rc = -1;
		} else {
			hex_encode(hex, buf, len);
			tx_id(&t, id);
			hex_encode(idhex, id, sizeof(id));
			if (!dry_run)
				break;
			if (c->json)
				printf("{\"id\": \"%s\", \"nonce\": %" PRIu64 ", "
				    "\"tx\": \"%s\"}\n", idhex, t.nonce, hex);
			else
				printf("%s\n", hex);
		}
	}
	sodium_free(sk);
	if (rc == -1)
		return CTL_ERR;
	if (dry_run)
		return fflush(stdout) == 0 ? CTL_OK : CTL_ERR;
	return ctl_post_tx(c, hex, idhex, &sn);
}

/* Reads one transaction in hex from standard input, bounded. */
static int
ctl_read_stdin_hex(struct ctl *c, char *hex, size_t hexsize)
{
	size_t	len = 0, start = 0;
	ssize_t	n;

	while (len < hexsize - 1) {
		n = read(STDIN_FILENO, hex + len, hexsize - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ctl_warnx("standard input: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == hexsize - 1) {
		ctl_usage(c, "standard input: more than a transaction "
		    "(%zu hex digits at most)", hexsize - 3);
		return -1;
	}
	while (len > 0 && (hex[len - 1] == '\n' || hex[len - 1] == '\r' ||
	    hex[len - 1] == ' ' || hex[len - 1] == '\t'))
		len--;
	while (start < len && (hex[start] == ' ' || hex[start] == '\t' ||
	    hex[start] == '\n'))
		start++;
	memmove(hex, hex + start, len - start);
	hex[len - start] = '\0';
	return 0;
}

int
ctl_submit(struct ctl *c, int argc, char **argv)
{
	char		 hex[TX_HEX_MAX + 4], idhex[TX_ID_HEX_LEN + 1];
	const char	*arg, *local_id = NULL;
	uint8_t		 buf[TX_MAX_LEN], id[TX_ID_LEN];
	struct tx	 t;
	size_t		 len;
	int		 rc;

	if (ctl_no_options(c, argc, argv, 1, &rc) == -1)
		return rc;
	if (optind >= argc)
		return ctl_usage(c, "the transaction in hex (or -) is required");
	arg = argv[optind];
	if (strcmp(arg, "-") == 0) {
		if (ctl_read_stdin_hex(c, hex, sizeof(hex)) == -1)
			return CTL_ERR;
	} else {
		if (strlen(arg) > TX_HEX_MAX)
			return ctl_usage(c, "HEX: %zu hex digits; a transaction "
			    "has at most %d", strlen(arg), TX_HEX_MAX);
		snprintf(hex, sizeof(hex), "%s", arg);
	}
	len = strlen(hex);
	if (len == 0)
		return ctl_usage(c, "HEX: empty");
	if (len > TX_HEX_MAX)
		return ctl_usage(c, "HEX: %zu hex digits; a transaction has at "
		    "most %d", len, TX_HEX_MAX);
	if (!hex_valid(hex, len))
		return ctl_usage(c, "HEX: not hex (only 0-9, a-f and A-F)");
	if (len % 2 != 0)
		return ctl_usage(c, "HEX: an odd number of hex digits (%zu)", len);
	if ((rc = ctl_connect_setup(c, 0)) != 0)
		return rc;

	/* The node judges it; the local id only stands in if none comes back. */
	if (hex_decode(buf, len / 2, hex, len) == 0 &&
	    tx_decode(&t, buf, len / 2) == TX_OK) {
		tx_id(&t, id);
		hex_encode(idhex, id, sizeof(id));
		local_id = idhex;
	}
	return ctl_post_tx(c, hex, local_id, NULL);
}

int
ctl_tx(struct ctl *c, int argc, char **argv)
{
	static const char	*fields[] = { "id", "version", "network",
	    "sender", "recipient", "amount", "nonce", "timestamp_ms", "memo",
	    "memo_hex", "size", "added_ms" };
	struct ctl_answer	 a;
	struct ctl_table	*t;
	const json_t		*v;
	char			 path[64 + TX_ID_HEX_LEN], val[1200], when[64];
	char			 memo[1200];
	char			 id[TX_ID_HEX_LEN + 1];
	size_t			 i;
	int			 rc;

	if (ctl_no_options(c, argc, argv, 1, &rc) == -1)
		return rc;
	if (optind >= argc)
		return ctl_usage(c, "the transaction ID is required");
	if (!hex_valid(argv[optind], TX_ID_HEX_LEN))
		return ctl_usage(c, "ID '%.80s': expected 64 hex characters",
		    argv[optind]);
	for (i = 0; i < TX_ID_HEX_LEN; i++)
		id[i] = (char)(argv[optind][i] | 0x20);	/* lower case */
	id[TX_ID_HEX_LEN] = '\0';
	if ((rc = ctl_connect_setup(c, 0)) != 0)
		return rc;

	snprintf(path, sizeof(path), "/v1/tx/%s", id);
	if (ctl_call(c, "GET", path, NULL, &a) == -1)
		return CTL_ERR;
	if (a.status != 200 || !json_is_object(a.json)) {
		rc = ctl_answer_error(c, &a);
		ctl_answer_free(&a);
		return rc;
	}
	if (c->json) {
		ctl_print_raw(&a);
		ctl_answer_free(&a);
		return CTL_OK;
	}
	t = ctl_table_new(2, "ll");
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if ((v = json_object_get(a.json, fields[i])) == NULL)
			continue;
		ctl_value(val, sizeof(val), v);
		if (strcmp(fields[i], "timestamp_ms") == 0 ||
		    strcmp(fields[i], "added_ms") == 0) {
			if (json_is_integer(v) && json_integer_value(v) >= 0) {
				ctl_time_ms(when, sizeof(when),
				    (uint64_t)json_integer_value(v));
				snprintf(val, sizeof(val), "%s (%" JSON_INTEGER_FORMAT
				    ")", when, json_integer_value(v));
			}
			ctl_table_add(t, fields[i][0] == 't' ? "timestamp" :
			    "added", val);
		} else if (strcmp(fields[i], "memo") == 0) {
			if (json_is_string(v) && json_string_length(v) > 0)
				ctl_table_add(t, "memo", val);
		} else if (strcmp(fields[i], "memo_hex") == 0) {
			/* Only worth a line when the memo is not plain text. */
			v = json_object_get(a.json, "memo");
			ctl_value(memo, sizeof(memo), v);
			if (v != NULL && json_is_string(v) &&
			    strcmp(memo, json_string_value(v)) != 0)
				ctl_table_add(t, "memo hex", val);
		} else
			ctl_table_add(t, fields[i], val);
	}
	ctl_table_print(t, stdout);
	ctl_answer_free(&a);
	return CTL_OK;
}
