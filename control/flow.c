/* The flow file parser: libyaml loads the document, then every field is read with its
 * type and range checked, and every name resolved, so that a mistake is found when the
 * file is loaded (with its line) and never in a call. Unknown fields are errors: a typo
 * must not silently become a default. */
#include "control/flow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#define MAX_STEPS 512
#define MAX_FILE (1 << 20)

typedef struct {
    yaml_document_t doc;
    const char *file;
    char *err;
    size_t errlen;
    char *warn;
    size_t warnlen;
    md_flow_t *f;
    /* Defaults for steps. */
    unsigned first_digit_ms, inter_digit_ms, retries;
    md_flow_list_t invalid, timeout;
} parse_t;

static int failf(parse_t *p, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n != NULL)
        snprintf(p->err, p->errlen, "%s:%lu: %s", p->file, (unsigned long)n->start_mark.line + 1,
                 msg);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
    return -EINVAL;
}

static void warnf(parse_t *p, const yaml_node_t *n, const char *fmt, ...)
{
    if (p->warn == NULL)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t used = strlen(p->warn);
    snprintf(p->warn + used, p->warnlen - used, "%s:%lu: %s\n", p->file,
             (unsigned long)(n != NULL ? n->start_mark.line + 1 : 0), msg);
}

static yaml_node_t *node(parse_t *p, int i)
{
    return yaml_document_get_node(&p->doc, i);
}

static const char *scalar(const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_string(parse_t *p, const yaml_node_t *n, char *out, size_t outlen, const char *what)
{
    const char *s = scalar(n);
    if (s == NULL)
        return failf(p, n, "%s: expected a text value", what);
    if (strlen(s) >= outlen)
        return failf(p, n, "%s: '%.40s...' is longer than %zu characters", what, s, outlen - 1);
    if (s[0] == '\0')
        return failf(p, n, "%s: empty", what);
    strcpy(out, s);
    return 0;
}

static int get_uint(parse_t *p, const yaml_node_t *n, unsigned lo, unsigned hi, unsigned *out,
                    const char *what)
{
    const char *s = scalar(n);
    char *end;
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return failf(p, n, "%s: expected a number from %u to %u", what, lo, hi);
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return failf(p, n, "%s: '%s' is not a number from %u to %u", what, s, lo, hi);
    *out = (unsigned)v;
    return 0;
}

static int get_bool(parse_t *p, const yaml_node_t *n, int *out, const char *what)
{
    const char *s = scalar(n);
    if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0))
        *out = 1;
    else if (s != NULL && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0))
        *out = 0;
    else
        return failf(p, n, "%s: expected true or false", what);
    return 0;
}

/* A prompt name: what the prompt store accepts, minus the language directory. */
static int name_ok(const char *s)
{
    if (s[0] == '\0' || s[0] == '/' || strstr(s, "..") != NULL)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.' || *s == '/'))
            return 0;
    return 1;
}

/* One item: "prompt_name", "$var" (digits) or "$var:number|amount|date|digits". */
static int get_item(parse_t *p, const yaml_node_t *n, md_flow_item_t *it, const char *what)
{
    const char *s = scalar(n);
    if (s == NULL)
        return failf(p, n, "%s: expected a prompt name or $variable", what);
    if (s[0] != '$') {
        if (!name_ok(s) || strlen(s) >= MD_FLOW_NAME)
            return failf(p, n, "%s: '%s' is not a prompt name (letters, digits, _ - . /)", what, s);
        it->kind = MD_SAY_PROMPT;
        strcpy(it->name, s);
        return 0;
    }
    const char *colon = strchr(s, ':');
    size_t vl = colon != NULL ? (size_t)(colon - s - 1) : strlen(s + 1);
    if (vl == 0 || vl >= MD_FLOW_NAME)
        return failf(p, n, "%s: '%s' has no variable name", what, s);
    memcpy(it->name, s + 1, vl);
    it->name[vl] = '\0';
    const char *how = colon != NULL ? colon + 1 : "digits";
    if (strcmp(how, "digits") == 0)
        it->kind = MD_SAY_DIGITS;
    else if (strcmp(how, "number") == 0)
        it->kind = MD_SAY_NUMBER;
    else if (strcmp(how, "amount") == 0)
        it->kind = MD_SAY_AMOUNT;
    else if (strcmp(how, "date") == 0)
        it->kind = MD_SAY_DATE;
    else
        return failf(p, n, "%s: '%s': say a variable as digits, number, amount or date", what, s);
    return 0;
}

