/* Spoken numbers. English: "three hundred forty two"; money as "<n> yuan <n> fen".
 * Mandarin: digits with 十 百 千 万 and the zero rules (one 零 for a run of zeros inside a
 * number, none at the end; 一十 is said 十 at the start); money as 元 角 分; dates as
 * digit-by-digit year 年, month 月, day 日. */
#include "control/say.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    md_say_name_t *out;
    unsigned n, max;
    int overflow;
} acc_t;

static void put(acc_t *a, const char *name)
{
    if (a->n == a->max) {
        a->overflow = 1;
        return;
    }
    snprintf(a->out[a->n++], MD_FLOW_NAME, "%s", name);
}

static void put_num(acc_t *a, unsigned v)
{
    char b[24];
    snprintf(b, sizeof(b), "num/%u", v);
    put(a, b);
}

/* English, 0 <= v < 10^9. */
static void en_below_1000(acc_t *a, unsigned v)
{
    if (v >= 100) {
        put_num(a, v / 100);
        put(a, "num/hundred");
        v %= 100;
        if (v == 0)
            return;
    }
    if (v < 20) {
        put_num(a, v);
    } else {
        put_num(a, v / 10 * 10);
        if (v % 10)
            put_num(a, v % 10);
    }
}

static void en_number(acc_t *a, unsigned v)
{
    if (v == 0) {
        put(a, "num/0");
        return;
    }
    if (v >= 1000000) {
        en_below_1000(a, v / 1000000);
        put(a, "num/million");
        v %= 1000000;
    }
    if (v >= 1000) {
        en_below_1000(a, v / 1000);
        put(a, "num/thousand");
        v %= 1000;
    }
    if (v > 0)
        en_below_1000(a, v);
}

/* Mandarin below 10^4. lead: nothing is said before this group, so 10-19 start with
 * 十 alone; after 万 (and its 零) they are said 一十. */
static void zh_below_10000(acc_t *a, unsigned v, int lead)
{
    static const char *unit[4] = { "num/thousand", "num/hundred", "num/ten", NULL };
    static const unsigned div[4] = { 1000, 100, 10, 1 };
    int zero_pending = 0, started = 0;
    for (int i = 0; i < 4; i++) {
        unsigned d = v / div[i] % 10;
        if (d == 0) {
            if (started)
                zero_pending = 1;
            continue;
        }
        if (zero_pending)
            put(a, "num/0");
        zero_pending = 0;
        if (!(i == 2 && d == 1 && !started && lead))
            put_num(a, d);
        if (unit[i] != NULL)
            put(a, unit[i]);
        started = 1;
    }
}

