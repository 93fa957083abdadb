/*
 * budget.c: the memory budgets' gauges and the trim after large releases.
 * Loop thread only.
 */
#include <malloc.h>
#include <stddef.h>

#include <event2/event.h>

#include "base/budget.h"
#include "base/stats.h"

/* Freed since the last trim before one is worth it, and how long to gather. */
#define BUDGET_TRIM_BYTES	(4u << 20)
#define BUDGET_TRIM_DELAY_MS	1000
/*
 * Memory no budget counts (a flood's wanted ids, set-aside announcements,
 * the filters of peers gone) is freed bit by bit as it expires: every
 * BUDGET_IDLE_CHECK_S seconds the heap's free bytes are looked at, and past
 * BUDGET_IDLE_FREE they go back to the system.
 */
#define BUDGET_IDLE_CHECK_S	5
#define BUDGET_IDLE_FREE	(8u << 20)

struct budget budgets[BUDGET_KINDS];
const char *const budget_names[BUDGET_KINDS] = {
	[BUDGET_PEER_SEND] = "peer_send",
	[BUDGET_API_BODY] = "api_body",
	[BUDGET_EVENTS] = "events",
};

static uint64_t	budget_freed;		/* since the last trim */
static int	budget_trimming;	/* a trim is scheduled */

void
budget_limit(enum budget_kind k, uint64_t limit)
{
	budgets[k].limit = limit;
}

void
budget_add(enum budget_kind k, uint64_t n)
{
	budgets[k].used += n;
	if (budgets[k].used > budgets[k].peak)
		budgets[k].peak = budgets[k].used;
}

static void
budget_trimcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	budget_trimming = 0;
	budget_freed = 0;
	/* Returns the free pages inside the heap too, not only its top. */
	malloc_trim(0);
	stats.heap_trims++;
}

void
budget_sub(struct event_base *base, enum budget_kind k, uint64_t n)
{
	struct timeval	tv = { 0, BUDGET_TRIM_DELAY_MS * 1000 };

	budgets[k].used = budgets[k].used > n ? budgets[k].used - n : 0;
	budget_freed += n;
	if (budget_freed < BUDGET_TRIM_BYTES || budget_trimming || base == NULL)
		return;
	/* One-shot: event_base_free frees it if the loop ends first. */
	if (event_base_once(base, -1, EV_TIMEOUT, budget_trimcb, NULL, &tv) == 0)
		budget_trimming = 1;
}

void
budget_tick(void)
{
	static unsigned	ticks;
	struct mallinfo2 mi;

	if (++ticks % BUDGET_IDLE_CHECK_S != 0 || budget_trimming)
		return;
	mi = mallinfo2();
	if (mi.fordblks < BUDGET_IDLE_FREE)
		return;
	budget_freed = 0;
	malloc_trim(0);
	stats.heap_trims++;
}

int
budget_over(enum budget_kind k)
{
	return budgets[k].used > budgets[k].limit;
}
