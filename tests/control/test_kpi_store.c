/* KPI history in SQLite (control/kpi_store.c): round trip of every field, merging of a
 * split half hour, restart, sums, CSV byte by byte, refused files (garbage, damaged,
 * another application's database, a newer schema), the migration of a schema-1 file
 * (read-only as it is, for writing once, its rows kept), read-only directories, disk full and
 * a lock held by another connection (records kept and retried), WAL mode. */
#define _GNU_SOURCE
#include "control/kpi_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

static int failures;

#define CHECK(c)                                                                           \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);          \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

#define CHECK_RC(rc, want, err)                                                            \
    do {                                                                                   \
        int rc_ = (rc);                                                                    \
        if (rc_ != (want)) {                                                               \
            fprintf(stderr, "%s:%d: %s = %d (%s), want %d; err: %s\n", __FILE__, __LINE__,  \
                    #rc, rc_, rc_ < 0 ? strerror(-rc_) : "", want, err);                   \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

static char dir[256];

static void path_of(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* Every field distinct: seed + field number, 64-bit sums above 2^32. */
static void fill(md_kpi_t *k, uint32_t scope, const char *name, uint64_t start, uint32_t seed)
{
    memset(k, 0, sizeof(*k));
    k->scope = scope;
    snprintf(k->name, sizeof(k->name), "%s", name);
    k->start_ms = start;
    uint32_t v = seed;
    k->sl_threshold_ms = ++v;
    k->short_abandon_ms = ++v;
    k->offered = ++v;
    for (int i = 0; i < MD_KPI_CLASSES; i++)
        k->offered_class[i] = ++v;
    k->answered = ++v;
    k->answered_in_sl = ++v;
    k->abandoned = ++v;
    k->abandoned_in_sl = ++v;
    k->abandoned_short = ++v;
    k->overflowed = ++v;
    k->deflected = ++v;
    k->callbacks = ++v;
    k->blocked = ++v;
    k->transferred = ++v;
    k->wait_answered_ms = (1ull << 33) + ++v;
    k->wait_abandoned_ms = (1ull << 34) + ++v;
    k->longest_wait_ms = 4000000000u + ++v;
    k->handled = ++v;
    k->talk_ms = (1ull << 35) + ++v;
    k->hold_ms = (1ull << 36) + ++v;
    k->acw_ms = (1ull << 37) + ++v;
    k->surveys = ++v;
    k->survey_sum = ++v;
    k->no_answer = ++v;
    k->ready_ms = (1ull << 38) + ++v;
    k->busy_ms = (1ull << 39) + ++v;
    k->not_ready_ms = (1ull << 40) + ++v;
    k->dialed = ++v;
    k->dial_answered = 0xffffffffu - ++v;
    k->internal_calls = ++v;
}

static int same(const md_kpi_t *a, const md_kpi_t *b)
{
#define EQ(f) if (a->f != b->f) { fprintf(stderr, "  field %s: %llu != %llu\n", #f, \
                  (unsigned long long)a->f, (unsigned long long)b->f); return 0; }
    EQ(scope) EQ(start_ms) EQ(sl_threshold_ms) EQ(short_abandon_ms) EQ(offered)
    EQ(offered_class[0]) EQ(offered_class[1]) EQ(offered_class[2]) EQ(offered_class[3])
    EQ(answered) EQ(answered_in_sl) EQ(abandoned) EQ(abandoned_in_sl) EQ(abandoned_short)
    EQ(overflowed) EQ(deflected) EQ(callbacks) EQ(blocked) EQ(transferred)
    EQ(wait_answered_ms) EQ(wait_abandoned_ms) EQ(longest_wait_ms) EQ(handled) EQ(talk_ms)
    EQ(hold_ms) EQ(acw_ms) EQ(surveys) EQ(survey_sum) EQ(no_answer) EQ(ready_ms) EQ(busy_ms)
    EQ(not_ready_ms) EQ(dialed) EQ(dial_answered) EQ(internal_calls)
#undef EQ
    if (strncmp(a->name, b->name, MD_KPI_NAME) != 0) {
        fprintf(stderr, "  name %.32s != %.32s\n", a->name, b->name);
        return 0;
    }
    return 1;
}

typedef struct {
    md_kpi_t recs[16];
    int n;
} got_t;

static int collect(void *arg, const md_kpi_t *k)
{
    got_t *g = arg;
    if (g->n < 16)
        g->recs[g->n] = *k;
    g->n++;
    return 0;
}

#define T0 1717200000000ull   /* 2024-06-01T00:00:00Z, a half-hour boundary */
#define HH MD_KPI_INTERVAL_MS

static void test_round_trip_and_restart(void)
{
    char path[512], err[512] = "";
    path_of(path, sizeof(path), "kpi.db");
    md_kpi_store_t *s = NULL;
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), 0, err);
    if (s == NULL)
        return;
    CHECK(strcmp(md_kpi_store_journal_mode(s), "wal") == 0);
    md_kpi_t r[4];
    fill(&r[0], MD_KPI_QUEUE, "sales", T0, 100);
    fill(&r[1], MD_KPI_AGENT, "a1001", T0, 200);
    fill(&r[2], MD_KPI_QUEUE, "sales", T0 + HH, 300);
    fill(&r[3], MD_KPI_QUEUE, "support", T0 + HH, 400);
    /* Refused records: nothing of the batch is kept. */
    md_kpi_t bad = r[0];
    bad.start_ms += 1;
    CHECK(md_kpi_store_add(s, &bad) == -EINVAL);
    bad = r[0];
    bad.scope = 7;
    CHECK(md_kpi_store_add(s, &bad) == -EINVAL);
    bad = r[0];
    bad.name[0] = '\0';
    CHECK(md_kpi_store_add(s, &bad) == -EINVAL);
    md_kpi_t two[2] = { r[0], bad };
    CHECK(md_kpi_store_put(s, two, 2, err, sizeof(err)) == -EINVAL);
    CHECK(md_kpi_store_pending(s) == 0);

    for (int i = 0; i < 4; i++)
        CHECK_RC(md_kpi_store_add(s, &r[i]), 0, "");
    CHECK(md_kpi_store_pending(s) == 4);
    got_t g = { .n = 0 };
    /* Pending records are not in the database yet. */
    CHECK_RC(md_kpi_store_query(s, 0, NULL, 0, UINT64_MAX, collect, &g, err, sizeof(err)), 0, err);
    CHECK_RC(md_kpi_store_tick(s, 1000, err, sizeof(err)), 0, err);
    CHECK(md_kpi_store_pending(s) == 0);

    /* Everything, in order: by start, queues first, by name. */
    g.n = 0;
    CHECK_RC(md_kpi_store_query(s, 0, NULL, 0, UINT64_MAX, collect, &g, err, sizeof(err)), 4, err);
    CHECK(g.n == 4 && same(&g.recs[0], &r[0]) && same(&g.recs[1], &r[1]) &&
          same(&g.recs[2], &r[2]) && same(&g.recs[3], &r[3]));
    /* By scope, name and range (from inclusive, to exclusive). */
    g.n = 0;
    CHECK_RC(md_kpi_store_query(s, MD_KPI_QUEUE, "sales", T0, T0 + HH, collect, &g, err,
                                sizeof(err)), 1, err);
    CHECK(g.n == 1 && same(&g.recs[0], &r[0]));
    g.n = 0;
    CHECK_RC(md_kpi_store_query(s, MD_KPI_AGENT, NULL, 0, UINT64_MAX, collect, &g, err,
                                sizeof(err)), 1, err);
    CHECK(g.n == 1 && same(&g.recs[0], &r[1]));
    CHECK_RC(md_kpi_store_query(s, MD_KPI_QUEUE, "nobody", 0, UINT64_MAX, NULL, NULL, err,
                                sizeof(err)), 0, err);

    /* A half hour split by a restart: the second part is added to the stored row. */
    md_kpi_t part;
    memset(&part, 0, sizeof(part));
    part.scope = MD_KPI_QUEUE;
    strcpy(part.name, "sales");
    part.start_ms = T0;
    part.sl_threshold_ms = 20000;   /* settings: the newer win */
    part.short_abandon_ms = 3000;
    part.offered = 5;
    part.answered = 2;
    part.talk_ms = 1000;
    part.longest_wait_ms = 1;       /* the maximum stays */
    CHECK_RC(md_kpi_store_put(s, &part, 1, err, sizeof(err)), 0, err);
    g.n = 0;
    CHECK_RC(md_kpi_store_query(s, MD_KPI_QUEUE, "sales", T0, T0 + 1, collect, &g, err,
                                sizeof(err)), 1, err);
    md_kpi_t want = r[0];
    md_kpi_add(&want, &part);
    want.sl_threshold_ms = 20000;
    want.short_abandon_ms = 3000;
    CHECK(g.n == 1 && same(&g.recs[0], &want));

    /* Sums over a range: both half hours of "sales". */
    md_kpi_t sum, want_sum = want;
    md_kpi_add(&want_sum, &r[2]);
    want_sum.sl_threshold_ms = r[2].sl_threshold_ms;
    want_sum.short_abandon_ms = r[2].short_abandon_ms;
    CHECK_RC(md_kpi_store_sum(s, MD_KPI_QUEUE, "sales", T0, T0 + 2 * HH, &sum, err, sizeof(err)),
             2, err);
    CHECK(same(&sum, &want_sum));
    CHECK(md_kpi_store_close(s, err, sizeof(err)) == 0);

    /* Restart: the same rows come back; the WAL was checkpointed and removed on close. */
    char wal[600];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    CHECK(access(wal, F_OK) != 0);
    s = NULL;
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), 0, err);
    if (s == NULL)
        return;
    g.n = 0;
    CHECK_RC(md_kpi_store_query(s, 0, NULL, 0, UINT64_MAX, collect, &g, err, sizeof(err)), 4, err);
    CHECK(g.n == 4 && same(&g.recs[0], &want) && same(&g.recs[1], &r[1]) &&
          same(&g.recs[2], &r[2]) && same(&g.recs[3], &r[3]));

    /* WAL and synchronous=NORMAL, seen from this connection and from another one. */
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(md_kpi_store_db(s), "PRAGMA synchronous", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1);
    sqlite3_finalize(st);
    sqlite3 *other = NULL;
    CHECK(sqlite3_open(path, &other) == SQLITE_OK);
    st = NULL;
    sqlite3_prepare_v2(other, "PRAGMA journal_mode", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW &&
          strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0);
    sqlite3_finalize(st);
    /* The ratio view answers too (sl_negative = A_T / (A + B)). */
    st = NULL;
    CHECK(sqlite3_prepare_v2(other, "SELECT sl_negative, start FROM kpi_ratios WHERE "
                             "scope = 'queue' AND name = 'support'", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_double(st, 0) ==
          (double)r[3].answered_in_sl / (r[3].answered + r[3].abandoned));
    CHECK(strcmp((const char *)sqlite3_column_text(st, 1), "2024-06-01T00:30:00Z") == 0);
    sqlite3_finalize(st);

    /* Locked by another connection: -EBUSY at once, the records stay, a retry works. */
    CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    md_kpi_t late;
    fill(&late, MD_KPI_AGENT, "a1002", T0 + 2 * HH, 500);
    CHECK_RC(md_kpi_store_add(s, &late), 0, "");
    CHECK_RC(md_kpi_store_tick(s, 10000, err, sizeof(err)), -EBUSY, err);
    CHECK(strstr(err, "lock") != NULL);
    CHECK(md_kpi_store_pending(s) == 1);
    CHECK_RC(md_kpi_store_tick(s, 10001, err, sizeof(err)), 0, err);   /* not yet retried */
    CHECK(md_kpi_store_pending(s) == 1);
    CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    CHECK_RC(md_kpi_store_tick(s, 10000 + 5000, err, sizeof(err)), 0, err);
    CHECK(md_kpi_store_pending(s) == 0);
    CHECK_RC(md_kpi_store_query(s, MD_KPI_AGENT, "a1002", 0, UINT64_MAX, NULL, NULL, err,
                                sizeof(err)), 1, err);
    sqlite3_close(other);

    /* Disk full (the database limited to its current size): -ENOSPC, nothing lost. */
    sqlite3_exec(md_kpi_store_db(s), "PRAGMA max_page_count = 1", NULL, NULL, NULL);
    md_kpi_t many[40];
    for (int i = 0; i < 40; i++) {
        char nm[16];
        snprintf(nm, sizeof(nm), "q%02d", i);
        fill(&many[i], MD_KPI_QUEUE, nm, T0 + 10 * HH, 600 + i);
    }
    CHECK_RC(md_kpi_store_put(s, many, 40, err, sizeof(err)), -ENOSPC, err);
    CHECK(strstr(err, "disk full") != NULL);
    CHECK(md_kpi_store_pending(s) == 40);
    CHECK_RC(md_kpi_store_query(s, 0, NULL, T0 + 10 * HH, UINT64_MAX, NULL, NULL, err,
                                sizeof(err)), 0, err);
    sqlite3_exec(md_kpi_store_db(s), "PRAGMA max_page_count = 1073741823", NULL, NULL, NULL);
    CHECK_RC(md_kpi_store_flush(s, err, sizeof(err)), 0, err);
    CHECK(md_kpi_store_pending(s) == 0);
    CHECK_RC(md_kpi_store_query(s, 0, NULL, T0 + 10 * HH, UINT64_MAX, NULL, NULL, err,
                                sizeof(err)), 40, err);

    /* Pending records are written by close. */
    fill(&late, MD_KPI_AGENT, "a1003", T0 + 3 * HH, 700);
    CHECK_RC(md_kpi_store_add(s, &late), 0, "");
    CHECK(md_kpi_store_close(s, err, sizeof(err)) == 0);
    s = NULL;
    md_kpi_store_opts_t ro = { .read_only = 1 };
    CHECK_RC(md_kpi_store_open(&s, path, &ro, err, sizeof(err)), 0, err);
    if (s != NULL) {
        CHECK_RC(md_kpi_store_query(s, MD_KPI_AGENT, "a1003", 0, UINT64_MAX, NULL, NULL, err,
                                    sizeof(err)), 1, err);
        CHECK(md_kpi_store_add(s, &late) == -EROFS);
        md_kpi_store_close(s, NULL, 0);
    }
}

