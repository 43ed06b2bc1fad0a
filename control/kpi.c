/* KPI formulas on half-hour records (control/kpi.h, docs/acd.md). */
#include "control/kpi.h"

static double ratio(double num, double den)
{
    return den > 0 ? num / den : -1.0;
}

double md_kpi_service_level(const md_kpi_t *k, md_kpi_abandon_t how)
{
    switch (how) {
    case MD_KPI_ABANDON_IGNORED:
        return ratio(k->answered_in_sl, k->answered);
    case MD_KPI_ABANDON_NEGATIVE:
        return ratio(k->answered_in_sl, (double)k->answered + k->abandoned);
    case MD_KPI_ABANDON_POSITIVE:
        return ratio((double)k->answered_in_sl + k->abandoned_in_sl,
                     (double)k->answered + k->abandoned);
    }
    return -1.0;
}

double md_kpi_asa_ms(const md_kpi_t *k)
{
    return ratio((double)k->wait_answered_ms, k->answered);
}

double md_kpi_abandon_rate(const md_kpi_t *k)
{
    return ratio(k->abandoned, (double)k->answered + k->abandoned);
}

double md_kpi_aht_ms(const md_kpi_t *k)
{
    return ratio((double)k->talk_ms + (double)k->hold_ms + (double)k->acw_ms, k->handled);
}

double md_kpi_acw_ms(const md_kpi_t *k)
{
    return ratio((double)k->acw_ms, k->handled);
}

double md_kpi_occupancy(const md_kpi_t *k)
{
    return ratio((double)k->busy_ms, (double)k->busy_ms + (double)k->ready_ms);
}

double md_kpi_transfer_rate(const md_kpi_t *k)
{
    return ratio(k->transferred, k->answered);
}

double md_kpi_survey_avg(const md_kpi_t *k)
{
    return ratio(k->survey_sum, k->surveys);
}

void md_kpi_add(md_kpi_t *a, const md_kpi_t *b)
{
    a->offered += b->offered;
    for (unsigned i = 0; i < MD_KPI_CLASSES; i++)
        a->offered_class[i] += b->offered_class[i];
    a->answered += b->answered;
    a->answered_in_sl += b->answered_in_sl;
    a->abandoned += b->abandoned;
    a->abandoned_in_sl += b->abandoned_in_sl;
    a->abandoned_short += b->abandoned_short;
    a->overflowed += b->overflowed;
    a->deflected += b->deflected;
    a->callbacks += b->callbacks;
    a->blocked += b->blocked;
    a->transferred += b->transferred;
    a->wait_answered_ms += b->wait_answered_ms;
    a->wait_abandoned_ms += b->wait_abandoned_ms;
    if (b->longest_wait_ms > a->longest_wait_ms)
        a->longest_wait_ms = b->longest_wait_ms;
    a->handled += b->handled;
    a->talk_ms += b->talk_ms;
    a->hold_ms += b->hold_ms;
    a->acw_ms += b->acw_ms;
    a->surveys += b->surveys;
    a->survey_sum += b->survey_sum;
    a->no_answer += b->no_answer;
    a->ready_ms += b->ready_ms;
    a->busy_ms += b->busy_ms;
    a->not_ready_ms += b->not_ready_ms;
    a->dialed += b->dialed;
    a->dial_answered += b->dial_answered;
    a->internal_calls += b->internal_calls;
}
