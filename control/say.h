/* Numbers, amounts, dates and digit strings spoken by concatenating recorded prompts
 * (REQ IVR-10), in English and Mandarin. The result is a list of prompt names under
 * "num/" and "date/" that the prompt pack provides for each language (see
 * md_say_each_prompt() and tools/make_prompts.sh). */
#ifndef MD_CONTROL_SAY_H
#define MD_CONTROL_SAY_H

#include "control/flow.h"

typedef char md_say_name_t[MD_FLOW_NAME];

/* Speaks value (a string of digits; for amounts digits with an optional '.' and at most
 * two decimals; for dates YYYY, YYYYMM or YYYYMMDD) as kind in language lang ("en" or
 * "zh"). Writes up to max names to out. Returns the count, -EINVAL for a value that is
 * not what kind expects (or too large: numbers below 10^8), -ENOSPC if max is short,
 * -ENOTSUP for another language. */
int md_say(const char *lang, md_say_kind_t kind, const char *value, md_say_name_t *out,
           unsigned max);

/* Every prompt md_say() can produce in lang. */
void md_say_each_prompt(const char *lang, void (*fn)(void *arg, const char *name), void *arg);

#endif
