
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_httpdns_parse.h"


#define NGX_HTTP_HTTPDNS_MAX_RRS     64
#define NGX_HTTP_HTTPDNS_MAX_CNAMES  8


typedef struct {
    u_char       *name;
    u_char       *rdata;
    ngx_uint_t    type;
    ngx_uint_t    class;
    ngx_uint_t    rdlen;
    time_t        ttl;
} ngx_http_httpdns_rr_t;


static ngx_int_t ngx_http_httpdns_dns_records(u_char *p, size_t len,
    ngx_http_httpdns_rr_t *rrs, ngx_uint_t *nrrs,
    ngx_http_httpdns_answer_t *a);
static ngx_int_t ngx_http_httpdns_dns_cname(u_char *p, u_char *last,
    ngx_http_httpdns_rr_t *rrs, ngx_uint_t nrr, u_char *target,
    size_t *tlen, time_t *ttl);
static ngx_int_t ngx_http_httpdns_dns_name(u_char *start, u_char *last,
    u_char **pos, u_char *out, size_t *outlen);
static void ngx_http_httpdns_add(ngx_http_httpdns_answer_t *a, u_char *addr,
    time_t ttl);
static ngx_int_t ngx_http_httpdns_doh_json_answer(ngx_http_live_json_t *j,
    ngx_http_httpdns_answer_t *a, int64_t *cname_ttl);
static ngx_int_t ngx_http_httpdns_doh_json_record(ngx_http_live_json_t *j,
    ngx_http_httpdns_answer_t *a, int64_t *cname_ttl);
static ngx_int_t ngx_http_httpdns_alicloud_ips(ngx_http_live_json_t *j,
    ngx_http_httpdns_answer_t *a);


#define ngx_http_httpdns_key_is(key, s)                                      \
    ((key)->len == sizeof(s) - 1                                             \
     && ngx_strncmp((key)->data, s, sizeof(s) - 1) == 0)


/*
 * RFC 8484 query: id 0, RD, one question (A, IN), and an OPT record
 * with the RFC 7871 client subnet: family, source prefix, scope 0, and
 * the address cut to ceil(prefix / 8) bytes with the spare bits zeroed.
 * The name is valid (ngx_http_httpdns_valid_domain()); buf holds
 * NGX_HTTP_HTTPDNS_QUERY_LEN bytes.
 */

size_t
ngx_http_httpdns_dns_query(u_char *buf, u_char *name, size_t len,
    ngx_uint_t family, u_char *addr, ngx_uint_t prefix)
{
    u_char      *p, *label;
    size_t       n, alen;
    ngx_uint_t   i;

    static u_char  header[] = {
        0, 0,                      /* id */
        0x01, 0x00,                /* RD */
        0, 1,                      /* QDCOUNT */
        0, 0,                      /* ANCOUNT */
        0, 0,                      /* NSCOUNT */
        0, 1                       /* ARCOUNT */
    };

    p = ngx_cpymem(buf, header, sizeof(header));

    if (len && name[len - 1] == '.') {
        len--;
    }

    label = p++;
    n = 0;

    for (i = 0; i < len; i++) {
        if (name[i] == '.') {
            *label = (u_char) n;
            label = p++;
            n = 0;
            continue;
        }

        *p++ = ngx_tolower(name[i]);
        n++;
    }

    *label = (u_char) n;
    *p++ = 0;

    /* QTYPE A, QCLASS IN */
    *p++ = 0; *p++ = 1; *p++ = 0; *p++ = 1;

    alen = (prefix + 7) / 8;

    /* OPT: root, type 41, UDP size 1232 (DNS flag day 2020), TTL 0 */
    *p++ = 0;
    *p++ = 0; *p++ = 41;
    *p++ = 0x04; *p++ = 0xd0;
    *p++ = 0; *p++ = 0; *p++ = 0; *p++ = 0;
    *p++ = 0; *p++ = (u_char) (4 + 4 + alen);

    /* option 8, client subnet */
    *p++ = 0; *p++ = 8;
    *p++ = 0; *p++ = (u_char) (4 + alen);
    *p++ = 0; *p++ = (u_char) family;
    *p++ = (u_char) prefix;
    *p++ = 0;

    for (i = 0; i < alen; i++) {
        *p++ = addr[i];
    }

    if (prefix % 8) {
        p[-1] &= (u_char) (0xff << (8 - prefix % 8));
    }

    return p - buf;
}


