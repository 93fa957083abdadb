/*
 * hub.c: the node's event hub: a fixed table of subscribers per topic.
 * Loop thread only.
 */
#include <string.h>

#include "base/hub.h"

static struct {
	hub_cb		 cb;
	void		*arg;
} hub_subs[HUB_NTOPICS][HUB_SUBSCRIBERS_MAX];
static unsigned hub_nsubs[HUB_NTOPICS];

int
hub_subscribe(enum hub_topic topic, hub_cb cb, void *arg)
{
	unsigned	n;

	if ((unsigned)topic >= HUB_NTOPICS ||
	    (n = hub_nsubs[topic]) == HUB_SUBSCRIBERS_MAX)
		return -1;
	hub_subs[topic][n].cb = cb;
	hub_subs[topic][n].arg = arg;
	hub_nsubs[topic] = n + 1;
	return 0;
}

void
hub_unsubscribe(void *arg)
{
	unsigned	t, i, k;

	for (t = 0; t < HUB_NTOPICS; t++) {
		for (i = k = 0; i < hub_nsubs[t]; i++) {
			if (hub_subs[t][i].arg != arg)
				hub_subs[t][k++] = hub_subs[t][i];
		}
		hub_nsubs[t] = k;
	}
}

int
hub_wanted(enum hub_topic topic)
{
	return (unsigned)topic < HUB_NTOPICS && hub_nsubs[topic] > 0;
}

/* True while cb/arg is subscribed to topic. */
static int
hub_subscribed(unsigned topic, hub_cb cb, void *arg)
{
	unsigned	i;

	for (i = 0; i < hub_nsubs[topic]; i++) {
		if (hub_subs[topic][i].cb == cb && hub_subs[topic][i].arg == arg)
			return 1;
	}
	return 0;
}

void
hub_post(const struct hub_event *ev)
{
	unsigned	i, n;
	hub_cb		cbs[HUB_SUBSCRIBERS_MAX];
	void		*args[HUB_SUBSCRIBERS_MAX];

	if ((unsigned)ev->topic >= HUB_NTOPICS)
		return;
	/*
	 * The subscribers as they were when the event came: one that leaves
	 * while called must not make the next miss it, and one that another
	 * removed meanwhile is not called.
	 */
	n = hub_nsubs[ev->topic];
	for (i = 0; i < n; i++) {
		cbs[i] = hub_subs[ev->topic][i].cb;
		args[i] = hub_subs[ev->topic][i].arg;
	}
	for (i = 0; i < n; i++) {
		if (hub_subscribed(ev->topic, cbs[i], args[i]))
			cbs[i](ev, args[i]);
	}
}