/* A prompt list: one item or a sequence of them. */
static int get_list(parse_t *p, const yaml_node_t *n, md_flow_list_t *l, const char *what)
{
    memset(l, 0, sizeof(*l));
    if (n != NULL && n->type == YAML_SCALAR_NODE) {
        l->n = 1;
        return get_item(p, n, &l->item[0], what);
    }
    if (n == NULL || n->type != YAML_SEQUENCE_NODE)
        return failf(p, n, "%s: expected a prompt or a list of prompts", what);
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        if (l->n == MD_FLOW_ITEMS)
            return failf(p, n, "%s: more than %d items", what, MD_FLOW_ITEMS);
        int rc = get_item(p, node(p, *i), &l->item[l->n++], what);
        if (rc != 0)
            return rc;
    }
    if (l->n == 0)
        return failf(p, n, "%s: empty list", what);
    return 0;
}

static int find_step(parse_t *p, const yaml_node_t *n, int *out, const char *what)
{
    const char *s = scalar(n);
    if (s == NULL)
        return failf(p, n, "%s: expected a step name", what);
    *out = md_flow_find_step(p->f, s);
    if (*out < 0)
        return failf(p, n, "%s: no step named '%s'", what, s);
    return 0;
}

int md_flow_key_index(char key)
{
    if (key >= '0' && key <= '9')
        return key - '0';
    switch (key) {
    case '*': return 10;
    case '#': return 11;
    case 'A': return 12;
    case 'B': return 13;
    case 'C': return 14;
    case 'D': return 15;
    }
    return -1;
}

