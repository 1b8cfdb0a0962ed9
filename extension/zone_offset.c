/*
 * zone_offset: the session time zone's offset at an instant (see zone_offset.h).
 *
 * The offset itself always comes from pg_localtime, as timestamptz_out's does. What is cached is
 * the stretch [from, until) over which it cannot change: until is pg_next_dst_boundary's next
 * boundary after the instant, and only when that function agrees with pg_localtime on the offset
 * at the instant (before the first transition the two may pick different types: then nothing is
 * cached). A later instant below a span whose boundary it shares extends the span downwards (no
 * boundary lies between them). "No boundary ahead" is trusted only for a zone of one offset ever
 * (pg_get_timezone_offset); otherwise such an instant is looked up every time, as before.
 * A change of the session's TimeZone (a different pg_tz) empties the cache.
 */
#include "zone_offset.h"

bool
zone_offset(ZoneOffsetCache *cache, pg_time_t t, long *offset)
{
	const pg_tz *tz = session_timezone;
	struct pg_tm *tm;
	long		gmtoff;
	long		before;
	long		after;
	int			before_isdst;
	int			after_isdst;
	pg_time_t	boundary;
	int			found;
	int			i;

	if (cache->tz != tz)
	{
		cache->tz = tz;
		cache->n = 0;
		cache->next = 0;
	}
	for (i = 0; i < cache->n; i++)
		if (t >= cache->span[i].from && t < cache->span[i].until)
		{
			*offset = cache->span[i].gmtoff;
			return true;
		}

	tm = pg_localtime(&t, tz);
	if (tm == NULL)
		return false;
	*offset = gmtoff = tm->tm_gmtoff;
	found = pg_next_dst_boundary(&t, &before, &before_isdst, &boundary, &after, &after_isdst, tz);
	if (before != gmtoff)
		return true;
	if (found == 0)
	{
		long		only;

		if (!pg_get_timezone_offset(tz, &only) || only != gmtoff)
			return true;
		boundary = PG_INT64_MAX;
		t = PG_INT64_MIN;
	}
	else if (found != 1 || boundary <= t)
		return true;

	for (i = 0; i < cache->n; i++)
		if (cache->span[i].until == boundary && cache->span[i].gmtoff == gmtoff)
		{
			cache->span[i].from = Min(cache->span[i].from, t);
			return true;
		}
	if (cache->n < ZONE_OFFSET_SPANS)
		i = cache->n++;
	else
	{
		i = cache->next;
		cache->next = (cache->next + 1) % ZONE_OFFSET_SPANS;
	}
	cache->span[i].from = t;
	cache->span[i].until = boundary;
	cache->span[i].gmtoff = gmtoff;
	return true;
}
