/*
 * budget.h: the node's memory budgets (docs/SECURITY.md, "Memory budgets"):
 * bytes queued to peers, API request bodies held, unsent event-stream
 * bytes.  Each owner adds and removes what it holds; metrics and
 * GET /v1/stats read the gauges and the counts of connections cut for
 * being over a budget.  A large release is followed, a second later, by
 * malloc_trim, so that what an attack made the node hold goes back to the
 * system (glibc keeps freed heap otherwise); so is a heap found with much
 * free memory at budget_tick.  Loop thread only.
 */
#ifndef BASE_BUDGET_H
#define BASE_BUDGET_H

#include <stdint.h>

struct event_base;

enum budget_kind {
	BUDGET_PEER_SEND = 0,
	BUDGET_API_BODY,
	BUDGET_EVENTS,
	BUDGET_KINDS
};

struct budget {
	uint64_t	used;		/* bytes held now */
	uint64_t	limit;		/* the option's value */
	uint64_t	peak;		/* most held at once */
	uint64_t	cuts;		/* connections closed for being over */
	uint64_t	refused;	/* requests refused (API) or reads paused (peers) */
};

extern struct budget budgets[BUDGET_KINDS];
/* "peer_send", "api_body", "events": the kind label of the metrics. */
extern const char *const budget_names[BUDGET_KINDS];

/* Sets a budget's limit (at start, from the options). */
void	budget_limit(enum budget_kind k, uint64_t limit);
/* n more bytes held. */
void	budget_add(enum budget_kind k, uint64_t n);
/* n bytes fewer; base: the loop that runs the trim once enough was freed. */
void	budget_sub(struct event_base *base, enum budget_kind k, uint64_t n);
/* Once a second: gives a heap with much free memory back to the system. */
void	budget_tick(void);
/* 1 if k holds more than its limit. */
int	budget_over(enum budget_kind k);

#endif
