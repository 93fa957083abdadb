/* util.h: allocation wrappers (failure is fatal) and clocks. */
#ifndef DAEMON_UTIL_H
#define DAEMON_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Allocation failure aborts with a message; callers never check.  Any thread. */
void	*xmalloc(size_t n);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t n);
char	*xstrdup(const char *s);

/* Wall clock in ms / us since the epoch; monotonic clock in ns.  Any thread. */
uint64_t now_ms(void);
uint64_t now_us(void);
uint64_t mono_ns(void);

#endif
