/* KPI history in SQLite (control/kpi_store.h, docs/kpi.md). One table, one row per
 * (scope, name, half hour); its columns are the md_kpi_t counters, listed once in
 * FIELDS below and used for the schema, the INSERT, the SELECT and the CSV alike. */
#define _GNU_SOURCE
#include "control/kpi_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* ---- the columns ---- */

typedef enum { K_SET, K_SUM, K_MAX } kind_t;   /* how a stored row and a new record merge */

typedef struct {
    const char *name;
    size_t off;
    unsigned size;   /* 4 or 8 */
    kind_t kind;
    int since;       /* the schema version that added the column */
} field_t;

#define F(n, k) F_SINCE(n, k, 1)
#define F_SINCE(n, k, v) { #n, offsetof(md_kpi_t, n), sizeof(((md_kpi_t *)0)->n), k, v }
#define FC(i) { "offered_class" #i, offsetof(md_kpi_t, offered_class) + (i) * sizeof(uint32_t), 4, K_SUM, 1 }

static const field_t FIELDS[] = {
    F(sl_threshold_ms, K_SET),
    F(short_abandon_ms, K_SET),
    F(offered, K_SUM),
    FC(0), FC(1), FC(2), FC(3),
    F(answered, K_SUM),
    F(answered_in_sl, K_SUM),
    F(abandoned, K_SUM),
    F(abandoned_in_sl, K_SUM),
    F(abandoned_short, K_SUM),
    F(overflowed, K_SUM),
    F(deflected, K_SUM),
    F(callbacks, K_SUM),
    F(blocked, K_SUM),
    F(transferred, K_SUM),
    F(wait_answered_ms, K_SUM),
    F(wait_abandoned_ms, K_SUM),
    F(longest_wait_ms, K_MAX),
    F(handled, K_SUM),
    F(talk_ms, K_SUM),
    F(hold_ms, K_SUM),
    F(acw_ms, K_SUM),
    F(surveys, K_SUM),
    F(survey_sum, K_SUM),
    F(no_answer, K_SUM),
    F(ready_ms, K_SUM),
    F(busy_ms, K_SUM),
    F(not_ready_ms, K_SUM),
    F(dialed, K_SUM),
    F(dial_answered, K_SUM),
    F_SINCE(internal_calls, K_SUM, 2),   /* new columns go last: ALTER TABLE adds them there */
};
#define N_FIELDS (sizeof(FIELDS) / sizeof(FIELDS[0]))

_Static_assert(MD_KPI_CLASSES == 4, "FIELDS lists offered_class0..3");