int md_flow_find_step(const md_flow_t *f, const char *name)
{
    for (unsigned i = 0; i < f->n_steps; i++)
        if (strcmp(f->steps[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int parse_options(parse_t *p, md_flow_step_t *st, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE)
        return failf(p, n, "step %s: options: expected key: step pairs", st->name);
    int highest = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node(p, pr->key);
        const char *key = scalar(k);
        if (key == NULL || strlen(key) != 1 || md_flow_key_index(key[0]) < 0)
            return failf(p, k, "step %s: option '%s' is not a key (0-9)", st->name, key ? key : "?");
        if (key[0] == '*' || key[0] == '#' || key[0] == '9')
            return failf(p, k, "step %s: '%s' is a fixed key in every menu (* back, # main menu, "
                         "9 repeat) and cannot be an option", st->name, key);
        if (key[0] < '0' || key[0] > '8')
            return failf(p, k, "step %s: option '%s' is not a digit 0-8", st->name, key);
        int idx = md_flow_key_index(key[0]);
        if (st->option[idx] >= 0)
            return failf(p, k, "step %s: option %s given twice", st->name, key);
        int rc = find_step(p, node(p, pr->value), &st->option[idx], "option");
        if (rc != 0)
            return rc;
        st->n_options++;
        if (key[0] != '0' && key[0] - '0' > highest)
            highest = key[0] - '0';
    }
    /* IVR-1: at most 6 options, counting 0 for an agent (always offered). */
    unsigned counted = st->n_options + (st->option[0] < 0 ? 1 : 0);
    if (counted > 6)
        return failf(p, n, "step %s: %u options counting 0 for an agent; a menu offers at most 6",
                     st->name, counted);
    if (st->n_options == 0)
        return failf(p, n, "step %s: a menu needs options", st->name);
    for (int d = 1; d <= highest; d++)
        if (st->option[d] < 0) {
            warnf(p, n, "step %s: options numbered with a gap (no %d before %d)", st->name, d,
                  highest);
            break;
        }
    return 0;
}

static int parse_branches(parse_t *p, md_flow_step_t *st, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE)
        return failf(p, n, "step %s: on: expected result: step pairs", st->name);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        if (st->n_branches == MD_FLOW_BRANCHES)
            return failf(p, n, "step %s: more than %d results", st->name, MD_FLOW_BRANCHES);
        md_flow_branch_t *b = &st->branch[st->n_branches++];
        int rc = get_string(p, node(p, pr->key), b->key, sizeof(b->key), "result");
        if (rc == 0)
            rc = find_step(p, node(p, pr->value), &b->target, "result");
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int parse_step(parse_t *p, md_flow_step_t *st, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE)
        return failf(p, n, "step %s: expected fields", st->name);
    int rc = 0, have_kind = 0;
    st->first_digit_ms = p->first_digit_ms;
    st->inter_digit_ms = p->inter_digit_ms;
    st->retries = p->retries;
    st->invalid = p->invalid;
    st->timeout = p->timeout;
    st->wait_prompt_ms = 2000;
    st->lookup_timeout_ms = 10000;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; rc == 0 && pr < n->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        const char *key = scalar(k);
        if (key == NULL)
            return failf(p, k, "step %s: field names are text", st->name);
        md_step_kind_t kind = 0;
        if (strcmp(key, "menu") == 0) kind = MD_STEP_MENU;
        else if (strcmp(key, "collect") == 0) kind = MD_STEP_COLLECT;
        else if (strcmp(key, "lookup") == 0) kind = MD_STEP_LOOKUP;
        else if (strcmp(key, "say") == 0) kind = MD_STEP_SAY;
        else if (strcmp(key, "transfer") == 0) kind = MD_STEP_TRANSFER;
        else if (strcmp(key, "hangup") == 0) kind = MD_STEP_HANGUP;
        if (kind != 0) {
            if (have_kind)
                return failf(p, k, "step %s: one of menu, collect, lookup, say, transfer, hangup",
                             st->name);
            have_kind = 1;
            st->kind = kind;
            if (kind == MD_STEP_MENU || kind == MD_STEP_SAY || kind == MD_STEP_HANGUP) {
                rc = get_list(p, v, &st->prompt, key);
            } else if (kind == MD_STEP_LOOKUP) {
                rc = get_string(p, v, st->lookup, sizeof(st->lookup), "lookup");
            } else if (kind == MD_STEP_TRANSFER) {
                rc = get_string(p, v, st->queue, sizeof(st->queue), "transfer");
            } else {
                const char *c = scalar(v);
                if (c != NULL && strcmp(c, "digits") == 0) st->collect = MD_COLLECT_DIGITS;
                else if (c != NULL && strcmp(c, "amount") == 0) st->collect = MD_COLLECT_AMOUNT;
                else if (c != NULL && strcmp(c, "date") == 0) st->collect = MD_COLLECT_DATE;
                else if (c != NULL && strcmp(c, "password") == 0) st->collect = MD_COLLECT_PASSWORD;
                else
                    return failf(p, v, "step %s: collect digits, amount, date or password", st->name);
            }
        } else if (strcmp(key, "prompt") == 0) {
            rc = get_list(p, v, &st->prompt, "prompt");
        } else if (strcmp(key, "options") == 0) {
            rc = parse_options(p, st, v);
        } else if (strcmp(key, "min") == 0) {
            rc = get_uint(p, v, 1, 32, &st->min_digits, "min");
        } else if (strcmp(key, "max") == 0) {
            rc = get_uint(p, v, 1, 32, &st->max_digits, "max");
        } else if (strcmp(key, "var") == 0) {
            rc = get_string(p, v, st->var, sizeof(st->var), "var");
        } else if (strcmp(key, "readback") == 0) {
            rc = get_bool(p, v, &st->readback, "readback");
        } else if (strcmp(key, "on") == 0) {
            rc = parse_branches(p, st, v);
        } else if (strcmp(key, "wait_prompt_ms") == 0) {
            rc = get_uint(p, v, 0, 10000, &st->wait_prompt_ms, "wait_prompt_ms");
        } else if (strcmp(key, "lookup_timeout_ms") == 0) {
            /* IVR-7: every step answers within 10 s. */
            rc = get_uint(p, v, 100, 10000, &st->lookup_timeout_ms, "lookup_timeout_ms");
        } else if (strcmp(key, "on_timeout") == 0) {
            rc = find_step(p, v, &st->on_timeout, "on_timeout");
        } else if (strcmp(key, "list") == 0) {
            md_flow_item_t it;
            rc = get_item(p, v, &it, "list");
            if (rc == 0 && it.kind == MD_SAY_PROMPT)
                rc = failf(p, v, "step %s: list: a $variable holding items separated by ';'", st->name);
            strcpy(st->list_var, it.name);
            st->list_kind = it.kind;
        } else if (strcmp(key, "page") == 0) {
            rc = get_uint(p, v, 1, 20, &st->page, "page");
        } else if (strcmp(key, "next") == 0) {
            rc = find_step(p, v, &st->next, "next");
        } else if (strcmp(key, "max_visits") == 0) {
            rc = get_uint(p, v, 1, 100, &st->max_visits, "max_visits");
        } else if (strcmp(key, "over_limit") == 0) {
            rc = find_step(p, v, &st->over_limit, "over_limit");
        } else if (strcmp(key, "first_digit_ms") == 0) {
            rc = get_uint(p, v, 500, 60000, &st->first_digit_ms, "first_digit_ms");
        } else if (strcmp(key, "inter_digit_ms") == 0) {
            rc = get_uint(p, v, 500, 60000, &st->inter_digit_ms, "inter_digit_ms");
        } else if (strcmp(key, "retries") == 0) {
            rc = get_uint(p, v, 1, 10, &st->retries, "retries");
        } else if (strcmp(key, "invalid") == 0) {
            rc = get_list(p, v, &st->invalid, "invalid");
        } else if (strcmp(key, "timeout") == 0) {
            rc = get_list(p, v, &st->timeout, "timeout");
        } else {
            return failf(p, k, "step %s: unknown field '%s'", st->name, key);
        }
    }
    if (rc != 0)
        return rc;
    if (!have_kind)
        return failf(p, n, "step %s: needs one of menu, collect, lookup, say, transfer, hangup",
                     st->name);
    switch (st->kind) {
    case MD_STEP_MENU:
        if (st->n_options == 0)
            return failf(p, n, "step %s: a menu needs options", st->name);
        break;
    case MD_STEP_COLLECT:
        if (st->max_digits == 0)
            st->max_digits = st->collect == MD_COLLECT_DATE ? 8 : 16;
        if (st->min_digits == 0)
            st->min_digits = st->collect == MD_COLLECT_DATE ? 4 : 1;
        if (st->min_digits > st->max_digits)
            return failf(p, n, "step %s: min %u is more than max %u", st->name, st->min_digits,
                         st->max_digits);
        if (st->prompt.n == 0)
            return failf(p, n, "step %s: collect needs a prompt", st->name);
        if (st->var[0] == '\0')
            return failf(p, n, "step %s: collect needs var (where the entry goes)", st->name);
        if (st->next < 0)
            return failf(p, n, "step %s: collect needs next", st->name);
        if (st->readback && st->collect == MD_COLLECT_PASSWORD)
            return failf(p, n, "step %s: a password is never read back", st->name);
        break;
    case MD_STEP_LOOKUP:
        if (st->next < 0 && st->n_branches == 0)
            return failf(p, n, "step %s: lookup needs on: results or next", st->name);
        if (st->wait_prompt_ms >= st->lookup_timeout_ms)
            warnf(p, n, "step %s: the wait prompt comes after the timeout", st->name);
        break;
    case MD_STEP_SAY:
        if (st->next < 0)
            return failf(p, n, "step %s: say needs next", st->name);
        if (st->page > 0 && st->list_var[0] == '\0')
            return failf(p, n, "step %s: page needs list", st->name);
        break;
    default:
        break;
    }
    if (st->max_visits > 0 && st->over_limit < 0)
        return failf(p, n, "step %s: max_visits needs over_limit", st->name);
    return 0;
}