static const char CSV_WANT[] =
    "scope,name,start_ms,start,sl_threshold_ms,short_abandon_ms,offered,offered_class0,"
    "offered_class1,offered_class2,offered_class3,answered,answered_in_sl,abandoned,"
    "abandoned_in_sl,abandoned_short,overflowed,deflected,callbacks,blocked,transferred,"
    "wait_answered_ms,wait_abandoned_ms,longest_wait_ms,handled,talk_ms,hold_ms,acw_ms,surveys,"
    "survey_sum,no_answer,ready_ms,busy_ms,not_ready_ms,dialed,dial_answered,internal_calls\r\n"
    "queue,\"sales, \"\"east\"\"\",1717200000000,2024-06-01T00:00:00Z,15000,5000,"
    "12,1,2,3,6,10,8,2,1,1,0,0,0,0,1,123456,7000,31000,10,3600000,60000,300000,4,17,"
    "0,0,0,0,0,0,0\r\n"
    "agent,\"line\nbreak\",1717200000000,2024-06-01T00:00:00Z,0,0,"
    "3,0,0,0,0,3,0,0,0,0,0,0,0,0,0,0,0,0,3,900000,0,120000,0,0,"
    "1,1200000,400000,200000,0,0,2\r\n"
    "agent,plain,1717201800000,2024-06-01T00:30:00Z,0,0,"
    "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
    "0,0,0,1800000,2,1,0\r\n";