static uint64_t get_field(const md_kpi_t *k, const field_t *f)
{
    const char *p = (const char *)k + f->off;
    if (f->size == 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* 0, or -ERANGE if v does not fit the field. */
static int set_field(md_kpi_t *k, const field_t *f, int64_t v)
{
    char *p = (char *)k + f->off;
    if (v < 0)
        return -ERANGE;
    if (f->size == 4) {
        if (v > (int64_t)UINT32_MAX)
            return -ERANGE;
        uint32_t u = (uint32_t)v;
        memcpy(p, &u, 4);
    } else {
        uint64_t u = (uint64_t)v;
        memcpy(p, &u, 8);
    }
    return 0;
}

static const char *scope_name(uint32_t scope)
{
    return scope == MD_KPI_QUEUE ? "queue" : scope == MD_KPI_AGENT ? "agent" : NULL;
}

/* ---- the store ---- */

struct md_kpi_store {
    sqlite3 *db;
    char *path;
    md_kpi_store_opts_t opts;
    sqlite3_stmt *ins;
    char journal[16];
    md_kpi_t *pending;
    unsigned n_pending, cap_pending;
    uint64_t retry_at_ms;
    uint32_t retry_delay_ms;
    int schema;      /* the file's schema version (older only when read-only) */
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* An SQLite result code as a negative errno. */
static int sql_errno(sqlite3 *db, int rc)
{
    int sys = db != NULL ? sqlite3_system_errno(db) : 0;
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EBADMSG;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_CANTOPEN:
        return sys > 0 ? -sys : -EACCES;
    case SQLITE_IOERR:
        return sys == ENOSPC ? -ENOSPC : sys > 0 ? -sys : -EIO;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return -EINVAL;
    default:
        return -EIO;
    }
}

static int sql_fail(md_kpi_store_t *s, char *err, size_t errlen, int rc, const char *what)
{
    const char *msg = s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    const char *hint = "";
    switch (rc & 0xff) {
    case SQLITE_FULL:
        hint = " (disk full; the records are kept in memory and retried)";
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        hint = " (another process holds a write lock; the records are kept and retried)";
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        hint = " (not a medley KPI database, or corrupt)";
        break;
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
        hint = s->opts.read_only ? ""
               : s->opts.no_wal  ? " (the file must be writable by this user)"
                                 : " (the file, and its directory for the -wal and -shm files "
                                   "of WAL mode, must be writable by this user)";
        break;
    }
    return fail(err, errlen, sql_errno(s->db, rc), "KPI database %s: %s: %s%s", s->path, what,
                msg, hint);
}

static int exec(md_kpi_store_t *s, const char *sql, char *err, size_t errlen)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sql_fail(s, err, errlen, rc, sql);
}

/* The first column of the first row of sql as an integer (or text into txt). */
static int query_one(md_kpi_store_t *s, const char *sql, int64_t *v, char *txt, size_t txtlen,
                     char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (v != NULL)
            *v = sqlite3_column_int64(st, 0);
        if (txt != NULL) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(txt, txtlen, "%s", t != NULL ? (const char *)t : "");
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sql_fail(s, err, errlen, rc, sql);
}

/* Appends to a malloc()ed string; returns 0 or -ENOMEM (and frees it). */
static int cat(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int cat(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *b = realloc(*buf, *len + (size_t)n + 1);
    if (b == NULL) {
        free(*buf);
        *buf = NULL;
        return -ENOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(b + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *buf = b;
    *len += (size_t)n;
    return 0;
}

/* The column definition of FIELDS[i] (the CREATE TABLE, and ALTER TABLE for a migration). */
static int column_sql(char **b, size_t *n, size_t i)
{
    return cat(b, n, "%s INTEGER NOT NULL DEFAULT 0 CHECK (%s >= 0)", FIELDS[i].name,
               FIELDS[i].name);
}

static char *schema_sql(void)
{
    char *b = NULL;
    size_t n = 0;
    int rc = cat(&b, &n,
                 "CREATE TABLE kpi (\n"
                 "  scope TEXT NOT NULL CHECK (scope IN ('queue', 'agent')),\n"
                 "  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND %d),\n"
                 "  start_ms INTEGER NOT NULL CHECK (start_ms >= 0 AND start_ms %% %llu = 0),\n",
                 MD_KPI_NAME - 1, (unsigned long long)MD_KPI_INTERVAL_MS);
    for (size_t i = 0; rc == 0 && i < N_FIELDS; i++) {
        rc = cat(&b, &n, "  ");
        if (rc == 0)
            rc = column_sql(&b, &n, i);
        if (rc == 0)
            rc = cat(&b, &n, ",\n");
    }
    if (rc == 0)
        rc = cat(&b, &n,
                 "  PRIMARY KEY (scope, name, start_ms)\n"
                 ") WITHOUT ROWID;\n"
                 "CREATE INDEX kpi_start ON kpi (start_ms);\n"
                 /* The ratios of docs/acd.md, NULL where the denominator is zero. */
                 "CREATE VIEW kpi_ratios AS SELECT scope, name, start_ms,\n"
                 "  strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', start_ms / 1000, 'unixepoch') AS start,\n"
                 "  offered, answered, abandoned, abandoned_short, blocked,\n"
                 "  CAST(answered_in_sl AS REAL) / NULLIF(answered, 0) AS sl_ignored,\n"
                 "  CAST(answered_in_sl AS REAL) / NULLIF(answered + abandoned, 0) AS sl_negative,\n"
                 "  CAST(answered_in_sl + abandoned_in_sl AS REAL) / NULLIF(answered + abandoned, 0)"
                 " AS sl_positive,\n"
                 "  CAST(wait_answered_ms AS REAL) / NULLIF(answered, 0) AS asa_ms,\n"
                 "  CAST(abandoned AS REAL) / NULLIF(answered + abandoned, 0) AS abandon_rate,\n"
                 "  CAST(wait_abandoned_ms AS REAL) / NULLIF(abandoned, 0) AS abandon_time_ms,\n"
                 "  CAST(talk_ms + hold_ms + acw_ms AS REAL) / NULLIF(handled, 0) AS aht_ms,\n"
                 "  CAST(acw_ms AS REAL) / NULLIF(handled, 0) AS acw_avg_ms,\n"
                 "  CAST(busy_ms AS REAL) / NULLIF(busy_ms + ready_ms, 0) AS occupancy,\n"
                 "  CAST(transferred AS REAL) / NULLIF(answered, 0) AS transfer_rate,\n"
                 "  CAST(survey_sum AS REAL) / NULLIF(surveys, 0) AS survey_avg,\n"
                 "  CAST(blocked AS REAL) / NULLIF(offered + blocked, 0) AS blocked_rate,\n"
                 "  longest_wait_ms\n"
                 "FROM kpi;\n");
    return rc == 0 ? b : NULL;
}

static char *insert_sql(void)
{
    char *b = NULL;
    size_t n = 0;
    int rc = cat(&b, &n, "INSERT INTO kpi (scope, name, start_ms");
    for (size_t i = 0; rc == 0 && i < N_FIELDS; i++)
        rc = cat(&b, &n, ", %s", FIELDS[i].name);
    if (rc == 0)
        rc = cat(&b, &n, ") VALUES (?, ?, ?");
    for (size_t i = 0; rc == 0 && i < N_FIELDS; i++)
        rc = cat(&b, &n, ", ?");
    if (rc == 0)
        rc = cat(&b, &n, ") ON CONFLICT (scope, name, start_ms) DO UPDATE SET ");
    for (size_t i = 0; rc == 0 && i < N_FIELDS; i++) {
        const char *c = FIELDS[i].name;
        const char *sep = i + 1 < N_FIELDS ? ", " : "";
        if (FIELDS[i].kind == K_SET)
            rc = cat(&b, &n, "%s = excluded.%s%s", c, c, sep);
        else if (FIELDS[i].kind == K_SUM)
            rc = cat(&b, &n, "%s = %s + excluded.%s%s", c, c, c, sep);
        else
            rc = cat(&b, &n, "%s = max(%s, excluded.%s)%s", c, c, c, sep);
    }
    return rc == 0 ? b : NULL;
}

/* The SELECT of a file of schema version, a column it does not have yet read as 0. */
static char *select_sql(int version)
{
    char *b = NULL;
    size_t n = 0;
    int rc = cat(&b, &n, "SELECT scope, name, start_ms");
    for (size_t i = 0; rc == 0 && i < N_FIELDS; i++)
        rc = cat(&b, &n, ", %s", FIELDS[i].since <= version ? FIELDS[i].name : "0");
    if (rc == 0)
        rc = cat(&b, &n, " FROM kpi WHERE start_ms >= ?1 AND start_ms < ?2"
                         " AND (?3 IS NULL OR scope = ?3) AND (?4 IS NULL OR name = ?4)"
                         " ORDER BY start_ms, scope DESC, name");
    return rc == 0 ? b : NULL;
}

/* Why a file could not be opened, in the user's terms. */
static int open_fail(md_kpi_store_t *s, char *err, size_t errlen, int rc)
{
    struct stat st;
    if (stat(s->path, &st) != 0 && errno == ENOENT) {
        if (s->opts.read_only)
            return fail(err, errlen, -ENOENT, "KPI database %s: no such file", s->path);
        char *d = strdup(s->path);
        if (d == NULL)
            return fail(err, errlen, -ENOMEM, "out of memory");
        const char *dn = dirname(d);
        int e = access(dn, W_OK | X_OK) != 0 ? errno : 0;
        if (e != 0) {
            rc = fail(err, errlen, -e, "KPI database %s: cannot create it: directory %s: %s",
                      s->path, dn, strerror(e));
            free(d);
            return rc;
        }
        free(d);
    } else if (S_ISDIR(st.st_mode)) {
        return fail(err, errlen, -EISDIR, "KPI database %s: is a directory", s->path);
    }
    return sql_fail(s, err, errlen, rc, "open");
}

/* Brings a file of an older schema version to MD_KPI_STORE_SCHEMA in one transaction: the
 * columns added since, 0 in the rows there are. Another process may have done it
 * meanwhile: the version is read again under the write lock. */
static int migrate(md_kpi_store_t *s, int64_t ver, char *err, size_t errlen)
{
    int rc = exec(s, "BEGIN IMMEDIATE", err, errlen);
    if (rc == 0)
        rc = query_one(s, "PRAGMA user_version", &ver, NULL, 0, err, errlen);
    for (size_t i = 0; rc == 0 && i < N_FIELDS; i++) {
        if (FIELDS[i].since <= ver)
            continue;
        char *sql = NULL;
        size_t n = 0;
        rc = cat(&sql, &n, "ALTER TABLE kpi ADD COLUMN ");
        if (rc == 0)
            rc = column_sql(&sql, &n, i);
        if (rc != 0)
            rc = fail(err, errlen, -ENOMEM, "out of memory");
        else
            rc = exec(s, sql, err, errlen);
        free(sql);
    }
    if (rc == 0 && ver < MD_KPI_STORE_SCHEMA) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", MD_KPI_STORE_SCHEMA);
        rc = exec(s, pragma, err, errlen);
    }
    if (rc == 0)
        rc = exec(s, "COMMIT", err, errlen);
    if (rc != 0 && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    if (rc == -EBUSY)
        return fail(err, errlen, rc, "KPI database %s: another process holds a write lock: "
                    "cannot migrate the file from schema version %" PRId64 " to %d now (it is "
                    "left as it was; try again when that process is done)", s->path, ver,
                    MD_KPI_STORE_SCHEMA);
    if (rc != 0 && err != NULL && errlen > 0) {
        size_t used = strnlen(err, errlen);
        snprintf(err + used, errlen - used, " (migrating the file from schema version %" PRId64
                 " to %d; it is left as it was)", ver, MD_KPI_STORE_SCHEMA);
    }
    return rc;
}

/* Checks the header of the file, migrates an older schema and creates the schema in a new
 * file. */
static int check_or_create(md_kpi_store_t *s, char *err, size_t errlen)
{
    int64_t app = 0, ver = 0, objects = 0;
    int rc = query_one(s, "PRAGMA application_id", &app, NULL, 0, err, errlen);
    if (rc == 0)
        rc = query_one(s, "PRAGMA user_version", &ver, NULL, 0, err, errlen);
    if (rc == 0)
        rc = query_one(s, "SELECT count(*) FROM sqlite_master", &objects, NULL, 0, err, errlen);
    if (rc != 0)
        return rc;
    if (app == MD_KPI_STORE_APP_ID) {
        if (ver > MD_KPI_STORE_SCHEMA)
            return fail(err, errlen, -ENOTSUP,
                        "KPI database %s: schema version %" PRId64 " is newer than this "
                        "medley's (%d): upgrade medley or use another file",
                        s->path, ver, MD_KPI_STORE_SCHEMA);
        if (ver < 1)
            return fail(err, errlen, -EPROTO,
                        "KPI database %s: medley's application id but no schema version",
                        s->path);
        s->schema = (int)ver;
        if (ver == MD_KPI_STORE_SCHEMA || s->opts.read_only)
            return 0;   /* read-only: read as it is, the newer columns as 0 */
        rc = migrate(s, ver, err, errlen);
        if (rc == 0)
            s->schema = MD_KPI_STORE_SCHEMA;
        return rc;
    }
    if (app != 0 || objects != 0)
        return fail(err, errlen, -EPROTO,
                    "KPI database %s: an SQLite database of something else (application id "
                    "0x%08" PRIx64 ", %" PRId64 " schema objects), not a medley KPI database",
                    s->path, (uint64_t)(uint32_t)app, objects);
    if (s->opts.read_only)
        return fail(err, errlen, -ENOENT, "KPI database %s: empty (no KPI history yet)", s->path);
    char *schema = schema_sql();
    if (schema == NULL)
        return fail(err, errlen, -ENOMEM, "out of memory");
    char pragmas[128];
    snprintf(pragmas, sizeof(pragmas), "PRAGMA application_id = %d; PRAGMA user_version = %d;",
             MD_KPI_STORE_APP_ID, MD_KPI_STORE_SCHEMA);
    rc = exec(s, "BEGIN IMMEDIATE", err, errlen);
    if (rc == 0)
        rc = exec(s, schema, err, errlen);
    if (rc == 0)
        rc = exec(s, pragmas, err, errlen);
    if (rc == 0)
        rc = exec(s, "COMMIT", err, errlen);
    if (rc != 0 && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    free(schema);
    if (rc == 0)
        s->schema = MD_KPI_STORE_SCHEMA;
    return rc;
}

int md_kpi_store_open(md_kpi_store_t **out, const char *path, const md_kpi_store_opts_t *opts,
                      char *err, size_t errlen)
{
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return fail(err, errlen, -EINVAL, "KPI database: no path");
    md_kpi_store_t *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return fail(err, errlen, -ENOMEM, "out of memory");
    }
    if (opts != NULL)
        s->opts = *opts;
    if (s->opts.max_pending == 0)
        s->opts.max_pending = 65536;
    if (s->opts.retry_ms == 0)
        s->opts.retry_ms = 5000;
    s->retry_delay_ms = s->opts.retry_ms;
    int flags = s->opts.read_only ? SQLITE_OPEN_READONLY
                                  : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = open_fail(s, err, errlen, rc);
        md_kpi_store_close(s, NULL, 0);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, (int)s->opts.busy_timeout_ms);
    rc = check_or_create(s, err, errlen);
    if (rc == 0 && !s->opts.read_only) {
        const char *mode = s->opts.no_wal ? "PRAGMA journal_mode = DELETE"
                                          : "PRAGMA journal_mode = WAL";
        rc = query_one(s, mode, NULL, s->journal, sizeof(s->journal), err, errlen);
        if (rc == 0 && strcmp(s->journal, s->opts.no_wal ? "delete" : "wal") != 0)
            rc = fail(err, errlen, -ENOTSUP, "KPI database %s: journal mode %s refused (got %s)",
                      path, s->opts.no_wal ? "DELETE" : "WAL", s->journal);
    } else if (rc == 0) {
        rc = query_one(s, "PRAGMA journal_mode", NULL, s->journal, sizeof(s->journal), err,
                       errlen);
    }
    if (rc == 0)
        rc = exec(s, s->opts.synchronous_full ? "PRAGMA synchronous = FULL"
                                              : "PRAGMA synchronous = NORMAL", err, errlen);
    if (rc == 0 && !s->opts.read_only) {
        char *sql = insert_sql();
        if (sql == NULL)
            rc = fail(err, errlen, -ENOMEM, "out of memory");
        else if ((rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->ins,
                                          NULL)) != SQLITE_OK)
            rc = sql_fail(s, err, errlen, rc, "preparing the insert (a damaged schema?)");
        free(sql);
    }
    if (rc != 0) {
        md_kpi_store_close(s, NULL, 0);
        return rc;
    }
    *out = s;
    return 0;
}

int md_kpi_store_close(md_kpi_store_t *s, char *err, size_t errlen)
{
    if (s == NULL)
        return 0;
    int lost = 0;
    if (s->n_pending > 0 && s->ins != NULL && md_kpi_store_flush(s, err, errlen) != 0)
        lost = (int)s->n_pending;
    sqlite3_finalize(s->ins);
    sqlite3_close_v2(s->db);   /* the last connection checkpoints and removes the WAL */
    free(s->pending);
    free(s->path);
    free(s);
    return lost;
}

struct sqlite3 *md_kpi_store_db(md_kpi_store_t *s)
{
    return s->db;
}

int md_kpi_store_schema(const md_kpi_store_t *s)
{
    return s->schema;
}

const char *md_kpi_store_journal_mode(const md_kpi_store_t *s)
{
    return s->journal;
}

unsigned md_kpi_store_pending(const md_kpi_store_t *s)
{
    return s->n_pending;
}

/* ---- writing ---- */

int md_kpi_store_add(md_kpi_store_t *s, const md_kpi_t *k)
{
    if (s->opts.read_only)
        return -EROFS;
    if (scope_name(k->scope) == NULL || k->name[0] == '\0' ||
        memchr(k->name, '\0', MD_KPI_NAME) == NULL || k->start_ms % MD_KPI_INTERVAL_MS != 0 ||
        k->start_ms > (uint64_t)INT64_MAX)
        return -EINVAL;
    for (size_t i = 0; i < N_FIELDS; i++)
        if (get_field(k, &FIELDS[i]) > (uint64_t)INT64_MAX)
            return -EINVAL;
    if (s->n_pending == s->cap_pending) {
        if (s->cap_pending >= s->opts.max_pending)
            return -ENOBUFS;
        unsigned cap = s->cap_pending ? s->cap_pending * 2 : 256;
        if (cap > s->opts.max_pending)
            cap = s->opts.max_pending;
        md_kpi_t *p = realloc(s->pending, (size_t)cap * sizeof(*p));
        if (p == NULL)
            return -ENOMEM;
        s->pending = p;
        s->cap_pending = cap;
    }
    s->pending[s->n_pending++] = *k;
    return 0;
}

static int insert_one(md_kpi_store_t *s, const md_kpi_t *k)
{
    sqlite3_stmt *st = s->ins;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, scope_name(k->scope), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->name, (int)strnlen(k->name, MD_KPI_NAME), SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)k->start_ms);
    for (size_t i = 0; i < N_FIELDS; i++)
        sqlite3_bind_int64(st, (int)i + 4, (sqlite3_int64)get_field(k, &FIELDS[i]));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int md_kpi_store_flush(md_kpi_store_t *s, char *err, size_t errlen)
{
    if (s->opts.read_only)
        return fail(err, errlen, -EROFS, "KPI database %s: opened read-only", s->path);
    if (s->n_pending == 0)
        return 0;
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    const char *what = "starting a transaction";
    for (unsigned i = 0; rc == SQLITE_OK && i < s->n_pending; i++) {
        rc = insert_one(s, &s->pending[i]);
        what = "inserting a record";
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        what = "committing";
    }
    if (rc != SQLITE_OK) {
        int e = sql_fail(s, err, errlen, rc, what);
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return e;   /* everything stays pending */
    }
    s->n_pending = 0;
    s->retry_at_ms = 0;
    s->retry_delay_ms = s->opts.retry_ms;
    return 0;
}

int md_kpi_store_tick(md_kpi_store_t *s, uint64_t now_ms, char *err, size_t errlen)
{
    if (s->n_pending == 0 || now_ms < s->retry_at_ms)
        return 0;
    int rc = md_kpi_store_flush(s, err, errlen);
    if (rc != 0) {
        s->retry_at_ms = now_ms + s->retry_delay_ms;
        if (s->retry_delay_ms < s->opts.retry_ms * 16u)
            s->retry_delay_ms *= 2;
    }
    return rc;
}

int md_kpi_store_put(md_kpi_store_t *s, const md_kpi_t *recs, unsigned n, char *err, size_t errlen)
{
    for (unsigned i = 0; i < n; i++) {
        int rc = md_kpi_store_add(s, &recs[i]);
        if (rc != 0) {
            s->n_pending -= i;   /* all or nothing */
            return fail(err, errlen, rc, "KPI record %u (%.*s): %s", i, MD_KPI_NAME,
                        recs[i].name, strerror(-rc));
        }
    }
    return md_kpi_store_flush(s, err, errlen);
}

/* ---- reading ---- */

int md_kpi_store_query(md_kpi_store_t *s, uint32_t scope, const char *name, uint64_t from_ms,
                       uint64_t to_ms, md_kpi_store_fn fn, void *arg, char *err, size_t errlen)
{
    if (scope != 0 && scope_name(scope) == NULL)
        return fail(err, errlen, -EINVAL, "KPI query: scope %u is neither queue nor agent", scope);
    if (from_ms > (uint64_t)INT64_MAX)
        return 0;
    if (to_ms > (uint64_t)INT64_MAX)
        to_ms = (uint64_t)INT64_MAX;
    char *sql = select_sql(s->schema);
    if (sql == NULL)
        return fail(err, errlen, -ENOMEM, "out of memory");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return sql_fail(s, err, errlen, rc, "preparing a query");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from_ms);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)to_ms);
    if (scope != 0)
        sqlite3_bind_text(st, 3, scope_name(scope), -1, SQLITE_STATIC);
    if (name != NULL)
        sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
    int count = 0, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        md_kpi_t k;
        memset(&k, 0, sizeof(k));
        const char *sc = (const char *)sqlite3_column_text(st, 0);
        const char *nm = (const char *)sqlite3_column_text(st, 1);
        int nlen = sqlite3_column_bytes(st, 1);
        int64_t start = sqlite3_column_int64(st, 2);
        k.scope = sc != NULL && strcmp(sc, "queue") == 0   ? MD_KPI_QUEUE
                  : sc != NULL && strcmp(sc, "agent") == 0 ? MD_KPI_AGENT
                                                           : 0;
        int bad = k.scope == 0 || nm == NULL || nlen < 1 || nlen >= MD_KPI_NAME || start < 0;
        const char *col = bad ? "scope, name or start_ms" : NULL;
        if (!bad) {
            memcpy(k.name, nm, (size_t)nlen);
            k.start_ms = (uint64_t)start;
        }
        for (size_t i = 0; !bad && i < N_FIELDS; i++)
            if (sqlite3_column_type(st, (int)i + 3) != SQLITE_INTEGER ||
                set_field(&k, &FIELDS[i], sqlite3_column_int64(st, (int)i + 3)) != 0) {
                bad = 1;
                col = FIELDS[i].name;
            }
        if (bad) {
            ret = fail(err, errlen, -EBADMSG, "KPI database %s: a row has a bad %s (edited by "
                       "hand or damaged)", s->path, col);
            break;
        }
        count++;
        if (fn != NULL && (ret = fn(arg, &k)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = sql_fail(s, err, errlen, rc, "reading");
    sqlite3_finalize(st);
    return ret != 0 ? ret : count;
}

static int sum_one(void *arg, const md_kpi_t *k)
{
    md_kpi_t *a = arg;
    /* The settings are the latest record's (rows come by start). */
    a->sl_threshold_ms = k->sl_threshold_ms;
    a->short_abandon_ms = k->short_abandon_ms;
    md_kpi_add(a, k);
    return 0;
}

int md_kpi_store_sum(md_kpi_store_t *s, uint32_t scope, const char *name, uint64_t from_ms,
                     uint64_t to_ms, md_kpi_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->scope = scope;
    if (name != NULL)
        snprintf(out->name, sizeof(out->name), "%s", name);
    out->start_ms = from_ms;
    return md_kpi_store_query(s, scope, name, from_ms, to_ms, sum_one, out, err, errlen);
}

/* ---- CSV ---- */

typedef struct {
    char *buf;
    size_t len, n;   /* capacity, bytes needed so far */
} out_t;

static void put(out_t *o, const char *p, size_t n)
{
    if (o->n < o->len) {
        size_t room = o->len - o->n;
        memcpy(o->buf + o->n, p, n < room ? n : room);
    }
    o->n += n;
}

static void putf(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(out_t *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void put_csv_field(out_t *o, const char *p, size_t n)
{
    if (strcspn(p, ",\"\r\n") >= n) {
        put(o, p, n);
        return;
    }
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            put(o, "\"", 1);
        put(o, &p[i], 1);
    }
    put(o, "\"", 1);
}

static int finish(out_t *o)
{
    if (o->len > 0)
        o->buf[o->n < o->len ? o->n : o->len - 1] = '\0';
    return o->n > INT32_MAX ? -1 : (int)o->n;
}

int md_kpi_store_csv_header(char *buf, size_t len)
{
    out_t o = { buf, len, 0 };
    put(&o, "scope,name,start_ms,start", 25);
    for (size_t i = 0; i < N_FIELDS; i++) {
        put(&o, ",", 1);
        put(&o, FIELDS[i].name, strlen(FIELDS[i].name));
    }
    put(&o, "\r\n", 2);
    return finish(&o);
}

int md_kpi_store_csv_row(const md_kpi_t *k, char *buf, size_t len)
{
    out_t o = { buf, len, 0 };
    const char *sc = scope_name(k->scope);
    put(&o, sc != NULL ? sc : "", sc != NULL ? strlen(sc) : 0);
    put(&o, ",", 1);
    put_csv_field(&o, k->name, strnlen(k->name, MD_KPI_NAME));
    time_t t = (time_t)(k->start_ms / 1000);
    struct tm tm;
    char when[32] = "";
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    putf(&o, ",%" PRIu64 ",%s", k->start_ms, when);
    for (size_t i = 0; i < N_FIELDS; i++)
        putf(&o, ",%" PRIu64, get_field(k, &FIELDS[i]));
    put(&o, "\r\n", 2);
    return finish(&o);
}

typedef struct {
    FILE *f;
    int error;
} csv_ctx_t;

static int csv_one(void *arg, const md_kpi_t *k)
{
    csv_ctx_t *c = arg;
    char line[1024];
    int n = md_kpi_store_csv_row(k, line, sizeof(line));
    if (n < 0 || (size_t)n >= sizeof(line) || fwrite(line, 1, (size_t)n, c->f) != (size_t)n) {
        c->error = errno != 0 ? errno : EIO;
        return -EIO;
    }
    return 0;
}

int md_kpi_store_export_csv(md_kpi_store_t *s, FILE *f, uint32_t scope, const char *name,
                            uint64_t from_ms, uint64_t to_ms, char *err, size_t errlen)
{
    char line[1024];
    int n = md_kpi_store_csv_header(line, sizeof(line));
    errno = 0;
    if (n < 0 || (size_t)n >= sizeof(line) || fwrite(line, 1, (size_t)n, f) != (size_t)n)
        return fail(err, errlen, -EIO, "KPI CSV: writing failed: %s", strerror(errno ? errno : EIO));
    csv_ctx_t c = { f, 0 };
    int rc = md_kpi_store_query(s, scope, name, from_ms, to_ms, csv_one, &c, err, errlen);
    if (rc >= 0 && fflush(f) != 0)
        c.error = errno, rc = -EIO;
    if (c.error != 0)
        return fail(err, errlen, -EIO, "KPI CSV: writing failed: %s", strerror(c.error));
    return rc;
}
