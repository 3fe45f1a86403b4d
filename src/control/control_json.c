/*
 * The control API's JSON (docs/CONTROL.md): a PUT body into an entry, with one sentence naming
 * the field that is wrong; an entry and the whole plane into answers. Pure but for
 * pcap_compile, which checks a filter the way the agents will (it is checked there again,
 * against each agent's own link type).
 */
#include "control.h"
#include "control_int.h"
#include "pcktr.h"
#include "text.h"
#include "units.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_MAX 2147483648.0 /* 2^31 */

int
pk_control_text_ok(const char *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
            (n = pk_utf8_len((const uint8_t *)s + i, len - i)) == 0)
            return 0;
    }
    return 1;
}

int
pk_control_check_filter(const char *filter, char *errbuf)
{
    struct bpf_program prog;
    pcap_t *p;
    int rc = 0;

    if (filter[0] == '\0')
        return 0;
    if (!pk_control_text_ok(filter, strlen(filter)))
        return pk_seterr(errbuf, -EINVAL, "filter: UTF-8 text without control characters");
    if ((p = pcap_open_dead(DLT_EN10MB, 262144)) == NULL)
        return pk_seterr(errbuf, -ENOMEM, "filter: out of memory");
    /* Unoptimised: a filter that keeps nothing is a valid narrowing, not an error. */
    if (pcap_compile(p, &prog, filter, 0, PCAP_NETMASK_UNKNOWN) != 0) {
        /* The error is one line, whatever the filter holds: its control characters become '?'. */
        char shown[201], why[201];
        const char *e = pcap_geterr(p);
        pk_text_copy_clean(shown, sizeof(shown), filter, strlen(filter));
        pk_text_copy_clean(why, sizeof(why), e, strlen(e));
        rc = pk_seterr(errbuf, -EINVAL, "filter \"%s\": %s", shown, why);
    } else
        pcap_freecode(&prog);
    pcap_close(p);
    return rc;
}

/* v is a whole number in min..max (both within 0..2^53, where a double is exact). */
static int
whole(const cJSON *v, double min, double max)
{
    return cJSON_IsNumber(v) && v->valuedouble >= min && v->valuedouble <= max &&
           (double)(uint64_t)v->valuedouble == v->valuedouble;
}

static int
parse_sample(const cJSON *v, uint32_t *n, char *errbuf)
{
    uint64_t u;

    if (whole(v, 1, SAMPLE_MAX)) {
        *n = (uint32_t)v->valuedouble;
        return 0;
    }
    if (cJSON_IsString(v) && strncmp(v->valuestring, "1/", 2) == 0 &&
        pk_parse_uint(v->valuestring + 2, &u) == 0 && u >= 1 && u <= (1ull << 31)) {
        *n = (uint32_t)u;
        return 0;
    }
    return pk_seterr(errbuf, -EINVAL, "sample: \"1/N\" or an integer N, 1 <= N <= 2^31");
}

static int
parse_rate(const cJSON *v, uint64_t *r, char *errbuf)
{
    if (whole(v, 0, 9007199254740992.0)) { /* 2^53: exact in a double */
        *r = (uint64_t)v->valuedouble;
        return 0;
    }
    if (cJSON_IsString(v) && pk_parse_size(v->valuestring, r) == 0)
        return 0;
    return pk_seterr(errbuf, -EINVAL,
                     "rate_limit: bytes per second, an integer or a string "
                     "with a K, M or G suffix (\"1M\")");
}

static int
parse_by(const cJSON *v, char *by, char *errbuf)
{
    size_t len;

    if (!cJSON_IsString(v) || (len = strlen(v->valuestring)) > PK_CONTROL_BY_MAX)
        return pk_seterr(errbuf, -EINVAL, "by: a string of at most %d printable bytes",
                         PK_CONTROL_BY_MAX);
    if (!pk_control_text_ok(v->valuestring, len))
        return pk_seterr(errbuf, -EINVAL, "by: UTF-8 text without control characters");
    memcpy(by, v->valuestring, len + 1);
    return 0;
}