static void test_csv(void)
{
    char path[512], err[512] = "";
    path_of(path, sizeof(path), "csv.db");
    md_kpi_store_t *s = NULL;
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), 0, err);
    if (s == NULL)
        return;
    md_kpi_t r[3];
    memset(r, 0, sizeof(r));
    r[0].scope = MD_KPI_QUEUE;
    strcpy(r[0].name, "sales, \"east\"");
    r[0].start_ms = T0;
    r[0].sl_threshold_ms = 15000;
    r[0].short_abandon_ms = 5000;
    r[0].offered = 12;
    r[0].offered_class[0] = 1;
    r[0].offered_class[1] = 2;
    r[0].offered_class[2] = 3;
    r[0].offered_class[3] = 6;
    r[0].answered = 10;
    r[0].answered_in_sl = 8;
    r[0].abandoned = 2;
    r[0].abandoned_in_sl = 1;
    r[0].abandoned_short = 1;
    r[0].transferred = 1;
    r[0].wait_answered_ms = 123456;
    r[0].wait_abandoned_ms = 7000;
    r[0].longest_wait_ms = 31000;
    r[0].handled = 10;
    r[0].talk_ms = 3600000;
    r[0].hold_ms = 60000;
    r[0].acw_ms = 300000;
    r[0].surveys = 4;
    r[0].survey_sum = 17;
    r[1].scope = MD_KPI_AGENT;
    strcpy(r[1].name, "line\nbreak");
    r[1].start_ms = T0;
    r[1].offered = 3;
    r[1].answered = 3;
    r[1].handled = 3;
    r[1].talk_ms = 900000;
    r[1].acw_ms = 120000;
    r[1].no_answer = 1;
    r[1].ready_ms = 1200000;
    r[1].busy_ms = 400000;
    r[1].not_ready_ms = 200000;
    r[1].internal_calls = 2;
    r[2].scope = MD_KPI_AGENT;
    strcpy(r[2].name, "plain");
    r[2].start_ms = T0 + HH;
    r[2].not_ready_ms = 1800000;
    r[2].dialed = 2;
    r[2].dial_answered = 1;
    CHECK_RC(md_kpi_store_put(s, r, 3, err, sizeof(err)), 0, err);
    char csv[600];
    path_of(csv, sizeof(csv), "out.csv");
    FILE *f = fopen(csv, "wb");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    CHECK_RC(md_kpi_store_export_csv(s, f, 0, NULL, 0, UINT64_MAX, err, sizeof(err)), 3, err);
    fclose(f);
    char got[4096];
    f = fopen(csv, "rb");
    size_t n = fread(got, 1, sizeof(got) - 1, f);
    fclose(f);
    got[n] = '\0';
    if (n != sizeof(CSV_WANT) - 1 || memcmp(got, CSV_WANT, n) != 0) {
        failures++;
        fprintf(stderr, "CSV differs:\n--- got (%zu bytes)\n%s--- want (%zu bytes)\n%s", n, got,
                sizeof(CSV_WANT) - 1, CSV_WANT);
        for (size_t i = 0; i < n && i < sizeof(CSV_WANT) - 1; i++)
            if (got[i] != CSV_WANT[i]) {
                fprintf(stderr, "first difference at byte %zu\n", i);
                break;
            }
    }
    /* A filtered export: the header and one line. */
    f = fopen(csv, "wb");
    CHECK_RC(md_kpi_store_export_csv(s, f, MD_KPI_AGENT, "plain", 0, UINT64_MAX, err,
                                     sizeof(err)), 1, err);
    fclose(f);
    md_kpi_store_close(s, NULL, 0);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len)
        failures++;
    if (f != NULL)
        fclose(f);
}

