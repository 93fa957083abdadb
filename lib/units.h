/*
 * units.h: durations ("50ms") and bit rates ("1mbit") as the command line,
 * the config file and the API write them, in the units of tc-netem(8).
 * Pure: no allocation.  Any thread.
 */
#ifndef LIB_UNITS_H
#define LIB_UNITS_H

#include <stddef.h>
#include <stdint.h>

/*
 * A duration: digits with a unit of us, ms or s; bare digits are
 * milliseconds.  Stores microseconds.  0, -1 (not a duration) or -2 (over
 * UINT64_MAX microseconds).
 */
int	units_parse_duration(const char *s, uint64_t *us);
/*
 * A rate in bits per second: digits with a unit of bit, kbit, mbit or gbit
 * (decimal, as tc: 1mbit is 1,000,000 bit/s); bare digits are bit/s.  0,
 * -1 or -2 as above.
 */
int	units_parse_rate(const char *s, uint64_t *bps);

/* The shortest exact text units_parse_* reads back: "0", "50ms", "1500us", "1mbit". */
void	units_duration_str(char *out, size_t outlen, uint64_t us);
void	units_rate_str(char *out, size_t outlen, uint64_t bps);

#endif
