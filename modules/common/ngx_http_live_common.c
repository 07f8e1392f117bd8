
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_live_common.h"


static ngx_str_t  ngx_http_live_json_type = ngx_string("application/json");
static ngx_str_t  ngx_http_live_no_store = ngx_string("no-store");


size_t
ngx_http_live_json_escape_len(u_char *src, size_t size)
{
    size_t  n;

    for (n = size; size; size--, src++) {
        if (*src == '"' || *src == '\\') {
            n++;

        } else if (*src < 0x20 || *src == 0x7f) {
            n += sizeof("\\u0000") - 2;
        }
    }

    return n;
}


u_char *
ngx_http_live_json_escape(u_char *dst, u_char *src, size_t size)
{
    static u_char  hex[] = "0123456789abcdef";

    for ( /* void */ ; size; size--, src++) {

        if (*src == '"' || *src == '\\') {
            *dst++ = '\\';
            *dst++ = *src;

        } else if (*src < 0x20 || *src == 0x7f) {
            *dst++ = '\\';
            *dst++ = 'u';
            *dst++ = '0';
            *dst++ = '0';
            *dst++ = hex[*src >> 4];
            *dst++ = hex[*src & 0xf];

        } else {
            *dst++ = *src;
        }
    }

    return dst;
}


/*
 * A 302 to the URL, for one terminal only: no cache may keep it.  The
 * status to return from the handler, or 500.
 */

ngx_int_t
ngx_http_live_redirect(ngx_http_request_t *r, ngx_str_t *location)
{
    ngx_table_elt_t  *h;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_live_add_header(r, "Cache-Control", &ngx_http_live_no_store)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_clear_location(r);

    h = ngx_http_live_add_header(r, "Location", location);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.location = h;

    return NGX_HTTP_MOVED_TEMPORARILY;
}


/*
 * Answers with the buffer as the whole body.  The answers of the suite are
 * made for one terminal (a chosen server, a trimmed playlist), so no cache
 * may keep them.  A NULL type takes the content type from the extension.
 */

ngx_int_t
ngx_http_live_send(ngx_http_request_t *r, ngx_uint_t status, ngx_str_t *type,
    ngx_buf_t *b)
{
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (type == NULL) {
        if (ngx_http_set_content_type(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        r->headers_out.content_type = *type;
        r->headers_out.content_type_len = type->len;
    }

    if (ngx_http_live_add_header(r, "Cache-Control", &ngx_http_live_no_store)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;

    return ngx_http_live_send_body(r, b);
}


/* the headers set but the length: sends them and the buffer as the body */

ngx_int_t
ngx_http_live_send_body(ngx_http_request_t *r, ngx_buf_t *b)
{
    ngx_int_t    rc;
    ngx_chain_t  out;

    r->headers_out.content_length_n = b->last - b->pos;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_live_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b)
{
    return ngx_http_live_send(r, status, &ngx_http_live_json_type, b);
}


ngx_int_t
ngx_http_live_send_error(ngx_http_request_t *r, ngx_uint_t status,
    char *code, char *detail)
{
    size_t      len;
    ngx_buf_t  *b;

    len = sizeof("{\"error\":\"\",\"detail\":\"\"}\n") - 1
          + ngx_http_live_json_escape_len((u_char *) code, ngx_strlen(code))
          + ngx_http_live_json_escape_len((u_char *) detail,
                                          ngx_strlen(detail));

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, "{\"error\":\"", sizeof("{\"error\":\"") - 1);
    b->last = ngx_http_live_json_escape(b->last, (u_char *) code,
                                        ngx_strlen(code));
    b->last = ngx_cpymem(b->last, "\",\"detail\":\"",
                         sizeof("\",\"detail\":\"") - 1);
    b->last = ngx_http_live_json_escape(b->last, (u_char *) detail,
                                        ngx_strlen(detail));
    b->last = ngx_cpymem(b->last, "\"}\n", sizeof("\"}\n") - 1);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "live error answer: %ui %s \"%s\"", status, code, detail);

    return ngx_http_live_send_json(r, status, b);
}


ngx_table_elt_t *
ngx_http_live_add_header(ngx_http_request_t *r, char *key, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.len = ngx_strlen(key);
    h->key.data = (u_char *) key;
    h->value = *value;

    return h;
}


/* registers a module's table of variables, ngx_http_null_variable last */

ngx_int_t
ngx_http_live_add_variables(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}
