/* SQLSTATE → HTTP status: the one table of sql/README.md. */
#ifndef TA_SQLSTATE_STATUS_H
#define TA_SQLSTATE_STATUS_H

/* Returns the HTTP status for a five-character SQLSTATE; 500 for anything unknown or malformed (NULL too). */
int sqlstate_status(const char *sqlstate);

#endif
