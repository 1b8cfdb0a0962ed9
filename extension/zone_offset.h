/*
 * The session time zone's UTC offset at an instant, as pg_localtime gives it, remembered for the
 * stretch of time until the zone's next DST boundary: a list converts one timestamptz after another
 * with a lookup of a few comparisons instead of a pg_localtime per value (issue 18).
 */
#ifndef ZONE_OFFSET_H
#define ZONE_OFFSET_H

#include "postgres.h"

#include "pgtime.h"

#define ZONE_OFFSET_SPANS 4

typedef struct
{
	const pg_tz *tz;			/* the zone the spans below are of (session_timezone) */
	int			n;
	int			next;			/* the span replaced next when all are taken */
	struct
	{
		pg_time_t	from;		/* inclusive */
		pg_time_t	until;		/* exclusive: the next DST boundary */
		long		gmtoff;		/* seconds east of UTC */
	}			span[ZONE_OFFSET_SPANS];
} ZoneOffsetCache;

/* *offset = pg_localtime(t, session_timezone)->tm_gmtoff, false if it has none; cache starts zeroed */
extern bool zone_offset(ZoneOffsetCache *cache, pg_time_t t, long *offset);

#endif