static int parse_class(parse_t *p, md_flow_class_t *c, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE)
        return failf(p, n, "classes: expected fields");
    c->start = -1;
    int rc = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; rc == 0 && pr < n->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        const char *key = scalar(k);
        if (key != NULL && strcmp(key, "name") == 0) {
            rc = get_string(p, v, c->name, sizeof(c->name), "name");
        } else if (key != NULL && strcmp(key, "ani") == 0) {
            if (v->type != YAML_SEQUENCE_NODE)
                return failf(p, v, "ani: expected a list of numbers or prefixes ending in *");
            for (yaml_node_item_t *i = v->data.sequence.items.start; rc == 0 && i < v->data.sequence.items.top;
                 i++) {
                if (c->n_patterns == MD_FLOW_PATTERNS)
                    return failf(p, v, "ani: at most %d patterns", MD_FLOW_PATTERNS);
                rc = get_string(p, node(p, *i), c->pattern[c->n_patterns++], 32, "ani");
            }
        } else if (key != NULL && strcmp(key, "start") == 0) {
            rc = find_step(p, v, &c->start, "start");
        } else if (key != NULL && strcmp(key, "language") == 0) {
            rc = get_string(p, v, c->language, sizeof(c->language), "language");
        } else if (key != NULL && strcmp(key, "welcome") == 0) {
            rc = get_list(p, v, &c->welcome, "welcome");
        } else {
            return failf(p, k, "classes: unknown field '%s'", key ? key : "?");
        }
    }
    if (rc == 0 && (c->name[0] == '\0' || c->n_patterns == 0))
        return failf(p, n, "classes: each class needs a name and ani patterns");
    return rc;
}

