/* Contact-centre KPIs (REQ KPI-1 to KPI-3): the half-hour record kept per queue and per
 * agent, and the formulas computed from it. A record is plain fixed-width counters and
 * sums (no pointers), so it can be stored as one SQLite row or one Prometheus sample set
 * as it is; every ratio is computed from the stored sums, never stored itself, so records
 * can be added up into hours and days without error. See docs/acd.md for the formulas. */
#ifndef MD_CONTROL_KPI_H
#define MD_CONTROL_KPI_H

#include <stdint.h>

#define MD_KPI_NAME 32
#define MD_KPI_CLASSES 4                 /* caller classes (priorities) 0..3; 3 = VIP */
#define MD_KPI_INTERVAL_MS 1800000ull   /* half an hour */

/* How abandoned calls (longer than the short-abandon threshold) count in the service
 * level (KPI-2 makes it a setting). */
typedef enum {
    MD_KPI_ABANDON_IGNORED = 0,   /* SL = A_T / A */
    MD_KPI_ABANDON_NEGATIVE,      /* SL = A_T / (A + B) */
    MD_KPI_ABANDON_POSITIVE,      /* SL = (A_T + B_T) / (A + B) */
} md_kpi_abandon_t;

typedef enum {
    MD_KPI_QUEUE = 1,
    MD_KPI_AGENT,
} md_kpi_scope_t;

typedef struct {
    uint32_t scope;               /* md_kpi_scope_t */
    char name[MD_KPI_NAME];       /* queue name or agent id */
    uint64_t start_ms;            /* interval start, a multiple of MD_KPI_INTERVAL_MS */
    /* The settings the record was counted with (queues), so a stored row explains itself. */
    uint32_t sl_threshold_ms;
    uint32_t short_abandon_ms;
    /* Calls (queue records; agent records count the calls the agent handled). */
    uint32_t offered;             /* entered the queue (including overflow and transfers in) */
    uint32_t offered_class[MD_KPI_CLASSES];
    uint32_t answered;            /* connected to an agent */
    uint32_t answered_in_sl;      /* ... with a wait <= sl_threshold_ms */
    uint32_t abandoned;           /* caller hung up while waiting, wait >= short_abandon_ms */
    uint32_t abandoned_in_sl;     /* ... with a wait <= sl_threshold_ms */
    uint32_t abandoned_short;     /* hung up before short_abandon_ms: counted apart only */
    uint32_t overflowed;          /* left for the overflow target */
    uint32_t deflected;           /* left for self-service with '*' */
    uint32_t callbacks;           /* callbacks requested (caller's or overflow) */
    uint32_t blocked;             /* refused: blacklist, queue full without overflow */
    uint32_t transferred;         /* transferred out by an agent */
    uint64_t wait_answered_ms;    /* sum of waits of answered calls (ASA) */
    uint64_t wait_abandoned_ms;   /* sum of waits of abandoned calls */
    uint32_t longest_wait_ms;     /* longest wait that ended (answered or abandoned) */
    /* Handling, counted when the after-call work ends. */
    uint32_t handled;
    uint64_t talk_ms, hold_ms, acw_ms;
    /* Surveys (ACD-8): ratings 1..5 */
    uint32_t surveys;
    uint32_t survey_sum;
    /* Agents: offers not answered, time in states (split exactly at interval ends). */
    uint32_t no_answer;
    uint64_t ready_ms;            /* idle, waiting for a call */
    uint64_t busy_ms;             /* offered, reserved, talking, hold, after-call work */
    uint64_t not_ready_ms;
    /* Outbound (ACD-10) */
    uint32_t dialed;
    uint32_t dial_answered;
    /* Agents: internal and consult calls connected (ACD-6), counted for both agents, never
     * as offered, answered or handled calls. Stored since KPI schema 2. */
    uint32_t internal_calls;
} md_kpi_t;

/* Every ratio returns -1.0 when its denominator is zero (nothing to measure). */
double md_kpi_service_level(const md_kpi_t *k, md_kpi_abandon_t how);  /* 0..1 */
double md_kpi_asa_ms(const md_kpi_t *k);             /* wait_answered_ms / answered */
double md_kpi_abandon_rate(const md_kpi_t *k);       /* abandoned / (answered + abandoned) */
double md_kpi_aht_ms(const md_kpi_t *k);             /* (talk + hold + acw) / handled */
double md_kpi_acw_ms(const md_kpi_t *k);             /* acw / handled */
double md_kpi_occupancy(const md_kpi_t *k);          /* busy / (busy + ready) */
double md_kpi_transfer_rate(const md_kpi_t *k);      /* transferred / answered */
double md_kpi_survey_avg(const md_kpi_t *k);         /* survey_sum / surveys */

/* Adds b's counters to a (names and start of a kept), for hours and days. */
void md_kpi_add(md_kpi_t *a, const md_kpi_t *b);

/* The interval containing t. */
static inline uint64_t md_kpi_interval(uint64_t t_ms)
{
    return t_ms - t_ms % MD_KPI_INTERVAL_MS;
}

#endif