/*
 * An RFC 1035 answer: NOERROR, not truncated; the A records of the
 * name asked, following a CNAME chain inside the answer section; the
 * TTL is the smallest of the records used.
 */

ngx_int_t
ngx_http_httpdns_parse_dns(u_char *p, size_t len, u_char *name, size_t nlen,
    ngx_http_httpdns_answer_t *a)
{
    u_char                 *pos, *last;
    u_char                  target[NGX_HTTP_HTTPDNS_MAX_NAME + 3];
    u_char                  rname[NGX_HTTP_HTTPDNS_MAX_NAME + 3];
    size_t                  tlen, rlen;
    time_t                  ttl;
    ngx_uint_t              i, nrr;
    ngx_http_httpdns_rr_t   rrs[NGX_HTTP_HTTPDNS_MAX_RRS];

    a->naddrs = 0;
    a->ttl = -1;
    a->err = NULL;

    if (ngx_http_httpdns_dns_records(p, len, rrs, &nrr, a) != NGX_OK) {
        return NGX_ERROR;
    }

    last = p + len;

    /* the name asked, lowercase, no trailing dot */

    if (nlen && name[nlen - 1] == '.') {
        nlen--;
    }

    if (nlen > NGX_HTTP_HTTPDNS_MAX_NAME) {
        a->err = "DNS name too long";
        return NGX_ERROR;
    }

    for (i = 0; i < nlen; i++) {
        target[i] = ngx_tolower(name[i]);
    }

    tlen = nlen;

    if (ngx_http_httpdns_dns_cname(p, last, rrs, nrr, target, &tlen, &ttl)
        != NGX_OK)
    {
        a->err = "DNS CNAME malformed";
        return NGX_ERROR;
    }

    for (i = 0; i < nrr; i++) {
        if (rrs[i].type != 1 || rrs[i].class != 1 || rrs[i].rdlen != 4) {
            continue;
        }

        pos = rrs[i].name;

        if (ngx_http_httpdns_dns_name(p, last, &pos, rname, &rlen) != NGX_OK
            || rlen != tlen
            || ngx_memcmp(rname, target, tlen) != 0)
        {
            continue;
        }

        ngx_http_httpdns_add(a, rrs[i].rdata, rrs[i].ttl);
    }

    if (a->naddrs == 0) {
        a->err = "DNS answer has no address";
        return NGX_ERROR;
    }

    if (ttl != -1 && ttl < a->ttl) {
        a->ttl = ttl;
    }

    return NGX_OK;
}


/*
 * Checks the header, steps over the questions and indexes up to
 * NGX_HTTP_HTTPDNS_MAX_RRS answer records in rrs.
 */

static ngx_int_t
ngx_http_httpdns_dns_records(u_char *p, size_t len,
    ngx_http_httpdns_rr_t *rrs, ngx_uint_t *nrrs,
    ngx_http_httpdns_answer_t *a)
{
    u_char      *pos, *last;
    u_char       rname[NGX_HTTP_HTTPDNS_MAX_NAME + 3];
    size_t       rlen;
    ngx_uint_t   i, qd, an, nrr;

    if (len < 12) {
        a->err = "DNS message too short";
        return NGX_ERROR;
    }

    if (!(p[2] & 0x80)) {
        a->err = "DNS message is not a response";
        return NGX_ERROR;
    }

    if (p[2] & 0x02) {
        a->err = "DNS answer truncated";
        return NGX_ERROR;
    }

    if ((p[3] & 0x0f) != 0) {
        a->err = (p[3] & 0x0f) == 3 ? "DNS answer NXDOMAIN"
                                    : "DNS answer rcode not NOERROR";
        return NGX_ERROR;
    }

    qd = (p[4] << 8) | p[5];
    an = (p[6] << 8) | p[7];

    pos = p + 12;
    last = p + len;

    for (i = 0; i < qd; i++) {
        if (ngx_http_httpdns_dns_name(p, last, &pos, rname, &rlen) != NGX_OK
            || last - pos < 4)
        {
            a->err = "DNS question malformed";
            return NGX_ERROR;
        }

        pos += 4;
    }

    nrr = 0;

    for (i = 0; i < an; i++) {
        if (nrr == NGX_HTTP_HTTPDNS_MAX_RRS) {
            break;
        }

        rrs[nrr].name = pos;

        if (ngx_http_httpdns_dns_name(p, last, &pos, rname, &rlen) != NGX_OK
            || last - pos < 10)
        {
            a->err = "DNS answer record malformed";
            return NGX_ERROR;
        }

        rrs[nrr].type = (pos[0] << 8) | pos[1];
        rrs[nrr].class = (pos[2] << 8) | pos[3];
        rrs[nrr].ttl = (time_t) (((uint32_t) pos[4] << 24) | (pos[5] << 16)
                                 | (pos[6] << 8) | pos[7]);
        rrs[nrr].rdlen = (pos[8] << 8) | pos[9];

        if (rrs[nrr].ttl > 0x7fffffff || rrs[nrr].ttl < 0) {
            rrs[nrr].ttl = 0;
        }

        pos += 10;

        if ((size_t) (last - pos) < rrs[nrr].rdlen) {
            a->err = "DNS answer record truncated";
            return NGX_ERROR;
        }

        rrs[nrr].rdata = pos;
        pos += rrs[nrr].rdlen;
        nrr++;
    }

    *nrrs = nrr;

    return NGX_OK;
}


