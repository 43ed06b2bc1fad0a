/* IVR sessions on the sample flow (flows/1000.yaml) with a virtual clock and a fake host
 * that records what would be played and notified: every rule of REQ IVR-1 to IVR-11 that
 * a session implements is walked here by keying digits and checking what the caller
 * would hear and what the integrator would be told. Usage: test_ivr FLOW.yaml */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/flow.h"
#include "control/ivr.h"
#include "control/say.h"
#include "tests/check.h"

/* ---- the fake host ---- */

static char played[8192];          /* every name played, space separated */
static uint32_t last_tag;
static int last_barge;
static int plays, stops;
static char notes[8192];           /* "STEP name | LOOKUP x | TRANSFER q reason | HANGUP" */
static char last_trail[MD_IVR_TRAIL];
static char last_vars[1024];
static int lookup_vars_had_secret;

static int fake_play(void *arg, uint32_t channel, const char *const *names, unsigned n,
                     int barge_in, uint32_t tag)
{
    (void)arg;
    (void)channel;
    for (unsigned i = 0; i < n; i++) {
        strncat(played, names[i], sizeof(played) - strlen(played) - 2);
        strcat(played, " ");
    }
    last_tag = tag;
    last_barge = barge_in;
    plays++;
    return 0;
}

static void fake_stop(void *arg, uint32_t channel)
{
    (void)arg;
    (void)channel;
    stops++;
}

static void fake_note(void *arg, uint32_t channel, const md_ivr_note_t *n)
{
    (void)arg;
    (void)channel;
    char b[256];
    switch (n->kind) {
    case MD_IVR_NOTE_STEP: snprintf(b, sizeof(b), "STEP %s|", n->step); break;
    case MD_IVR_NOTE_LOOKUP: snprintf(b, sizeof(b), "LOOKUP %s|", n->lookup); break;
    case MD_IVR_NOTE_TRANSFER: snprintf(b, sizeof(b), "TRANSFER %s %s|", n->queue, n->reason); break;
    case MD_IVR_NOTE_HANGUP: snprintf(b, sizeof(b), "HANGUP %s|", n->reason); break;
    }
    strncat(notes, b, sizeof(notes) - strlen(notes) - 1);
    snprintf(last_trail, sizeof(last_trail), "%s", n->trail);
    last_vars[0] = '\0';
    for (unsigned i = 0; i < n->n_vars; i++) {
        snprintf(b, sizeof(b), "%s=%s;", n->vars[i].name, n->vars[i].value);
        strncat(last_vars, b, sizeof(last_vars) - strlen(last_vars) - 1);
        if (n->kind == MD_IVR_NOTE_LOOKUP && n->vars[i].secret)
            lookup_vars_had_secret = 1;
    }
}

static const md_ivr_host_t host = { fake_play, fake_stop, fake_note, NULL };

static void reset(void)
{
    played[0] = notes[0] = last_trail[0] = last_vars[0] = '\0';
    plays = stops = 0;
    lookup_vars_had_secret = 0;
}

static uint64_t now;

/* The current play list ends (no barge-in). */
static void finish_play(md_ivr_t *s)
{
    now += 1000;
    md_ivr_prompt_done(s, last_tag, 0, now);
}

/* Plays out every list until the session waits for something else. */
static void finish_all(md_ivr_t *s)
{
    for (int i = 0; i < 20 && s->playing; i++)
        finish_play(s);
}

static void keys(md_ivr_t *s, const char *k)
{
    for (; *k; k++) {
        now += 200;
        md_ivr_digit(s, *k, now);
    }
}

static void wait_ms(md_ivr_t *s, uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 100) {
        now += 100;
        md_ivr_tick(s, now);
    }
}