static void test_refused(void)
{
    char path[512], err[512] = "";
    md_kpi_store_t *s = NULL;

    /* Garbage bytes. */
    path_of(path, sizeof(path), "garbage.db");
    char junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 7 + 3);
    write_file(path, junk, sizeof(junk));
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), -EBADMSG, err);
    CHECK(s == NULL && strstr(err, "garbage.db") != NULL && strstr(err, "not a medley") != NULL);
    printf("garbage: %s\n", err);

    /* A real database whose first page is damaged after the header. */
    char good[512];
    path_of(good, sizeof(good), "damaged.db");
    CHECK_RC(md_kpi_store_open(&s, good, NULL, err, sizeof(err)), 0, err);
    md_kpi_t k;
    fill(&k, MD_KPI_QUEUE, "q", T0, 1);
    CHECK_RC(md_kpi_store_put(s, &k, 1, err, sizeof(err)), 0, err);
    md_kpi_store_close(s, NULL, 0);
    s = NULL;
    int fd = open(good, O_RDWR);
    CHECK(fd >= 0);
    char *ff = malloc(3000);
    memset(ff, 0xff, 3000);
    CHECK(pwrite(fd, ff, 3000, 100) == 3000);   /* the schema table lives on page 1 */
    free(ff);
    close(fd);
    int rc = md_kpi_store_open(&s, good, NULL, err, sizeof(err));
    CHECK(rc == -EBADMSG && s == NULL);
    printf("damaged: %s\n", err);

    /* Another application's database. */
    path_of(path, sizeof(path), "other.db");
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1)", NULL, NULL, NULL) ==
          SQLITE_OK);
    sqlite3_close(db);
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), -EPROTO, err);
    CHECK(strstr(err, "not a medley KPI database") != NULL);
    printf("other: %s\n", err);

    /* A newer schema. */
    path_of(path, sizeof(path), "newer.db");
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), 0, err);
    md_kpi_store_close(s, NULL, 0);
    s = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    char newer[64];
    snprintf(newer, sizeof(newer), "PRAGMA user_version = %d", MD_KPI_STORE_SCHEMA + 1);
    CHECK(sqlite3_exec(db, newer, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), -ENOTSUP, err);
    CHECK(strstr(err, "newer") != NULL);
    printf("newer: %s\n", err);

    /* Read-only on a missing file. */
    md_kpi_store_opts_t ro = { .read_only = 1 };
    path_of(path, sizeof(path), "missing.db");
    CHECK(md_kpi_store_open(&s, path, &ro, err, sizeof(err)) < 0 && s == NULL);
    printf("missing, read-only: %s\n", err);
}