static int has_language(const md_flow_t *f, const char *lang)
{
    for (unsigned i = 0; i < f->n_languages; i++)
        if (strcmp(f->languages[i], lang) == 0)
            return 1;
    return 0;
}

static int parse_top(parse_t *p, const yaml_node_t *root)
{
    md_flow_t *f = p->f;
    if (root == NULL || root->type != YAML_MAPPING_NODE)
        return failf(p, root, "a flow is a mapping of fields (name, start, steps, ...)");
    const yaml_node_t *steps = NULL, *defaults = NULL, *classes = NULL;
    /* Pass 1: step names, so that every reference can be resolved in pass 2. */
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
        const char *key = scalar(node(p, pr->key));
        if (key != NULL && strcmp(key, "steps") == 0)
            steps = node(p, pr->value);
        else if (key != NULL && strcmp(key, "defaults") == 0)
            defaults = node(p, pr->value);
        else if (key != NULL && strcmp(key, "classes") == 0)
            classes = node(p, pr->value);
    }
    if (steps == NULL || steps->type != YAML_MAPPING_NODE)
        return failf(p, root, "no steps (a mapping of step name: fields)");
    size_t n = (size_t)(steps->data.mapping.pairs.top - steps->data.mapping.pairs.start);
    if (n == 0 || n > MAX_STEPS)
        return failf(p, steps, "steps: 1 to %d steps, not %zu", MAX_STEPS, n);
    f->steps = calloc(n, sizeof(md_flow_step_t));
    if (f->steps == NULL)
        return -ENOMEM;
    for (yaml_node_pair_t *pr = steps->data.mapping.pairs.start; pr < steps->data.mapping.pairs.top; pr++) {
        md_flow_step_t *st = &f->steps[f->n_steps];
        const yaml_node_t *k = node(p, pr->key);
        int rc = get_string(p, k, st->name, sizeof(st->name), "step name");
        if (rc != 0)
            return rc;
        if (md_flow_find_step(f, st->name) >= 0)
            return failf(p, k, "step '%s' defined twice", st->name);
        st->line = (int)k->start_mark.line + 1;
        for (int i = 0; i < 16; i++)
            st->option[i] = -1;
        st->next = st->on_timeout = st->over_limit = -1;
        f->n_steps++;
    }
    /* Defaults before the steps that use them. */
    p->first_digit_ms = 5000;
    p->inter_digit_ms = 3000;
    p->retries = 3;
    if (defaults != NULL) {
        if (defaults->type != YAML_MAPPING_NODE)
            return failf(p, defaults, "defaults: expected fields");
        for (yaml_node_pair_t *pr = defaults->data.mapping.pairs.start;
             pr < defaults->data.mapping.pairs.top; pr++) {
            const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
            const char *key = scalar(k);
            int rc;
            if (key != NULL && strcmp(key, "first_digit_ms") == 0)
                rc = get_uint(p, v, 500, 60000, &p->first_digit_ms, key);
            else if (key != NULL && strcmp(key, "inter_digit_ms") == 0)
                rc = get_uint(p, v, 500, 60000, &p->inter_digit_ms, key);
            else if (key != NULL && strcmp(key, "retries") == 0)
                rc = get_uint(p, v, 1, 10, &p->retries, key);
            else if (key != NULL && strcmp(key, "invalid") == 0)
                rc = get_list(p, v, &p->invalid, key);
            else if (key != NULL && strcmp(key, "timeout") == 0)
                rc = get_list(p, v, &p->timeout, key);
            else
                rc = failf(p, k, "defaults: unknown field '%s'", key ? key : "?");
            if (rc != 0)
                return rc;
        }
    }
    f->start = -1;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        const char *key = scalar(k);
        int rc = 0;
        if (key == NULL)
            return failf(p, k, "field names are text");
        if (strcmp(key, "steps") == 0 || strcmp(key, "defaults") == 0 || strcmp(key, "classes") == 0)
            continue;
        if (strcmp(key, "name") == 0) {
            rc = get_string(p, v, f->name, sizeof(f->name), key);
        } else if (strcmp(key, "languages") == 0) {
            if (v->type != YAML_SEQUENCE_NODE)
                return failf(p, v, "languages: expected a list such as [en, zh]");
            for (yaml_node_item_t *i = v->data.sequence.items.start; rc == 0 && i < v->data.sequence.items.top;
                 i++) {
                if (f->n_languages == MD_FLOW_LANGS)
                    return failf(p, v, "languages: at most %d", MD_FLOW_LANGS);
                rc = get_string(p, node(p, *i), f->languages[f->n_languages++], 8, "language");
            }
        } else if (strcmp(key, "prompt_dir") == 0) {
            rc = get_string(p, v, f->prompt_dir, sizeof(f->prompt_dir), key);
        } else if (strcmp(key, "welcome") == 0) {
            rc = get_list(p, v, &f->welcome, key);
        } else if (strcmp(key, "notice") == 0) {
            rc = get_list(p, v, &f->notice, key);
        } else if (strcmp(key, "start") == 0) {
            rc = find_step(p, v, &f->start, key);
        } else if (strcmp(key, "agent_queue") == 0) {
            rc = get_string(p, v, f->agent_queue, sizeof(f->agent_queue), key);
        } else if (strcmp(key, "too_many") == 0) {
            rc = get_list(p, v, &f->too_many, key);
        } else if (strcmp(key, "wait") == 0) {
            rc = get_list(p, v, &f->wait, key);
        } else if (strcmp(key, "confirm") == 0) {
            rc = get_list(p, v, &f->confirm, key);
        } else if (strcmp(key, "more") == 0) {
            rc = get_list(p, v, &f->more, key);
        } else if (strcmp(key, "goodbye") == 0) {
            rc = get_list(p, v, &f->goodbye, key);
        } else {
            return failf(p, k, "unknown field '%s'", key);
        }
        if (rc != 0)
            return rc;
    }
    if (f->name[0] == '\0')
        return failf(p, root, "the flow needs a name");
    if (f->start < 0)
        return failf(p, root, "the flow needs start (the first menu)");
    if (f->n_languages == 0)
        return failf(p, root, "the flow needs languages (e.g. [en])");
    if (f->agent_queue[0] == '\0')
        return failf(p, root, "the flow needs agent_queue (where 0 and too many errors go)");
    if (classes != NULL) {
        if (classes->type != YAML_SEQUENCE_NODE)
            return failf(p, classes, "classes: expected a list");
        for (yaml_node_item_t *i = classes->data.sequence.items.start; i < classes->data.sequence.items.top;
             i++) {
            if (f->n_classes == MD_FLOW_CLASSES)
                return failf(p, classes, "classes: at most %d", MD_FLOW_CLASSES);
            md_flow_class_t *c = &f->cls[f->n_classes++];
            int rc = parse_class(p, c, node(p, *i));
            if (rc != 0)
                return rc;
            if (c->language[0] != '\0' && !has_language(f, c->language))
                return failf(p, node(p, *i), "class %s: language %s is not in languages", c->name,
                             c->language);
        }
    }
    for (yaml_node_pair_t *pr = steps->data.mapping.pairs.start; pr < steps->data.mapping.pairs.top; pr++) {
        int idx = md_flow_find_step(f, scalar(node(p, pr->key)));
        int rc = parse_step(p, &f->steps[idx], node(p, pr->value));
        if (rc != 0)
            return rc;
    }
    /* Fixed-key targets and the error paths need these. */
    if (f->steps[f->start].kind != MD_STEP_MENU)
        return failf(p, root, "start: '%s' is not a menu", f->steps[f->start].name);
    for (unsigned i = 0; i < f->n_steps; i++) {
        const md_flow_step_t *st = &f->steps[i];
        if ((st->kind == MD_STEP_MENU || st->kind == MD_STEP_COLLECT) &&
            (st->invalid.n == 0 || st->timeout.n == 0))
            return failf(p, NULL, "step %s (line %d): no invalid or timeout prompt (set them in "
                         "defaults or in the step: IVR-4 wants a specific message)", st->name, st->line);
        if (st->readback && f->confirm.n == 0)
            return failf(p, NULL, "step %s (line %d): readback needs the flow's confirm prompt",
                         st->name, st->line);
        if (st->page > 0 && f->more.n == 0)
            return failf(p, NULL, "step %s (line %d): page needs the flow's more prompt", st->name,
                         st->line);
    }
    if (f->too_many.n == 0)
        return failf(p, root, "the flow needs too_many (said before transferring to an agent)");
    return 0;
}