static int has(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static md_flow_t *flow;

static void start(md_ivr_t *s, const char *ani, const char *lang)
{
    reset();
    now = 1000;
    int rc = md_ivr_start(s, flow, &host, 7, ani, lang, now);
    CHECK(rc == 0);
}

/* ---- scenarios ---- */

static void test_welcome_and_menus(void)
{
    md_ivr_t s;
    start(&s, "", NULL);
    /* Welcome and the urgent notice, not interruptible, in the default language. */
    CHECKF(strcmp(played, "zh/welcome zh/notice ") == 0, "%s", played);
    CHECK(last_barge == 0);
    finish_play(&s);
    CHECKF(has(notes, "STEP main|"), "%s", notes);
    CHECK(has(played, "zh/main_menu"));
    CHECK(last_barge == 1);   /* menus can be interrupted (IVR-3) */
    keys(&s, "1");
    CHECK(has(notes, "STEP queries|"));
    CHECK(has(played, "zh/queries_menu"));
    keys(&s, "*");
    CHECKF(has(notes, "STEP queries|STEP main|"), "%s", notes);
    keys(&s, "3");
    keys(&s, "#");
    CHECKF(has(notes, "STEP faults|STEP main|"), "%s", notes);
    /* 9 repeats the menu: no new step, the prompt again. */
    reset();
    keys(&s, "9");
    CHECK(notes[0] == '\0');
    CHECK(has(played, "zh/main_menu"));
    /* 0 from anywhere: an agent, with the trail. */
    keys(&s, "1");
    keys(&s, "0");
    CHECKF(has(notes, "TRANSFER general agent_key|"), "%s", notes);
    CHECKF(has(last_trail, "main:1 > queries:0"), "%s", last_trail);
    CHECK(md_ivr_done(&s));
    md_ivr_end(&s);
}

static void test_typeahead(void)
{
    md_ivr_t s;
    start(&s, "", "en");
    /* Keyed during the welcome: main 1 -> queries 2 -> bill 2 -> pay_amount. */
    keys(&s, "122");
    finish_play(&s);
    CHECKF(has(notes, "STEP main|STEP queries|STEP bill|STEP pay_amount|"), "%s", notes);
    /* No menu prompt was said on the way, only the entry's. */
    CHECKF(!has(played, "main_menu") && !has(played, "queries_menu") && !has(played, "bill_menu"),
           "%s", played);
    CHECK(has(played, "en/enter_amount"));
    md_ivr_end(&s);
    /* Keyed while a prompt plays (barge-in): the worker stops it, the digit follows. */
    start(&s, "", "en");
    finish_play(&s);
    md_ivr_prompt_done(&s, last_tag, '3', now);
    keys(&s, "3");
    CHECK(has(notes, "STEP faults|"));
    md_ivr_end(&s);
}

static void test_invalid_and_timeout(void)
{
    md_ivr_t s;
    start(&s, "", NULL);
    finish_play(&s);
    reset();
    keys(&s, "5");
    /* The specific message, then the menu again. */
    CHECKF(has(played, "zh/invalid_option"), "%s", played);
    finish_play(&s);
    CHECK(has(played, "zh/invalid_option zh/main_menu"));
    finish_play(&s);
    /* No entry: the timeout message after first_digit_ms (6 s in the flow). */
    reset();
    wait_ms(&s, 5800);
    CHECK(played[0] == '\0');
    wait_ms(&s, 400);
    CHECKF(has(played, "zh/no_input"), "%s", played);
    finish_play(&s);
    finish_play(&s);
    /* The third failure: too many, then an agent with the trail. */
    keys(&s, "7");
    CHECKF(has(played, "zh/too_many_errors"), "%s", played);
    CHECK(!md_ivr_done(&s));
    finish_play(&s);
    CHECKF(has(notes, "TRANSFER general too_many_errors|"), "%s", notes);
    CHECKF(has(last_trail, "too many errors"), "%s", last_trail);
    CHECK(s.errors >= 3);
    md_ivr_end(&s);
}

static void test_amount_readback_lookup(void)
{
    md_ivr_t s;
    start(&s, "", NULL);
    keys(&s, "122");
    finish_play(&s);
    finish_all(&s);
    reset();
    /* 12*5# is 12.5 yuan: read back as 十二元五角, then "1 to confirm". */
    keys(&s, "12*5#");
    CHECKF(strcmp(played, "zh/num/ten zh/num/2 zh/num/yuan zh/num/5 zh/num/jiao zh/confirm_entry ") == 0,
           "%s", played);
    keys(&s, "1");
    CHECK(strcmp(md_ivr_var(&s, "amount"), "12.5") == 0);
    CHECKF(has(notes, "STEP pay|LOOKUP pay|"), "%s", notes);
    CHECK(has(last_vars, "amount=12.5;"));
    /* Answered quickly: no wait prompt; the result picks the branch. */
    reset();
    wait_ms(&s, 500);
    md_ivr_answer(&s, "ok", NULL, 0, now);
    CHECKF(has(notes, "STEP paid|"), "%s", notes);
    CHECK(!has(played, "please_wait"));
    CHECK(has(played, "zh/you_paid zh/num/ten zh/num/2 zh/num/yuan zh/num/5 zh/num/jiao"));
    /* An answer when none is pending is refused. */
    CHECK(md_ivr_answer(&s, "ok", NULL, 0, now) != 0);
    md_ivr_end(&s);

    /* Amount errors: a third decimal, and 2 to enter again. */
    start(&s, "", NULL);
    keys(&s, "122");
    finish_play(&s);
    finish_all(&s);
    reset();
    keys(&s, "1*234");
    CHECKF(has(played, "zh/amount_error"), "%s", played);
    finish_all(&s);
    reset();
    keys(&s, "8#");
    keys(&s, "2");
    CHECKF(has(played, "zh/enter_amount"), "%s", played);
    md_ivr_end(&s);
}

static void test_slow_lookup(void)
{
    md_ivr_t s;
    start(&s, "", NULL);
    keys(&s, "11");
    finish_play(&s);
    CHECKF(has(notes, "LOOKUP number_info|"), "%s", notes);
    reset();
    wait_ms(&s, 1900);
    CHECK(!has(played, "please_wait"));
    wait_ms(&s, 200);
    /* IVR-7: slower than 2 s gets the wait prompt, looping. */
    CHECKF(has(played, "zh/please_wait"), "%s", played);
    finish_play(&s);
    wait_ms(&s, 100);
    CHECK(plays >= 2);
    /* Digits keyed while waiting are kept for the next menu. */
    keys(&s, "3");
    md_ivr_answer(&s, "ok", (md_ivr_var_t[]){ { "number", "12345678", 0 } }, 1, now);
    CHECKF(has(played, "zh/your_number_is zh/num/1 zh/num/2"), "%s", played);
    finish_all(&s);
    CHECKF(has(notes, "STEP queries|STEP install_order|"), "%s", notes);
    md_ivr_end(&s);

    /* No answer in 10 s: an agent. */
    start(&s, "", NULL);
    keys(&s, "11");
    finish_play(&s);
    for (int i = 0; i < 12 && !md_ivr_done(&s); i++) {
        wait_ms(&s, 1000);
        if (s.playing)
            md_ivr_prompt_done(&s, last_tag, 0, now);
    }
    CHECKF(has(notes, "TRANSFER general lookup_timeout|"), "%s", notes);
    CHECK(now - 1000 <= 13000);
    md_ivr_end(&s);
}

static void test_password_attempts(void)
{
    md_ivr_t s;
    start(&s, "", NULL);
    keys(&s, "62");
    finish_play(&s);
    CHECKF(has(notes, "LOOKUP password_status|"), "%s", notes);
    md_ivr_answer(&s, "set", NULL, 0, now);
    finish_all(&s);
    for (int attempt = 0; attempt < 2; attempt++) {
        keys(&s, attempt == 0 ? "123456" : "654321");   /* max 6: ends by itself */
        CHECKF(has(notes, "LOOKUP verify_password|"), "%s", notes);
        /* The integrator gets the password to check; nobody else does. */
        CHECK(lookup_vars_had_secret);
        md_ivr_answer(&s, "wrong", NULL, 0, now);
        CHECK(!has(last_vars, "123456"));
        finish_all(&s);
    }
    /* The third visit of old_password ends the service (IVR-11). */
    CHECKF(has(notes, "HANGUP flow|"), "%s", notes);
    CHECK(has(played, "zh/password_locked"));
    CHECKF(!has(last_trail, "123456") && !has(last_trail, "654321"), "%s", last_trail);
    CHECK(!has(last_vars, "123456") && !has(last_vars, "654321"));
    md_ivr_end(&s);
}

static void test_classes_and_paging(void)
{
    md_ivr_t s;
    start(&s, "13912345678", "en");
    CHECKF(strcmp(played, "en/vip_welcome en/notice ") == 0, "%s", played);
    finish_play(&s);
    CHECK(has(notes, "STEP vip_main|"));
    CHECK(strcmp(md_ivr_var(&s, "class"), "vip") == 0);
    keys(&s, "1");
    reset();
    md_ivr_answer(&s, "ok",
                  (md_ivr_var_t[]){ { "items", "1;2;3;4;5", 0 }, { "total", "15", 0 } }, 2, now);
    /* Three items, then the question. */
    CHECKF(strcmp(played, "en/bill_intro en/num/1 en/num/yuan en/num/2 en/num/yuan en/num/3 en/num/yuan ") == 0,
           "%s", played);
    finish_play(&s);
    CHECK(has(played, "en/more_items"));
    finish_play(&s);
    reset();
    keys(&s, "1");
    CHECKF(strcmp(played, "en/num/4 en/num/yuan en/num/5 en/num/yuan ") == 0, "%s", played);
    finish_play(&s);
    CHECKF(has(played, "en/bill_total_is en/num/15 en/num/yuan"), "%s", played);
    md_ivr_end(&s);
    /* Not a VIP: the ordinary welcome. A language the flow lacks: refused. */
    start(&s, "13800000000", NULL);
    CHECK(has(played, "zh/welcome"));
    md_ivr_end(&s);
    md_ivr_t s2;
    CHECK(md_ivr_start(&s2, flow, &host, 8, "", "fr", now) != 0);
}

static void test_stale_prompt_done(void)
{
    md_ivr_t s;
    start(&s, "", NULL);
    uint32_t welcome_tag = last_tag;
    finish_play(&s);
    keys(&s, "1");
    /* A prompt-done for an older list must not move the session. */
    reset();
    md_ivr_prompt_done(&s, welcome_tag, 0, now);
    CHECK(notes[0] == '\0' && played[0] == '\0');
    CHECK(s.playing);
    md_ivr_end(&s);
}

/* ---- spoken numbers ---- */

static void said(const char *lang, md_say_kind_t k, const char *v, const char *want)
{
    md_say_name_t names[40];
    char got[1024] = "";
    int n = md_say(lang, k, v, names, 40);
    for (int i = 0; i < n; i++) {
        strcat(got, names[i] + 4 * (strncmp(names[i], "num/", 4) == 0));
        strcat(got, " ");
    }
    CHECKF(n > 0 && strcmp(got, want) == 0, "%s %s: got '%s' want '%s'", lang, v, got, want);
}

static void test_say(void)
{
    said("en", MD_SAY_NUMBER, "342", "3 hundred 40 2 ");
    said("en", MD_SAY_NUMBER, "0", "0 ");
    said("en", MD_SAY_NUMBER, "1015", "1 thousand 15 ");
    said("en", MD_SAY_NUMBER, "2000000", "2 million ");
    said("en", MD_SAY_AMOUNT, "12.05", "12 yuan 5 fen ");
    said("en", MD_SAY_AMOUNT, "0.5", "50 fen ");
    said("en", MD_SAY_DATE, "20261202", "date/m12 2 2 thousand 20 6 ");
    said("zh", MD_SAY_NUMBER, "15", "ten 5 ");
    said("zh", MD_SAY_NUMBER, "110", "1 hundred 1 ten ");
    said("zh", MD_SAY_NUMBER, "1005", "1 thousand 0 5 ");
    said("zh", MD_SAY_NUMBER, "10015", "1 tenthousand 0 1 ten 5 ");
    said("zh", MD_SAY_NUMBER, "20000", "2 tenthousand ");
    said("zh", MD_SAY_NUMBER, "1200", "1 thousand 2 hundred ");
    said("zh", MD_SAY_AMOUNT, "12.05", "ten 2 yuan 0 5 fen ");
    said("zh", MD_SAY_AMOUNT, "0.3", "3 jiao ");
    said("zh", MD_SAY_AMOUNT, "30", "3 ten yuan ");
    said("zh", MD_SAY_DATE, "202603", "2 0 2 6 date/year 3 date/month ");
    said("zh", MD_SAY_DIGITS, "0700", "0 7 0 0 ");
    md_say_name_t names[4];
    CHECK(md_say("zh", MD_SAY_NUMBER, "123456789", names, 4) < 0);
    CHECK(md_say("en", MD_SAY_NUMBER, "12a", names, 4) < 0);
    CHECK(md_say("en", MD_SAY_AMOUNT, "1.234", names, 4) < 0);
    CHECK(md_say("en", MD_SAY_DATE, "20261301", names, 4) < 0);
    CHECK(md_say("en", MD_SAY_NUMBER, "1234567", names, 4) == -ENOSPC);
    CHECK(md_say("fr", MD_SAY_NUMBER, "1", names, 4) < 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_ivr FLOW.yaml\n");
        return 2;
    }
    char err[512], warn[1024];
    if (md_flow_load(argv[1], &flow, err, sizeof(err), warn, sizeof(warn)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    test_welcome_and_menus();
    test_typeahead();
    test_invalid_and_timeout();
    test_amount_readback_lookup();
    test_slow_lookup();
    test_password_attempts();
    test_classes_and_paging();
    test_stale_prompt_done();
    test_say();
    md_flow_free(flow);
    return check_summary("ivr");
}