static int
parse_field(const cJSON *v, struct pk_control_entry *e, char *by, char *errbuf)
{
    const char *k = v->string != NULL ? v->string : "";

    if (strcmp(k, "filter") == 0) {
        if (!cJSON_IsString(v) || strlen(v->valuestring) > PK_CONTROL_FILTER_MAX)
            return pk_seterr(errbuf, -EINVAL, "filter: a string of at most %d bytes",
                             PK_CONTROL_FILTER_MAX);
        free(e->filter);
        if ((e->filter = strdup(v->valuestring)) == NULL)
            return pk_seterr(errbuf, -ENOMEM, "out of memory");
        return pk_control_check_filter(e->filter, errbuf);
    }
    if (strcmp(k, "paused") == 0) {
        if (!cJSON_IsBool(v))
            return pk_seterr(errbuf, -EINVAL, "paused: true or false");
        e->paused = cJSON_IsTrue(v);
        return 0;
    }
    if (strcmp(k, "sample") == 0)
        return parse_sample(v, &e->sample_n, errbuf);
    if (strcmp(k, "rate_limit") == 0)
        return parse_rate(v, &e->rate_limit, errbuf);
    if (strcmp(k, "by") == 0)
        return parse_by(v, by, errbuf);
    char shown[65];
    pk_text_copy_clean(shown, sizeof(shown), k, strlen(k)); /* one line, whatever k holds */
    return pk_seterr(errbuf, -EINVAL,
                     "unknown field \"%s\" (filter, paused, sample, rate_limit, by)", shown);
}

int
pk_control_parse_body(const char *body, size_t len, struct pk_control_entry *e,
                      char by[PK_CONTROL_BY_MAX + 1], char *errbuf)
{
    cJSON *root = len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *v;
    int rc = 0;

    memset(e, 0, sizeof(*e));
    by[0] = '\0';
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return pk_seterr(errbuf, -EINVAL, "the body is not a JSON object");
    }
    cJSON_ArrayForEach(v, root)
    {
        if ((rc = parse_field(v, e, by, errbuf)) != 0)
            break;
    }
    cJSON_Delete(root);
    if (rc != 0)
        pk_control_entry_reset(e);
    return rc;
}

static cJSON *
entry_object(const struct pk_control_entry *e)
{
    cJSON *o = cJSON_CreateObject();
    char sample[24];

    if (o == NULL)
        return NULL;
    if (e->filter != NULL && e->filter[0] != '\0')
        cJSON_AddStringToObject(o, "filter", e->filter);
    else
        cJSON_AddNullToObject(o, "filter");
    cJSON_AddBoolToObject(o, "paused", e->paused);
    snprintf(sample, sizeof(sample), "1/%" PRIu32, e->sample_n);
    if (e->sample_n > 1)
        cJSON_AddStringToObject(o, "sample", sample);
    else
        cJSON_AddNullToObject(o, "sample");
    if (e->rate_limit > 0)
        cJSON_AddNumberToObject(o, "rate_limit", (double)e->rate_limit);
    else
        cJSON_AddNullToObject(o, "rate_limit");
    cJSON_AddNumberToObject(o, "generation", (double)e->generation);
    cJSON_AddStringToObject(o, "changed_by", e->changed_by);
    cJSON_AddNumberToObject(o, "changed_at", (double)e->changed_at_ms);
    return o;
}

char *
pk_control_entry_json(const struct pk_control_entry *e)
{
    cJSON *o = entry_object(e);
    char *s = o != NULL ? cJSON_PrintUnformatted(o) : NULL;

    cJSON_Delete(o);
    return s;
}

static cJSON *
change_object(const struct pk_control_change *c)
{
    cJSON *o = c->set ? entry_object(&c->entry) : cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "action", c->set ? "set" : "clear");
    if (c->all)
        cJSON_AddNullToObject(o, "name");
    else
        cJSON_AddStringToObject(o, "name", c->name);
    if (!c->set) {
        cJSON_AddNumberToObject(o, "generation", (double)c->entry.generation);
        cJSON_AddStringToObject(o, "changed_by", c->entry.changed_by);
        cJSON_AddNumberToObject(o, "changed_at", (double)c->entry.changed_at_ms);
    }
    return o;
}

char *
pk_control_plane_json(const struct pk_control_plane *cp)
{
    cJSON *root = cJSON_CreateObject(), *srcs, *log;
    char *s;

    if (root == NULL)
        return NULL;
    cJSON_AddBoolToObject(root, "enabled", cp->token != NULL);
    cJSON_AddNumberToObject(root, "generation", (double)cp->last_gen);
    if (cp->has_all)
        cJSON_AddItemToObject(root, "all", entry_object(&cp->all));
    else
        cJSON_AddNullToObject(root, "all");
    srcs = cJSON_AddObjectToObject(root, "sources");
    for (size_t i = 0; srcs != NULL && i < cp->nsrc; i++)
        cJSON_AddItemToObject(srcs, cp->src[i].name, entry_object(&cp->src[i].e));
    log = cJSON_AddArrayToObject(root, "log");
    for (size_t i = 0; log != NULL && i < cp->log_n; i++)
        cJSON_AddItemToArray(log, change_object(&cp->log[(cp->log_head + i) % PK_CONTROL_LOG_MAX]));
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}
