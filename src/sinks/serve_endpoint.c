/* SERVE_ENDPOINT and SERVE_CONNECT entries: endpoint, format and filter; see serve.h. */
#include "filter.h"
#include "pcktr.h"
#include "serve.h"
#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One key=value of the query. */
static int
query_pair(const char *p, size_t n, struct pk_serve_endpoint *out, char *errbuf)
{
    const char *eq = memchr(p, '=', n);
    char value[PK_SERVE_FILTER_MAX];
    size_t klen = eq ? (size_t)(eq - p) : n;

    if (eq == NULL || pk_url_decode(eq + 1, n - klen - 1, value, sizeof(value), 1) < 0)
        return pk_seterr(errbuf, -EINVAL, "bad query \"%.*s\" (accepted: filter=BPF, format=F, "
                         "URL-encoded, at most %d bytes each)", (int)n, p, PK_SERVE_FILTER_MAX - 1);
    if (klen == 6 && strncmp(p, "filter", 6) == 0) {
        snprintf(out->filter, sizeof(out->filter), "%s", value);
        return 0;
    }
    if (klen == 6 && strncmp(p, "format", 6) == 0) {
        if (pk_format_reader_parse(value, &out->format) != 0)
            return pk_seterr(errbuf, -EINVAL, "format \"%s\" is not one of pcap|pcap-ns|pcapng",
                             value);
        return 0;
    }
    return pk_seterr(errbuf, -EINVAL, "unknown query key \"%.*s\" (accepted: filter, format)",
                     (int)klen, p);
}

static int
parse_query(const char *q, struct pk_serve_endpoint *out, char *errbuf)
{
    char why[PK_ERRBUF_SIZE];
    int rc;

    while (*q != '\0') {
        size_t n = strcspn(q, "&");
        if (n > 0 && (rc = query_pair(q, n, out, errbuf)) != 0)
            return rc;
        q += n + (q[n] == '&');
    }
    if (out->filter[0] != '\0' && pk_filter_check(out->filter, why) != 0)
        return pk_seterr(errbuf, -EINVAL, "filter \"%s\": %s", out->filter, why);
    return 0;
}

int
pk_serve_endpoint_parse(const char *s, int listen, enum pk_output_format def_format,
                        struct pk_serve_endpoint *out, char *errbuf)
{
    size_t n = strcspn(s, "?");
    int rc;

    memset(out, 0, sizeof(*out));
    out->format = def_format;
    if (n >= sizeof(out->text))
        return pk_seterr(errbuf, -EINVAL, "too long");
    memcpy(out->text, s, n);
    out->text[n] = '\0';
    if (listen || strncmp(out->text, "tcp://", 6) == 0)
        rc = pk_endpoint_parse(out->text, &out->ep, errbuf);
    else
        rc = pk_addrport_parse(out->text, &out->ep, errbuf);
    if (rc != 0)
        return rc;
    if (!listen && (out->ep.host[0] == '\0' || strcmp(out->ep.host, "*") == 0))
        return pk_seterr(errbuf, -EINVAL, "a host to connect to is needed");
    return s[n] == '?' ? parse_query(s + n + 1, out, errbuf) : 0;
}

int
pk_serve_endpoint_list(const char *list, int listen, enum pk_output_format def_format,
                       struct pk_serve_endpoint *v, int *n, char *errbuf)
{
    char item[2048], why[PK_ERRBUF_SIZE];

    *n = 0;
    while (*list != '\0') {
        size_t len = strcspn(list, ",");
        while (len > 0 && isspace((unsigned char)*list))
            list++, len--;
        if (len >= sizeof(item))
            return pk_seterr(errbuf, -EINVAL, "an entry is too long");
        memcpy(item, list, len);
        while (len > 0 && isspace((unsigned char)item[len - 1]))
            len--;
        item[len] = '\0';
        list += strcspn(list, ",");
        list += *list == ',';
        if (len == 0)
            continue;
        if (*n == PK_SERVE_MAX_ENDPOINTS)
            return pk_seterr(errbuf, -EINVAL, "more than %d entries", PK_SERVE_MAX_ENDPOINTS);
        if (pk_serve_endpoint_parse(item, listen, def_format, &v[*n], why) != 0)
            return pk_seterr(errbuf, -EINVAL, "entry \"%.80s%s\": %s", item,
                             len > 80 ? "..." : "", why);
        (*n)++;
    }
    return 0;
}
