/* IVR flows: the files contact centres edit by hand (YAML, with comments), loaded into
 * an immutable tree that IVR sessions walk (control/ivr.h). See docs/ivr.md for the
 * format; flows/1000.yaml is the sample.
 *
 * A flow is a set of named steps:
 *   menu      prompts, then a key picks an option (at most 6 counting 0, REQ IVR-1);
 *             the fixed keys * (back), # (main menu), 0 (agent), 9 (repeat) work
 *             everywhere (IVR-2) and cannot be used as options
 *   collect   data entry (IVR-8): digits, an amount with * as the decimal point, a date,
 *             a password; min/max length, # ends it; optional read-back and confirm
 *   lookup    ask the integrator (an event on the API) and branch on its answer; a
 *             wait prompt if it is slow, a timeout at most 10 s (IVR-7)
 *   say       announce prompts and variables spoken by concatenating recorded prompts
 *             (IVR-10), paged with a "continue?" question for long lists (IVR-9)
 *   transfer  to a queue, with the trail (IVR-4)
 *   hangup    after a prompt
 * Loading checks everything a running call would trip over (unknown steps, prompts
 * missing in a language, menus with too many options or fixed keys, a notice longer than
 * 20 s) and reports the file, line and what is wrong. */
#ifndef MD_CONTROL_FLOW_H
#define MD_CONTROL_FLOW_H

#include <stddef.h>
#include <stdint.h>

#define MD_FLOW_NAME 48
#define MD_FLOW_ITEMS 12        /* prompt items in one list */
#define MD_FLOW_BRANCHES 12     /* lookup results */
#define MD_FLOW_LANGS 4
#define MD_FLOW_CLASSES 16
#define MD_FLOW_PATTERNS 8

typedef enum {
    MD_STEP_MENU = 1,
    MD_STEP_COLLECT,
    MD_STEP_LOOKUP,
    MD_STEP_SAY,
    MD_STEP_TRANSFER,
    MD_STEP_HANGUP,
} md_step_kind_t;

/* How a prompt item is spoken. */
typedef enum {
    MD_SAY_PROMPT = 0,   /* a recorded prompt by name */
    MD_SAY_DIGITS,       /* a variable, digit by digit */
    MD_SAY_NUMBER,       /* a variable as a whole number */
    MD_SAY_AMOUNT,       /* a variable as money: yuan, jiao, fen */
    MD_SAY_DATE,         /* a variable YYYY, YYYYMM or YYYYMMDD */
} md_say_kind_t;

typedef struct {
    md_say_kind_t kind;
    char name[MD_FLOW_NAME];   /* prompt name, or variable name */
} md_flow_item_t;

typedef struct {
    md_flow_item_t item[MD_FLOW_ITEMS];
    unsigned n;
} md_flow_list_t;

typedef enum {
    MD_COLLECT_DIGITS = 0,
    MD_COLLECT_AMOUNT,      /* '*' is the decimal point, at most two decimals */
    MD_COLLECT_DATE,        /* YYYY, or YYYYMMDD with min_digits 8 */
    MD_COLLECT_PASSWORD,    /* never read back, never in the trail */
} md_collect_kind_t;

typedef struct {
    char key[MD_FLOW_NAME];
    int target;                /* step index */
} md_flow_branch_t;

typedef struct {
    char name[MD_FLOW_NAME];
    md_step_kind_t kind;
    int line;                  /* in the file, for messages */
    md_flow_list_t prompt;     /* what the step says first */
    /* menu: the step for each key (index by md_flow_key_index()), -1 if none. */
    int option[16];
    unsigned n_options;
    /* collect */
    md_collect_kind_t collect;
    unsigned min_digits, max_digits;
    char var[MD_FLOW_NAME];    /* where the entry goes */
    int readback;              /* say it back and ask 1 to confirm, 2 to re-enter */
    /* lookup */
    char lookup[MD_FLOW_NAME];
    md_flow_branch_t branch[MD_FLOW_BRANCHES];
    unsigned n_branches;
    unsigned wait_prompt_ms;   /* play the wait prompt if no answer by then */
    unsigned lookup_timeout_ms;
    int on_timeout;            /* step, or -1: the flow's error path */
    /* say: an optional list variable ("a;b;c") spoken item by item, paged. */
    char list_var[MD_FLOW_NAME];
    md_say_kind_t list_kind;
    unsigned page;             /* items per page, 0: no paging */
    /* transfer */
    char queue[MD_FLOW_NAME];
    /* Where to go next (collect, lookup default, say), or -1. */
    int next;
    /* A step entered more than max_visits times in one call goes to over_limit instead
     * (password attempts, IVR-11). 0: no limit. */
    unsigned max_visits;
    int over_limit;
    /* Errors (IVR-4), from the flow's defaults unless set here. */
    unsigned first_digit_ms, inter_digit_ms, retries;
    md_flow_list_t invalid, timeout;
} md_flow_step_t;

typedef struct {
    char name[MD_FLOW_NAME];
    char pattern[MD_FLOW_PATTERNS][32];   /* ANI prefixes; a trailing '*' is optional */
    unsigned n_patterns;
    int start;
    char language[8];
    md_flow_list_t welcome;
} md_flow_class_t;

typedef struct md_flow {
    char name[MD_FLOW_NAME];
    char path[512];
    char languages[MD_FLOW_LANGS][8];
    unsigned n_languages;
    char prompt_dir[512];      /* prompts are <prompt_dir>/<language>/<name>.wav */
    md_flow_list_t welcome;
    md_flow_list_t notice;     /* urgent notice, empty if none (IVR-6) */
    int start;
    char agent_queue[MD_FLOW_NAME];   /* where 0 and too many errors go */
    md_flow_list_t too_many;   /* said before that transfer */
    md_flow_list_t wait;       /* lookups that are slow */
    md_flow_list_t confirm;    /* read-back: "1 to confirm, 2 to re-enter" */
    md_flow_list_t more;       /* paging: "1 for more, 2 to stop" */
    md_flow_list_t goodbye;
    md_flow_class_t cls[MD_FLOW_CLASSES];
    unsigned n_classes;
    md_flow_step_t *steps;
    unsigned n_steps;
    unsigned refs;             /* sessions walking this version */
} md_flow_t;

/* Loads and checks a flow file. Returns 0 and *out (free with md_flow_free()), or a
 * negative errno code with "file:line: what is wrong" in err. Warnings (things that
 * work but break a rule of thumb, e.g. options numbered with gaps) are appended to
 * warn, one per line, if warn is not NULL. */
int md_flow_load(const char *path, md_flow_t **out, char *err, size_t errlen, char *warn,
                 size_t warnlen);
/* The same on a buffer (name is used in messages). */
int md_flow_parse(const char *name, const char *text, size_t len, md_flow_t **out, char *err,
                  size_t errlen, char *warn, size_t warnlen);
void md_flow_free(md_flow_t *f);

/* Index of a DTMF key in md_flow_step_t.option: 0-9, * = 10, # = 11, A-D = 12-15; -1 for
 * anything else. */
int md_flow_key_index(char key);

int md_flow_find_step(const md_flow_t *f, const char *name);

/* The class whose ANI pattern matches, or -1. */
int md_flow_match_class(const md_flow_t *f, const char *ani);

/* Calls fn for every prompt name the flow can play (duplicates included), for loading
 * the prompt pack. Variables are not prompts; the spoken-number prompts are listed by
 * control/say.h. */
void md_flow_each_prompt(const md_flow_t *f, void (*fn)(void *arg, const char *name), void *arg);

#endif