/*
 * Follows the CNAME chain from target (rewritten in place) for up to
 * NGX_HTTP_HTTPDNS_MAX_CNAMES hops; *ttl gets the smallest CNAME TTL
 * on the way, or -1.
 */

static ngx_int_t
ngx_http_httpdns_dns_cname(u_char *p, u_char *last,
    ngx_http_httpdns_rr_t *rrs, ngx_uint_t nrr, u_char *target,
    size_t *tlen, time_t *ttl)
{
    u_char      *pos;
    u_char       rname[NGX_HTTP_HTTPDNS_MAX_NAME + 3];
    size_t       rlen;
    ngx_uint_t   i, hops, found;

    *ttl = -1;

    for (hops = 0; hops < NGX_HTTP_HTTPDNS_MAX_CNAMES; hops++) {
        found = 0;

        for (i = 0; i < nrr; i++) {
            if (rrs[i].type != 5 || rrs[i].class != 1) {
                continue;
            }

            pos = rrs[i].name;

            if (ngx_http_httpdns_dns_name(p, last, &pos, rname, &rlen)
                != NGX_OK)
            {
                continue;
            }

            if (rlen != *tlen || ngx_memcmp(rname, target, *tlen) != 0) {
                continue;
            }

            pos = rrs[i].rdata;

            if (ngx_http_httpdns_dns_name(p, rrs[i].rdata + rrs[i].rdlen,
                                          &pos, target, tlen)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (*ttl == -1 || rrs[i].ttl < *ttl) {
                *ttl = rrs[i].ttl;
            }

            found = 1;
            break;
        }

        if (!found) {
            break;
        }
    }

    return NGX_OK;
}


/*
 * Reads a possibly compressed name at *pos into out: lowercase, labels
 * joined by dots, no trailing dot.  *pos moves past the name as stored.
 */

static ngx_int_t
ngx_http_httpdns_dns_name(u_char *start, u_char *last, u_char **pos,
    u_char *out, size_t *outlen)
{
    u_char      *p, *next;
    size_t       n, len;
    ngx_uint_t   hops;

    p = *pos;
    next = NULL;
    len = 0;
    hops = 0;

    for ( ;; ) {
        if (p >= last) {
            return NGX_ERROR;
        }

        n = *p;

        if (n == 0) {
            p++;
            break;
        }

        if ((n & 0xc0) == 0xc0) {
            if (last - p < 2 || ++hops > 32) {
                return NGX_ERROR;
            }

            if (next == NULL) {
                next = p + 2;
            }

            n = ((n & 0x3f) << 8) | p[1];

            /* a pointer always goes back: no loops */
            if (start + n >= p) {
                return NGX_ERROR;
            }

            p = start + n;
            continue;
        }

        if (n & 0xc0) {
            return NGX_ERROR;
        }

        p++;

        if ((size_t) (last - p) < n
            || len + n + (len ? 1 : 0) > NGX_HTTP_HTTPDNS_MAX_NAME + 2)
        {
            return NGX_ERROR;
        }

        if (len) {
            out[len++] = '.';
        }

        while (n--) {
            out[len++] = ngx_tolower(*p);
            p++;
        }
    }

    *pos = next ? next : p;
    *outlen = len;

    return NGX_OK;
}


static void
ngx_http_httpdns_add(ngx_http_httpdns_answer_t *a, u_char *addr, time_t ttl)
{
    ngx_uint_t  i;

    if (ttl >= 0 && (a->ttl == -1 || ttl < a->ttl)) {
        a->ttl = ttl;
    }

    if (a->naddrs == NGX_HTTP_HTTPDNS_MAX_ADDRS) {
        return;
    }

    for (i = 0; i < a->naddrs; i++) {
        if (ngx_memcmp(a->addrs[i], addr, 4) == 0) {
            return;
        }
    }

    ngx_memcpy(a->addrs[a->naddrs], addr, 4);
    a->naddrs++;
}


/*
 * Google-style DNS JSON:
 * {"Status":0,"Answer":[{"name":..,"type":1,"TTL":60,"data":"1.2.3.4"}]}
 * every A record counts; CNAME records (type 5) only lower the TTL.
 */

ngx_int_t
ngx_http_httpdns_parse_doh_json(u_char *p, size_t len,
    ngx_http_httpdns_answer_t *a)
{
    int64_t                status, cname_ttl;
    ngx_str_t              key;
    ngx_uint_t             first;
    ngx_http_live_json_t   j;

    a->naddrs = 0;
    a->ttl = -1;
    a->err = "JSON answer malformed";

    j.pos = p;
    j.last = p + len;
    j.depth = 0;

    status = -1;
    cname_ttl = -1;

    ngx_http_live_json_ws(&j);

    if (ngx_http_live_json_char(&j, '{') != NGX_OK) {
        return NGX_ERROR;
    }

    first = 1;

    for ( ;; ) {
        switch (ngx_http_live_json_next(&j, '}', &first)) {
        case NGX_DONE:
            goto done;
        case NGX_OK:
            break;
        default:
            return NGX_ERROR;
        }

        if (ngx_http_live_json_key(&j, &key) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_httpdns_key_is(&key, "Status")) {
            if (ngx_http_live_json_number(&j, &status) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (!ngx_http_httpdns_key_is(&key, "Answer")
            || j.pos == j.last || *j.pos != '[')
        {
            if (ngx_http_live_json_skip(&j) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_httpdns_doh_json_answer(&j, a, &cname_ttl) != NGX_OK) {
            return NGX_ERROR;
        }
    }

done:

    if (ngx_http_live_json_end(&j) != NGX_OK) {
        return NGX_ERROR;
    }

    if (status != 0) {
        a->err = (status == 3) ? "DNS answer NXDOMAIN"
                               : "DNS status not NOERROR";
        return NGX_ERROR;
    }

    if (a->naddrs == 0) {
        a->err = "JSON answer has no address";
        return NGX_ERROR;
    }

    if (cname_ttl >= 0 && cname_ttl <= 0x7fffffff
        && (a->ttl == -1 || (time_t) cname_ttl < a->ttl))
    {
        a->ttl = (time_t) cname_ttl;
    }

    a->err = NULL;

    return NGX_OK;
}


/*
 * The "Answer" array at j->pos ('['): every record in it, up to and
 * including the closing ']'.
 */

static ngx_int_t
ngx_http_httpdns_doh_json_answer(ngx_http_live_json_t *j,
    ngx_http_httpdns_answer_t *a, int64_t *cname_ttl)
{
    ngx_uint_t  first;

    j->pos++;
    first = 1;

    for ( ;; ) {
        switch (ngx_http_live_json_next(j, ']', &first)) {
        case NGX_DONE:
            return NGX_OK;
        case NGX_OK:
            break;
        default:
            return NGX_ERROR;
        }

        if (*j->pos != '{') {
            if (ngx_http_live_json_skip(j) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_httpdns_doh_json_record(j, a, cname_ttl) != NGX_OK) {
            return NGX_ERROR;
        }
    }
}


/* one record object at j->pos ('{'), up to and including its '}' */

static ngx_int_t
ngx_http_httpdns_doh_json_record(ngx_http_live_json_t *j,
    ngx_http_httpdns_answer_t *a, int64_t *cname_ttl)
{
    u_char      addr[4];
    int64_t     n, type, ttl;
    ngx_str_t   key, data;
    ngx_uint_t  first;

    j->pos++;
    first = 1;
    type = -1;
    ttl = -1;
    data.len = 0;
    data.data = NULL;

    for ( ;; ) {
        switch (ngx_http_live_json_next(j, '}', &first)) {
        case NGX_DONE:
            goto done;
        case NGX_OK:
            break;
        default:
            return NGX_ERROR;
        }

        if (ngx_http_live_json_key(j, &key) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_httpdns_key_is(&key, "type")) {
            if (ngx_http_live_json_number(j, &type) != NGX_OK) {
                return NGX_ERROR;
            }

        } else if (ngx_http_httpdns_key_is(&key, "TTL")) {
            if (ngx_http_live_json_number(j, &ttl) != NGX_OK) {
                return NGX_ERROR;
            }

        } else if (ngx_http_httpdns_key_is(&key, "data")
                   && j->pos < j->last && *j->pos == '"')
        {
            if (ngx_http_live_json_string(j, &data) != NGX_OK) {
                return NGX_ERROR;
            }

        } else if (ngx_http_live_json_skip(j) != NGX_OK) {
            return NGX_ERROR;
        }
    }

done:

    /* a CNAME in the chain limits the TTL as much as an A does */

    if (type == 5 && ttl >= 0 && (*cname_ttl < 0 || ttl < *cname_ttl)) {
        *cname_ttl = ttl;
    }

    if (type == 1
        && ngx_http_live_parse_ipv4(data.data, data.len, addr) == NGX_OK)
    {
        n = (ttl < 0 || ttl > 0x7fffffff) ? 0 : ttl;
        ngx_http_httpdns_add(a, addr, (time_t) n);
    }

    return NGX_OK;
}


/*
 * DNSPod "/d?dn=" text: "ip;ip[,ttl][|clientip]", optionally followed
 * by a line break.
 */

ngx_int_t
ngx_http_httpdns_parse_dnspod(u_char *p, size_t len,
    ngx_http_httpdns_answer_t *a)
{
    u_char   *last, *s, *bar, *comma;
    u_char    addr[4];
    int64_t   ttl;

    a->naddrs = 0;
    a->ttl = -1;
    a->err = "dnspod answer is not an address list";

    last = p + len;

    while (last > p
           && (last[-1] == '\n' || last[-1] == '\r' || last[-1] == ' '))
    {
        last--;
    }

    if (last == p) {
        a->err = "dnspod answer empty";
        return NGX_ERROR;
    }

    bar = ngx_strlchr(p, last, '|');
    if (bar) {
        last = bar;
    }

    comma = ngx_strlchr(p, last, ',');

    if (comma) {
        if (comma + 1 == last || last - comma > 11) {
            return NGX_ERROR;
        }

        ttl = 0;

        for (s = comma + 1; s < last; s++) {
            if (*s < '0' || *s > '9') {
                return NGX_ERROR;
            }

            ttl = ttl * 10 + (*s - '0');
        }

        if (ttl > 0x7fffffff) {
            ttl = 0x7fffffff;
        }

        last = comma;

    } else {
        ttl = -1;
    }

    while (p < last) {
        s = ngx_strlchr(p, last, ';');
        if (s == NULL) {
            s = last;
        }

        if (ngx_http_live_parse_ipv4(p, s - p, addr) != NGX_OK) {
            a->naddrs = 0;
            return NGX_ERROR;
        }

        ngx_http_httpdns_add(a, addr, (time_t) ttl);

        p = s + 1;
    }

    if (a->naddrs == 0) {
        return NGX_ERROR;
    }

    a->ttl = (time_t) ttl;
    a->err = NULL;

    return NGX_OK;
}


/*
 * Alibaba Cloud "/d?host=":
 * {"host":..,"ips":["1.2.3.4"],"ttl":57,"origin_ttl":120};
 * origin_ttl wins when it is above zero; a "code" is an error answer.
 */

ngx_int_t
ngx_http_httpdns_parse_alicloud(u_char *p, size_t len,
    ngx_http_httpdns_answer_t *a)
{
    int64_t                ttl, origin_ttl;
    ngx_str_t              key;
    ngx_uint_t             first, code;
    ngx_http_live_json_t   j;

    a->naddrs = 0;
    a->ttl = -1;
    a->err = "JSON answer malformed";

    j.pos = p;
    j.last = p + len;
    j.depth = 0;

    ttl = -1;
    origin_ttl = -1;
    code = 0;

    ngx_http_live_json_ws(&j);

    if (ngx_http_live_json_char(&j, '{') != NGX_OK) {
        return NGX_ERROR;
    }

    first = 1;

    for ( ;; ) {
        switch (ngx_http_live_json_next(&j, '}', &first)) {
        case NGX_DONE:
            goto done;
        case NGX_OK:
            break;
        default:
            return NGX_ERROR;
        }

        if (ngx_http_live_json_key(&j, &key) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_httpdns_key_is(&key, "ttl")) {
            if (ngx_http_live_json_number(&j, &ttl) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_httpdns_key_is(&key, "origin_ttl")) {
            if (ngx_http_live_json_number(&j, &origin_ttl) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_httpdns_key_is(&key, "code")) {
            code = 1;
        }

        if (!ngx_http_httpdns_key_is(&key, "ips")
            || j.pos == j.last || *j.pos != '[')
        {
            if (ngx_http_live_json_skip(&j) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_httpdns_alicloud_ips(&j, a) != NGX_OK) {
            return NGX_ERROR;
        }
    }

done:

    if (ngx_http_live_json_end(&j) != NGX_OK) {
        return NGX_ERROR;
    }

    if (code) {
        a->err = "alicloud answer is an error";
        return NGX_ERROR;
    }

    if (a->naddrs == 0) {
        a->err = "JSON answer has no address";
        return NGX_ERROR;
    }

    if (origin_ttl > 0) {
        ttl = origin_ttl;
    }

    a->ttl = (ttl < 0) ? -1 : (time_t) ngx_min(ttl, 0x7fffffff);
    a->err = NULL;

    return NGX_OK;
}


/*
 * The "ips" array at j->pos ('['), up to and including its ']': every
 * string in it that is an IPv4 address.
 */

static ngx_int_t
ngx_http_httpdns_alicloud_ips(ngx_http_live_json_t *j,
    ngx_http_httpdns_answer_t *a)
{
    u_char      addr[4];
    ngx_str_t   ip;
    ngx_uint_t  first;

    j->pos++;
    first = 1;

    for ( ;; ) {
        switch (ngx_http_live_json_next(j, ']', &first)) {
        case NGX_DONE:
            return NGX_OK;
        case NGX_OK:
            break;
        default:
            return NGX_ERROR;
        }

        if (*j->pos != '"') {
            if (ngx_http_live_json_skip(j) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_live_json_string(j, &ip) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_live_parse_ipv4(ip.data, ip.len, addr) == NGX_OK) {
            ngx_http_httpdns_add(a, addr, -1);
        }
    }
}


/* host name: labels of 1-63 letters, digits, '-' or '_', up to 253 */

ngx_int_t
ngx_http_httpdns_valid_domain(u_char *p, size_t len)
{
    u_char      ch;
    size_t      i, label;

    if (len && p[len - 1] == '.') {
        len--;
    }

    if (len == 0 || len > NGX_HTTP_HTTPDNS_MAX_NAME) {
        return NGX_ERROR;
    }

    label = 0;

    for (i = 0; i < len; i++) {
        ch = p[i];

        if (ch == '.') {
            if (label == 0) {
                return NGX_ERROR;
            }

            label = 0;
            continue;
        }

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
        {
            return NGX_ERROR;
        }

        if (++label > 63) {
            return NGX_ERROR;
        }
    }

    return (label == 0) ? NGX_ERROR : NGX_OK;
}


/*
 * The "stream" argument: percent-decoded into dst (len bytes at most),
 * then 1-128 bytes of A-Z a-z 0-9 . _ - ~
 */

ngx_int_t
ngx_http_httpdns_decode_stream(u_char *p, size_t len, u_char *dst,
    size_t *dlen)
{
    u_char     *c, *last;
    ngx_int_t   n;
    ngx_str_t   src;

    src.len = len;
    src.data = p;

    /* a bad escape, too long, or empty */

    n = ngx_http_live_unescape(dst, NGX_HTTP_HTTPDNS_MAX_STREAM, &src);
    if (n <= 0) {
        return NGX_ERROR;
    }

    for (c = dst, last = dst + n; c < last; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
              || (*c >= '0' && *c <= '9') || *c == '.' || *c == '_'
              || *c == '-' || *c == '~'))
        {
            return NGX_ERROR;
        }
    }

    /* a whole name of "." or "..", put into a path, would climb it */

    if (dst[0] == '.' && (n == 1 || (n == 2 && dst[1] == '.'))) {
        return NGX_ERROR;
    }

    *dlen = n;

    return NGX_OK;
}


/* bytes that cannot go into a URL or a header line */

ngx_int_t
ngx_http_httpdns_url_safe(u_char *p, size_t len)
{
    u_char  *last;

    if (len == 0) {
        return NGX_ERROR;
    }

    for (last = p + len; p < last; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '<'
            || *p == '>' || *p == '\\')
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