int md_flow_parse(const char *name, const char *text, size_t len, md_flow_t **out, char *err,
                  size_t errlen, char *warn, size_t warnlen)
{
    *out = NULL;
    if (warn != NULL && warnlen > 0)
        warn[0] = '\0';
    parse_t p;
    memset(&p, 0, sizeof(p));
    p.file = name;
    p.err = err;
    p.errlen = errlen;
    p.warn = warn;
    p.warnlen = warnlen;
    if (len > MAX_FILE) {
        snprintf(err, errlen, "%s: larger than %d bytes", name, MAX_FILE);
        return -EFBIG;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &p.doc)) {
        snprintf(err, errlen, "%s:%lu: YAML: %s", name, (unsigned long)parser.problem_mark.line + 1,
                 parser.problem != NULL ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        return -EINVAL;
    }
    yaml_parser_delete(&parser);
    p.f = calloc(1, sizeof(md_flow_t));
    if (p.f == NULL) {
        yaml_document_delete(&p.doc);
        return -ENOMEM;
    }
    int rc = parse_top(&p, yaml_document_get_root_node(&p.doc));
    yaml_document_delete(&p.doc);
    if (rc != 0) {
        md_flow_free(p.f);
        return rc;
    }
    snprintf(p.f->path, sizeof(p.f->path), "%s", name);
    *out = p.f;
    return 0;
}

