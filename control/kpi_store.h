/* KPI history (REQ KPI-1..3, issue 7): the closed half-hour records (control/kpi.h) of
 * every queue and agent, kept in an SQLite database that survives restarts, queried back
 * by range, added up, and exported as CSV. See docs/kpi.md for the schema and the CSV.
 *
 * Writes are rare (a burst of records every 30 minutes), so the control thread does them
 * itself: md_kpi_store_add() only copies a record into a pending list (no I/O);
 * md_kpi_store_flush() writes everything pending in one transaction with one prepared
 * INSERT per record. A failed flush (disk full, database locked by another process, I/O
 * error) rolls back and keeps every pending record, so nothing is lost while the process
 * lives; md_kpi_store_tick() retries with a growing delay.
 *
 * A record whose (scope, name, start) is already stored is added to the stored row
 * (md_kpi_add's rules: sums, the longest wait is the maximum, the settings are the newer
 * ones): a half hour split by a restart ends up as one row.
 *
 * Errors are negative errno codes with a message in err (err may be NULL):
 *   -ENOSPC disk full, -EBUSY locked by another connection, -EBADMSG not a SQLite file or
 *   corrupt, -EPROTO a SQLite database that is not a medley KPI database, -ENOTSUP a newer
 *   schema than this build knows, -EACCES/-EROFS/-ENOENT the file or directory, -EIO other
 *   I/O errors, -EINVAL a bad record or argument, -ENOBUFS the pending list is full,
 *   -ENOMEM. */
#ifndef MD_CONTROL_KPI_STORE_H
#define MD_CONTROL_KPI_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control/kpi.h"

#define MD_KPI_STORE_SCHEMA 2          /* PRAGMA user_version of the databases this writes:
                                          1 first, 2 added internal_calls. An older file is
                                          migrated when opened for writing; opened read-only
                                          it is read as it is, the newer columns as 0. */
#define MD_KPI_STORE_APP_ID 0x4d444b50 /* PRAGMA application_id: "MDKP" */

typedef struct md_kpi_store md_kpi_store_t;

typedef struct {
    int read_only;             /* open an existing database for queries only (tools) */
    int no_wal;                /* 1: rollback journal (DELETE) instead of WAL */
    int synchronous_full;      /* 1: synchronous=FULL (default NORMAL: a power cut may
                                  lose the last transactions, never corrupt the file) */
    unsigned busy_timeout_ms;  /* wait for another connection's lock; default 0: fail with
                                  -EBUSY at once and retry later (the control thread never
                                  blocks on someone else's transaction) */
    unsigned max_pending;      /* records kept while the database cannot be written;
                                  default 65536 */
    uint32_t retry_ms;         /* first retry delay after a failed flush; default 5000,
                                  doubled up to 16 times that */
} md_kpi_store_opts_t;

/* Opens (creating if missing, unless read_only) the database at path. opts NULL: defaults.
 * Refuses a file that is not a medley KPI database or has a newer schema. A file of an
 * older schema is migrated in one transaction (its rows kept, the new columns 0), unless
 * read_only: then it is left as it is and read with the new columns as 0. */
int md_kpi_store_open(md_kpi_store_t **out, const char *path, const md_kpi_store_opts_t *opts,
                      char *err, size_t errlen);

/* Flushes what is pending (best effort; pending records that cannot be written are
 * counted in the return value: 0, or how many were lost) and closes. NULL is allowed. */
int md_kpi_store_close(md_kpi_store_t *s, char *err, size_t errlen);

/* Copies one record into the pending list (no I/O). -EINVAL for a bad scope, an empty
 * name or a start that is not a half-hour boundary; -ENOBUFS when the list is full;
 * -EROFS on a read-only store. */
int md_kpi_store_add(md_kpi_store_t *s, const md_kpi_t *k);

/* Writes every pending record in one transaction. 0 (also when nothing is pending) or a
 * negative errno with the pending records kept. */
int md_kpi_store_flush(md_kpi_store_t *s, char *err, size_t errlen);

/* For the control loop: flushes if records are pending and no failed attempt is waiting
 * for its retry time. Returns 0 if nothing was attempted or the flush worked, the
 * negative errno of a failed attempt (log it; the records stay pending). */
int md_kpi_store_tick(md_kpi_store_t *s, uint64_t now_ms, char *err, size_t errlen);

unsigned md_kpi_store_pending(const md_kpi_store_t *s);

/* Adds n records at once (md_kpi_store_add for each, then a flush). On an error from the
 * flush the records stay pending (they are not added twice by a retry of the flush). */
int md_kpi_store_put(md_kpi_store_t *s, const md_kpi_t *recs, unsigned n, char *err, size_t errlen);

/* A range query: records with from_ms <= start_ms < to_ms, scope 0 for both scopes, name
 * NULL for every name; ordered by start, scope (queues first), name. fn returns 0 to go
 * on or anything else to stop (returned as is). Returns the number of records visited
 * or a negative errno. Records still pending are not included. */
typedef int (*md_kpi_store_fn)(void *arg, const md_kpi_t *k);
int md_kpi_store_query(md_kpi_store_t *s, uint32_t scope, const char *name, uint64_t from_ms,
                       uint64_t to_ms, md_kpi_store_fn fn, void *arg, char *err, size_t errlen);

/* The records of the range added up (md_kpi_add) into out, whose scope, name and start are
 * set from the arguments (start = from_ms). Returns the number of records or -errno. */
int md_kpi_store_sum(md_kpi_store_t *s, uint32_t scope, const char *name, uint64_t from_ms,
                     uint64_t to_ms, md_kpi_t *out, char *err, size_t errlen);

/* Writes the range as CSV (RFC 4180: a header line, one line per record, CRLF line ends,
 * fields with a comma, a quote, CR or LF quoted with quotes doubled). Columns: see
 * docs/kpi.md. Returns the number of records or -errno (-EIO if writing to f failed). */
int md_kpi_store_export_csv(md_kpi_store_t *s, FILE *f, uint32_t scope, const char *name,
                            uint64_t from_ms, uint64_t to_ms, char *err, size_t errlen);

/* The CSV line of one record (no header, with CRLF) into buf; returns the length it
 * needs (like snprintf). And the header line. For tests and for the API's own export. */
int md_kpi_store_csv_row(const md_kpi_t *k, char *buf, size_t len);
int md_kpi_store_csv_header(char *buf, size_t len);

/* The schema version of the open file: MD_KPI_STORE_SCHEMA, or an older one read-only. */
int md_kpi_store_schema(const md_kpi_store_t *s);

/* The SQLite journal mode in use ("wal", "delete", ...), for checks and logs. */
const char *md_kpi_store_journal_mode(const md_kpi_store_t *s);

/* The SQLite connection, for tests and tools (custom SQL, PRAGMAs); do not close it. */
struct sqlite3;
struct sqlite3 *md_kpi_store_db(md_kpi_store_t *s);

#endif