/* The schema a version-1 file has (as medley of schema 1 made it: `sqlite3 kpi.db .schema`). */
static const char SCHEMA_V1[] =
    "CREATE TABLE kpi (\n"
    "  scope TEXT NOT NULL CHECK (scope IN ('queue', 'agent')),\n"
    "  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 31),\n"
    "  start_ms INTEGER NOT NULL CHECK (start_ms >= 0 AND start_ms % 1800000 = 0),\n"
    "  sl_threshold_ms INTEGER NOT NULL DEFAULT 0 CHECK (sl_threshold_ms >= 0),\n"
    "  short_abandon_ms INTEGER NOT NULL DEFAULT 0 CHECK (short_abandon_ms >= 0),\n"
    "  offered INTEGER NOT NULL DEFAULT 0 CHECK (offered >= 0),\n"
    "  offered_class0 INTEGER NOT NULL DEFAULT 0 CHECK (offered_class0 >= 0),\n"
    "  offered_class1 INTEGER NOT NULL DEFAULT 0 CHECK (offered_class1 >= 0),\n"
    "  offered_class2 INTEGER NOT NULL DEFAULT 0 CHECK (offered_class2 >= 0),\n"
    "  offered_class3 INTEGER NOT NULL DEFAULT 0 CHECK (offered_class3 >= 0),\n"
    "  answered INTEGER NOT NULL DEFAULT 0 CHECK (answered >= 0),\n"
    "  answered_in_sl INTEGER NOT NULL DEFAULT 0 CHECK (answered_in_sl >= 0),\n"
    "  abandoned INTEGER NOT NULL DEFAULT 0 CHECK (abandoned >= 0),\n"
    "  abandoned_in_sl INTEGER NOT NULL DEFAULT 0 CHECK (abandoned_in_sl >= 0),\n"
    "  abandoned_short INTEGER NOT NULL DEFAULT 0 CHECK (abandoned_short >= 0),\n"
    "  overflowed INTEGER NOT NULL DEFAULT 0 CHECK (overflowed >= 0),\n"
    "  deflected INTEGER NOT NULL DEFAULT 0 CHECK (deflected >= 0),\n"
    "  callbacks INTEGER NOT NULL DEFAULT 0 CHECK (callbacks >= 0),\n"
    "  blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked >= 0),\n"
    "  transferred INTEGER NOT NULL DEFAULT 0 CHECK (transferred >= 0),\n"
    "  wait_answered_ms INTEGER NOT NULL DEFAULT 0 CHECK (wait_answered_ms >= 0),\n"
    "  wait_abandoned_ms INTEGER NOT NULL DEFAULT 0 CHECK (wait_abandoned_ms >= 0),\n"
    "  longest_wait_ms INTEGER NOT NULL DEFAULT 0 CHECK (longest_wait_ms >= 0),\n"
    "  handled INTEGER NOT NULL DEFAULT 0 CHECK (handled >= 0),\n"
    "  talk_ms INTEGER NOT NULL DEFAULT 0 CHECK (talk_ms >= 0),\n"
    "  hold_ms INTEGER NOT NULL DEFAULT 0 CHECK (hold_ms >= 0),\n"
    "  acw_ms INTEGER NOT NULL DEFAULT 0 CHECK (acw_ms >= 0),\n"
    "  surveys INTEGER NOT NULL DEFAULT 0 CHECK (surveys >= 0),\n"
    "  survey_sum INTEGER NOT NULL DEFAULT 0 CHECK (survey_sum >= 0),\n"
    "  no_answer INTEGER NOT NULL DEFAULT 0 CHECK (no_answer >= 0),\n"
    "  ready_ms INTEGER NOT NULL DEFAULT 0 CHECK (ready_ms >= 0),\n"
    "  busy_ms INTEGER NOT NULL DEFAULT 0 CHECK (busy_ms >= 0),\n"
    "  not_ready_ms INTEGER NOT NULL DEFAULT 0 CHECK (not_ready_ms >= 0),\n"
    "  dialed INTEGER NOT NULL DEFAULT 0 CHECK (dialed >= 0),\n"
    "  dial_answered INTEGER NOT NULL DEFAULT 0 CHECK (dial_answered >= 0),\n"
    "  PRIMARY KEY (scope, name, start_ms)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX kpi_start ON kpi (start_ms);\n"
    "CREATE VIEW kpi_ratios AS SELECT scope, name, start_ms,\n"
    "  strftime('%Y-%m-%dT%H:%M:%SZ', start_ms / 1000, 'unixepoch') AS start,\n"
    "  offered, answered, abandoned, abandoned_short, blocked,\n"
    "  CAST(answered_in_sl AS REAL) / NULLIF(answered, 0) AS sl_ignored,\n"
    "  CAST(answered_in_sl AS REAL) / NULLIF(answered + abandoned, 0) AS sl_negative,\n"
    "  CAST(answered_in_sl + abandoned_in_sl AS REAL) / NULLIF(answered + abandoned, 0) AS sl_positive,\n"
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
    "FROM kpi\n"
    ";\n";