int md_flow_load(const char *path, md_flow_t **out, char *err, size_t errlen, char *warn,
                 size_t warnlen)
{
    *out = NULL;
    /* O_NONBLOCK and a regular-file check: a FIFO or a device named by an API client must
     * not block the control thread. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : EINVAL;
        snprintf(err, errlen, "%s: %s", path, fd < 0 ? strerror(e) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return -e;
    }
    FILE *fp = fdopen(fd, "rb");
    if (fp == NULL) {
        close(fd);
        return -ENOMEM;
    }
    char *buf = malloc(MAX_FILE + 1);
    size_t n = buf != NULL ? fread(buf, 1, MAX_FILE + 1, fp) : 0;
    int bad = ferror(fp);
    fclose(fp);
    if (buf == NULL)
        return -ENOMEM;
    if (bad) {
        free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return -EIO;
    }
    int rc = md_flow_parse(path, buf, n, out, err, errlen, warn, warnlen);
    free(buf);
    if (rc != 0)
        return rc;
    /* Prompts are found relative to the flow file unless the path is absolute. */
    md_flow_t *f = *out;
    if (f->prompt_dir[0] != '/') {
        char dir[512];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash != NULL)
            *slash = '\0';
        else
            strcpy(dir, ".");
        const char *rel = f->prompt_dir[0] ? f->prompt_dir : ".";
        size_t dl = strlen(dir), rl = strlen(rel);
        if (dl + 1 + rl >= sizeof(f->prompt_dir)) {
            snprintf(err, errlen, "%s: prompt_dir: the path is too long", path);
            md_flow_free(f);
            *out = NULL;
            return -ENAMETOOLONG;
        }
        memmove(f->prompt_dir + dl + 1, rel, rl + 1);
        memcpy(f->prompt_dir, dir, dl);
        f->prompt_dir[dl] = '/';
    }
    return 0;
}

