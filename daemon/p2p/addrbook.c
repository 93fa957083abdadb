/*
 * addrbook.c: the address book: a list, oldest first.  Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "p2p/addrbook.h"

TAILQ_HEAD(addrbook_list, addrbook_entry);

struct addrbook_self {
	char		host[ADDRBOOK_HOST_MAX];
	uint16_t	port;
};

struct addrbook {
	uint8_t		self_pk[TX_PK_LEN];
	size_t		max;
	struct addrbook_list entries;
	size_t		count;
	struct addrbook_self self[ADDRBOOK_SELF_MAX];
	size_t		nself, selfnext;
};

struct addrbook *
addrbook_new(const uint8_t self_pk[TX_PK_LEN], size_t max)
{
	struct addrbook	*b = xcalloc(1, sizeof(*b));

	memcpy(b->self_pk, self_pk, TX_PK_LEN);
	b->max = max > 0 ? max : 1;
	TAILQ_INIT(&b->entries);
	return b;
}

void
addrbook_free(struct addrbook *b)
{
	struct addrbook_entry	*e;

	if (b == NULL)
		return;
	while ((e = TAILQ_FIRST(&b->entries)) != NULL)
		addrbook_del(b, e);
	free(b);
}

struct addrbook_entry *
addrbook_find(struct addrbook *b, const uint8_t id[TX_PK_LEN])
{
	struct addrbook_entry	*e;

	TAILQ_FOREACH(e, &b->entries, entry) {
		if (memcmp(e->node_id, id, TX_PK_LEN) == 0)
			return e;
	}
	return NULL;
}

void
addrbook_add(struct addrbook *b, const uint8_t id[TX_PK_LEN], const char *host,
    uint16_t port, int direct)
{
	struct addrbook_entry	*e;

	if (memcmp(id, b->self_pk, TX_PK_LEN) == 0 || port == 0 ||
	    addrbook_is_self(b, host, port))
		return;
	if ((e = addrbook_find(b, id)) != NULL) {
		if (e->direct && !direct)
			return;
		e->direct |= direct;
		if (strcmp(e->host, host) != 0 || e->port != port) {
			snprintf(e->host, sizeof(e->host), "%s", host);
			e->port = port;
			e->failures = 0;
			e->next_try_ms = 0;
		}
		return;
	}
	if (b->count >= b->max) {
		/* The oldest hearsay goes first; hearsay never evicts what we saw. */
		TAILQ_FOREACH(e, &b->entries, entry) {
			if (!e->direct)
				break;
		}
		if (e == NULL) {
			if (!direct)
				return;
			e = TAILQ_FIRST(&b->entries);
		}
		addrbook_del(b, e);
	}
	e = xcalloc(1, sizeof(*e));
	memcpy(e->node_id, id, TX_PK_LEN);
	snprintf(e->host, sizeof(e->host), "%s", host);
	e->port = port;
	e->direct = direct;
	TAILQ_INSERT_TAIL(&b->entries, e, entry);
	b->count++;
}

void
addrbook_del(struct addrbook *b, struct addrbook_entry *e)
{
	TAILQ_REMOVE(&b->entries, e, entry);
	b->count--;
	free(e);
}

struct addrbook_entry *
addrbook_first(struct addrbook *b)
{
	return TAILQ_FIRST(&b->entries);
}

struct addrbook_entry *
addrbook_next(struct addrbook_entry *e)
{
	return TAILQ_NEXT(e, entry);
}

size_t
addrbook_count(const struct addrbook *b)
{
	return b->count;
}

int
addrbook_is_self(const struct addrbook *b, const char *host, uint16_t port)
{
	size_t	i;

	for (i = 0; i < b->nself; i++) {
		if (b->self[i].port == port && strcmp(b->self[i].host, host) == 0)
			return 1;
	}
	return 0;
}

int
addrbook_self_add(struct addrbook *b, const char *host, uint16_t port)
{
	struct addrbook_entry	*e, *next;
	struct addrbook_self	*sf;

	if (addrbook_is_self(b, host, port))
		return 0;
	sf = &b->self[b->selfnext];
	b->selfnext = (b->selfnext + 1) % ADDRBOOK_SELF_MAX;
	if (b->nself < ADDRBOOK_SELF_MAX)
		b->nself++;
	snprintf(sf->host, sizeof(sf->host), "%s", host);
	sf->port = port;
	for (e = TAILQ_FIRST(&b->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (e->port == port && strcmp(e->host, host) == 0)
			addrbook_del(b, e);
	}
	return 1;
}