/* An integer from the file at path, with a connection of its own (the store's may be
 * closed or read-only). */
static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

#define HAS_INTERNAL_CALLS "SELECT count(*) FROM pragma_table_info('kpi') WHERE name = 'internal_calls'"

/* A database of schema version 1 (before internal_calls): read-only it opens as it is (the
 * new column read as 0, the CSV has it); for writing it is migrated once, its rows kept,
 * and new records carry internal_calls; a migration that cannot get the write lock fails
 * and leaves the file as it was. */
static void test_migration(void)
{
    char path[512], err[512] = "";
    path_of(path, sizeof(path), "v1.db");
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, SCHEMA_V1, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA application_id = 1296321360; PRAGMA user_version = 1;"
                           "PRAGMA journal_mode = WAL;"
                           "INSERT INTO kpi (scope, name, start_ms, offered, answered, handled,"
                           " talk_ms) VALUES ('queue', 'billing', 1717200000000, 7, 6, 6, 1234567);"
                           "INSERT INTO kpi (scope, name, start_ms, answered, handled, ready_ms,"
                           " dial_answered) VALUES ('agent', '1024', 1717200000000, 3, 3, 600000, 1)",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(sql_int(path, "PRAGMA user_version") == 1 && sql_int(path, HAS_INTERNAL_CALLS) == 0);

    /* Read-only: nothing changes; the rows come back with internal_calls 0. */
    md_kpi_store_t *s = NULL;
    md_kpi_store_opts_t ro = { .read_only = 1 };
    CHECK_RC(md_kpi_store_open(&s, path, &ro, err, sizeof(err)), 0, err);
    if (s == NULL)
        return;
    CHECK(md_kpi_store_schema(s) == 1);
    got_t g = { .n = 0 };
    CHECK_RC(md_kpi_store_query(s, 0, NULL, 0, UINT64_MAX, collect, &g, err, sizeof(err)), 2, err);
    CHECK(g.n == 2 && g.recs[0].scope == MD_KPI_QUEUE && strcmp(g.recs[0].name, "billing") == 0 &&
          g.recs[0].offered == 7 && g.recs[0].answered == 6 && g.recs[0].talk_ms == 1234567 &&
          g.recs[0].internal_calls == 0);
    CHECK(g.n == 2 && g.recs[1].scope == MD_KPI_AGENT && strcmp(g.recs[1].name, "1024") == 0 &&
          g.recs[1].answered == 3 && g.recs[1].ready_ms == 600000 &&
          g.recs[1].dial_answered == 1 && g.recs[1].internal_calls == 0);
    char csv[600];
    path_of(csv, sizeof(csv), "v1.csv");
    FILE *f = fopen(csv, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK_RC(md_kpi_store_export_csv(s, f, MD_KPI_AGENT, NULL, 0, UINT64_MAX, err,
                                         sizeof(err)), 1, err);
        fclose(f);
        char got[2048] = "";
        f = fopen(csv, "rb");
        size_t n = f != NULL ? fread(got, 1, sizeof(got) - 1, f) : 0;
        if (f != NULL)
            fclose(f);
        got[n] = '\0';
        CHECK(strstr(got, ",dial_answered,internal_calls\r\n") != NULL);
        CHECK(strstr(got, "\r\nagent,1024,1717200000000,2024-06-01T00:00:00Z,") != NULL &&
              strstr(got, ",600000,0,0,0,1,0\r\n") != NULL);
    }
    md_kpi_t k;
    fill(&k, MD_KPI_AGENT, "1024", T0, 0);
    CHECK(md_kpi_store_add(s, &k) == -EROFS);
    md_kpi_store_close(s, NULL, 0);
    s = NULL;
    CHECK(sql_int(path, "PRAGMA user_version") == 1 && sql_int(path, HAS_INTERNAL_CALLS) == 0);

    /* For writing while another connection holds the write lock: refused, nothing changed. */
    sqlite3 *other = NULL;
    CHECK(sqlite3_open(path, &other) == SQLITE_OK);
    CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), -EBUSY, err);
    CHECK(s == NULL && strstr(err, "cannot migrate the file from schema version 1 to 2") != NULL);
    printf("migration while locked: %s\n", err);
    CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(other);
    CHECK(sql_int(path, "PRAGMA user_version") == 1 && sql_int(path, HAS_INTERNAL_CALLS) == 0);

    /* For writing: migrated, the rows kept. */
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), 0, err);
    if (s == NULL)
        return;
    CHECK(md_kpi_store_schema(s) == 2);
    CHECK(sql_int(path, "PRAGMA user_version") == 2 && sql_int(path, HAS_INTERNAL_CALLS) == 1);
    g.n = 0;
    CHECK_RC(md_kpi_store_query(s, 0, NULL, 0, UINT64_MAX, collect, &g, err, sizeof(err)), 2, err);
    CHECK(g.n == 2 && g.recs[0].offered == 7 && g.recs[0].talk_ms == 1234567 &&
          g.recs[1].answered == 3 && g.recs[1].ready_ms == 600000 && g.recs[1].internal_calls == 0);
    /* The agent's half hour goes on after the upgrade: added to the old row; a new one. */
    md_kpi_t more[2];
    memset(more, 0, sizeof(more));
    more[0].scope = MD_KPI_AGENT;
    strcpy(more[0].name, "1024");
    more[0].start_ms = T0;
    more[0].answered = 1;
    more[0].internal_calls = 4;
    more[1] = more[0];
    more[1].start_ms = T0 + HH;
    more[1].internal_calls = 2;
    CHECK_RC(md_kpi_store_put(s, more, 2, err, sizeof(err)), 0, err);
    md_kpi_store_close(s, NULL, 0);
    s = NULL;

    /* Opened again: version 2 now, nothing to migrate; the figures add up. */
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), 0, err);
    if (s == NULL)
        return;
    CHECK(md_kpi_store_schema(s) == 2);
    g.n = 0;
    CHECK_RC(md_kpi_store_query(s, MD_KPI_AGENT, "1024", 0, UINT64_MAX, collect, &g, err,
                                sizeof(err)), 2, err);
    CHECK(g.n == 2 && g.recs[0].answered == 4 && g.recs[0].ready_ms == 600000 &&
          g.recs[0].internal_calls == 4 && g.recs[1].answered == 1 &&
          g.recs[1].internal_calls == 2);
    md_kpi_t sum;
    CHECK_RC(md_kpi_store_sum(s, MD_KPI_AGENT, "1024", 0, UINT64_MAX, &sum, err, sizeof(err)), 2,
             err);
    CHECK(sum.answered == 5 && sum.internal_calls == 6);
    md_kpi_store_close(s, NULL, 0);
}