void md_flow_free(md_flow_t *f)
{
    if (f == NULL)
        return;
    free(f->steps);
    free(f);
}

int md_flow_match_class(const md_flow_t *f, const char *ani)
{
    if (ani == NULL || ani[0] == '\0')
        return -1;
    for (unsigned c = 0; c < f->n_classes; c++)
        for (unsigned i = 0; i < f->cls[c].n_patterns; i++) {
            const char *pat = f->cls[c].pattern[i];
            size_t pl = strlen(pat);
            if (pl > 0 && pat[pl - 1] == '*') {
                if (strncmp(ani, pat, pl - 1) == 0)
                    return (int)c;
            } else if (strcmp(ani, pat) == 0) {
                return (int)c;
            }
        }
    return -1;
}

static void each_in(const md_flow_list_t *l, void (*fn)(void *, const char *), void *arg)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->item[i].kind == MD_SAY_PROMPT)
            fn(arg, l->item[i].name);
}

void md_flow_each_prompt(const md_flow_t *f, void (*fn)(void *arg, const char *name), void *arg)
{
    const md_flow_list_t *top[] = { &f->welcome, &f->notice, &f->too_many, &f->wait,
                                    &f->confirm, &f->more, &f->goodbye };
    for (unsigned i = 0; i < sizeof(top) / sizeof(top[0]); i++)
        each_in(top[i], fn, arg);
    for (unsigned c = 0; c < f->n_classes; c++)
        each_in(&f->cls[c].welcome, fn, arg);
    for (unsigned s = 0; s < f->n_steps; s++) {
        each_in(&f->steps[s].prompt, fn, arg);
        each_in(&f->steps[s].invalid, fn, arg);
        each_in(&f->steps[s].timeout, fn, arg);
    }
}