static void zh_number(acc_t *a, unsigned v)
{
    if (v == 0) {
        put(a, "num/0");
        return;
    }
    unsigned high = v / 10000, low = v % 10000;
    if (high > 0) {
        zh_below_10000(a, high, 1);
        put(a, "num/tenthousand");
        if (low > 0 && low < 1000)
            put(a, "num/0");
        if (low > 0)
            zh_below_10000(a, low, 0);
        return;
    }
    zh_below_10000(a, low, 1);
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Whole number below 10^8 from n digits. */
static int parse_uint(const char *s, size_t n, unsigned *v)
{
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    if (!all_digits(s, n) || n > 8)
        return -EINVAL;
    unsigned x = 0;
    for (size_t i = 0; i < n; i++)
        x = x * 10 + (unsigned)(s[i] - '0');
    *v = x;
    return 0;
}

int md_say(const char *lang, md_say_kind_t kind, const char *value, md_say_name_t *out,
           unsigned max)
{
    int zh = strcmp(lang, "zh") == 0;
    if (!zh && strcmp(lang, "en") != 0)
        return -ENOTSUP;
    acc_t a = { out, 0, max, 0 };
    size_t len = strlen(value);
    unsigned v;
    switch (kind) {
    case MD_SAY_DIGITS:
        if (!all_digits(value, len))
            return -EINVAL;
        for (size_t i = 0; i < len; i++)
            put_num(&a, (unsigned)(value[i] - '0'));
        break;
    case MD_SAY_NUMBER:
        if (parse_uint(value, len, &v) != 0)
            return -EINVAL;
        if (zh)
            zh_number(&a, v);
        else
            en_number(&a, v);
        break;
    case MD_SAY_AMOUNT: {
        const char *dot = strchr(value, '.');
        size_t il = dot != NULL ? (size_t)(dot - value) : len;
        size_t fl = dot != NULL ? len - il - 1 : 0;
        unsigned yuan, cents = 0;
        if (parse_uint(value, il, &yuan) != 0 || fl > 2 || (dot != NULL && !all_digits(dot + 1, fl)))
            return -EINVAL;
        if (fl >= 1)
            cents = (unsigned)(dot[1] - '0') * 10;
        if (fl == 2)
            cents += (unsigned)(dot[2] - '0');
        if (zh) {
            if (yuan > 0 || cents == 0) {
                zh_number(&a, yuan);
                put(&a, "num/yuan");
            }
            if (cents / 10 > 0) {
                put_num(&a, cents / 10);
                put(&a, "num/jiao");
            } else if (cents > 0 && yuan > 0) {
                put(&a, "num/0");
            }
            if (cents % 10 > 0) {
                put_num(&a, cents % 10);
                put(&a, "num/fen");
            }
        } else {
            if (yuan > 0 || cents == 0) {
                en_number(&a, yuan);
                put(&a, "num/yuan");
            }
            if (cents > 0) {
                en_number(&a, cents);
                put(&a, "num/fen");
            }
        }
        break;
    }
    case MD_SAY_DATE: {
        unsigned y = 0, m = 0, d = 0;
        if ((len != 4 && len != 6 && len != 8) || !all_digits(value, len))
            return -EINVAL;
        parse_uint(value, 4, &y);
        if (len >= 6)
            parse_uint(value + 4, 2, &m);
        if (len == 8)
            parse_uint(value + 6, 2, &d);
        if (y < 1900 || y > 2199 || (len >= 6 && (m < 1 || m > 12)) || (len == 8 && (d < 1 || d > 31)))
            return -EINVAL;
        if (zh) {
            for (int i = 0; i < 4; i++)
                put_num(&a, (unsigned)(value[i] - '0'));
            put(&a, "date/year");
            if (m > 0) {
                zh_number(&a, m);
                put(&a, "date/month");
            }
            if (d > 0) {
                zh_number(&a, d);
                put(&a, "date/day");
            }
        } else {
            char b[24];
            if (m > 0) {
                snprintf(b, sizeof(b), "date/m%02u", m % 100);
                put(&a, b);
            }
            if (d > 0)
                en_number(&a, d);
            en_number(&a, y);
        }
        break;
    }
    default:
        return -EINVAL;
    }
    return a.overflow ? -ENOSPC : (int)a.n;
}

void md_say_each_prompt(const char *lang, void (*fn)(void *arg, const char *name), void *arg)
{
    char b[24];
    int zh = strcmp(lang, "zh") == 0;
    for (unsigned i = 0; i <= (zh ? 9u : 19u); i++) {
        snprintf(b, sizeof(b), "num/%u", i);
        fn(arg, b);
    }
    if (zh) {
        const char *z[] = { "num/ten", "num/hundred", "num/thousand", "num/tenthousand",
                            "num/yuan", "num/jiao", "num/fen", "date/year", "date/month",
                            "date/day" };
        for (unsigned i = 0; i < sizeof(z) / sizeof(z[0]); i++)
            fn(arg, z[i]);
        return;
    }
    for (unsigned t = 20; t <= 90; t += 10) {
        snprintf(b, sizeof(b), "num/%u", t);
        fn(arg, b);
    }
    const char *e[] = { "num/hundred", "num/thousand", "num/million", "num/yuan", "num/fen" };
    for (unsigned i = 0; i < sizeof(e) / sizeof(e[0]); i++)
        fn(arg, e[i]);
    for (unsigned m = 1; m <= 12; m++) {
        snprintf(b, sizeof(b), "date/m%02u", m);
        fn(arg, b);
    }
}