/* In a directory the process cannot write: a new database and an existing one (WAL needs
 * its -wal and -shm files beside it). Root ignores permissions, so as root the checks run
 * in a child that becomes "nobody". */
static void test_read_only_dir(void)
{
    char ro[512], path[600], err[512] = "";
    path_of(ro, sizeof(ro), "ro");
    CHECK(mkdir(ro, 0755) == 0);
    snprintf(path, sizeof(path), "%s/kpi.db", ro);
    md_kpi_store_t *s = NULL;
    CHECK_RC(md_kpi_store_open(&s, path, NULL, err, sizeof(err)), 0, err);
    md_kpi_store_close(s, NULL, 0);
    s = NULL;
    CHECK(chmod(path, 0644) == 0 && chmod(ro, 0555) == 0 && chmod(dir, 0755) == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(2);
        int bad = 0;
        char p2[600];
        snprintf(p2, sizeof(p2), "%s/new.db", ro);
        int rc = md_kpi_store_open(&s, p2, NULL, err, sizeof(err));
        printf("new in read-only dir: %d %s\n", rc, err);
        bad |= !(rc == -EACCES && s == NULL && strstr(err, "new.db") != NULL &&
                 strstr(err, "cannot create") != NULL);
        rc = md_kpi_store_open(&s, path, NULL, err, sizeof(err));
        printf("existing in read-only dir: %d %s\n", rc, err);
        bad |= !(rc == -EROFS && s == NULL && strstr(err, "kpi.db") != NULL &&
                 strstr(err, "writable") != NULL);
        fflush(stdout);
        _exit(bad);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    chmod(ro, 0755);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/md-kpi-store-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip_and_restart();
    test_csv();
    test_refused();
    test_migration();
    test_read_only_dir();
    if (failures == 0) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    printf("%s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures != 0;
}
