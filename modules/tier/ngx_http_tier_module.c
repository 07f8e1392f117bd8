
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <math.h>
#include "ngx_http_live_common.h"
#include "ngx_http_live_zone.h"
#include "ngx_http_tier_parse.h"
#include "ngx_http_tier_select.h"


#define NGX_HTTP_TIER_MAX_MEMBERS    256
#define NGX_HTTP_TIER_ID_MAX         64
#define NGX_HTTP_TIER_SLOTS          512
#define NGX_HTTP_TIER_WEIGHT_MAX     1000000
#define NGX_HTTP_TIER_LOCATION_MAX   254
#define NGX_HTTP_TIER_RECORD_SET     0
#define NGX_HTTP_TIER_RECORD_TOUCH   1
#define NGX_HTTP_TIER_RECORD_FORGET  2

#define NGX_HTTP_TIER_CALL_PLAY      0
#define NGX_HTTP_TIER_CALL_PUBLISH   1
#define NGX_HTTP_TIER_CALL_UPDATE    2
#define NGX_HTTP_TIER_CALL_DONE      3
#define NGX_HTTP_TIER_CALL_OTHER     4

#define NGX_HTTP_TIER_FNV_OFFSET     0xcbf29ce484222325ULL
#define NGX_HTTP_TIER_FNV_PRIME      0x100000001b3ULL


/*
 * The run-time state of a group lives in shared memory, keyed by member
 * id rather than by position, so that it maps onto a new configuration
 * after a reload.  Slots are never reused while a configuration may
 * still point at them (old workers finishing a reload read by index).
 */

typedef struct {
    u_char                       id[NGX_HTTP_TIER_ID_MAX];
    u_char                       len;       /* 0: a free slot */
    u_char                       down;
} ngx_http_tier_slot_t;


/*
 * A record: the member an origin's on_publish was sent to, so that the
 * stream stays there while it is live; a node of the group's records
 * zone, keyed by the stream key, the least recently refreshed last.  It
 * names the member by id: groups that share records (one per protocol)
 * and configurations after a reload find it by id.
 */

typedef struct {
    ngx_http_live_zone_node_t    zn;
    ngx_msec_t                   expire;
    u_char                       idlen;
    u_char                       id[NGX_HTTP_TIER_ID_MAX];
} ngx_http_tier_record_t;


typedef struct {
    ngx_atomic_t                 version;
    ngx_http_tier_slot_t         slots[NGX_HTTP_TIER_SLOTS];
} ngx_http_tier_shctx_t;


/* a record copied out of shared memory, for the admin list */

typedef struct {
    ngx_uint_t                   member;
    ngx_str_t                    key;
} ngx_http_tier_live_t;


typedef struct {
    ngx_str_t                    id;
    ngx_str_t                    addr;
    ngx_str_t                    json;      /* {"id":"..","addr":".."} */
    uint64_t                     hash;      /* fmix64(fnv1a64(id)) */
    double                       weight;
    ngx_uint_t                   slot;
    unsigned                     down:1;    /* the configured state */
} ngx_http_tier_member_t;


typedef struct ngx_http_tier_group_s  ngx_http_tier_group_t;

struct ngx_http_tier_group_s {
    ngx_str_t                    name;
    ngx_array_t                  members;   /* ngx_http_tier_member_t */

    ngx_shm_zone_t              *shm_zone;
    ngx_slab_pool_t             *shpool;
    ngx_http_tier_shctx_t       *sh;

    ngx_http_live_zone_t        *records;
    ngx_http_tier_group_t       *records_group;  /* whose records */
    size_t                       records_size;
    ngx_msec_t                   expire;
    ngx_uint_t                   evicted;   /* by this worker's insert */

    /* this worker's copy of the shared state */
    ngx_atomic_uint_t            version;
    u_char                       down[NGX_HTTP_TIER_MAX_MEMBERS];

    u_char                      *file_name;
    ngx_uint_t                   line;
    unsigned                     defined:1;
};


typedef struct {
    ngx_array_t                  groups;    /* ngx_http_tier_group_t * */
    ngx_array_t                  lookups;   /* lookup confs of the selector */
} ngx_http_tier_main_conf_t;


typedef struct {
    ngx_http_tier_group_t       *group;
    time_t                       ttl;
    ngx_http_tier_lookup_conf_t *lookup;
} ngx_http_tier_loc_conf_t;


static ngx_int_t ngx_http_tier_enum_handler(ngx_http_request_t *r);
static void ngx_http_tier_notify_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_tier_pick(ngx_http_request_t *r,
    ngx_http_tier_args_t *args);
static ngx_int_t ngx_http_tier_notify(ngx_http_request_t *r,
    ngx_http_tier_args_t *args);
static ngx_uint_t ngx_http_tier_call(ngx_str_t *call);
static ngx_int_t ngx_http_tier_redirect(ngx_http_request_t *r,
    ngx_http_tier_group_t *group, u_char *key, size_t len, ngx_uint_t call);
static ngx_int_t ngx_http_tier_send_ok(ngx_http_request_t *r);
static ngx_int_t ngx_http_tier_admin_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_tier_admin_list(ngx_http_request_t *r,
    ngx_http_tier_group_t *group, ngx_uint_t keys);
static ngx_int_t ngx_http_tier_not_allowed(ngx_http_request_t *r);
static ngx_uint_t ngx_http_tier_order(ngx_http_tier_group_t *group,
    u_char *key, size_t len, ngx_uint_t *order, ngx_uint_t n);
static ngx_int_t ngx_http_tier_record_member(ngx_http_tier_group_t *group,
    u_char *key, size_t len);
static ngx_int_t ngx_http_tier_record_index(ngx_http_tier_group_t *group,
    ngx_http_tier_record_t *rec);
static void ngx_http_tier_record_update(ngx_http_tier_group_t *group,
    u_char *key, size_t len, ngx_uint_t op, ngx_http_tier_member_t *m,
    ngx_log_t *log);
static ngx_uint_t ngx_http_tier_record_inactive(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node);
static void ngx_http_tier_record_free(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node);
static ngx_int_t ngx_http_tier_records_copy(ngx_http_request_t *r,
    ngx_http_tier_group_t *group, ngx_array_t *live);
static int ngx_libc_cdecl ngx_http_tier_live_cmp(const void *one,
    const void *two);
static ngx_uint_t ngx_http_tier_rank(ngx_http_tier_group_t *group,
    u_char *key, size_t len, ngx_uint_t *order, ngx_uint_t n);
static void ngx_http_tier_sync(ngx_http_tier_group_t *group);
static uint64_t ngx_http_tier_fnv1a64(u_char *p, size_t len);
static uint64_t ngx_http_tier_fmix64(uint64_t x);
static ngx_int_t ngx_http_tier_valid_id(ngx_str_t *id);

static ngx_int_t ngx_http_tier_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_tier_slot_t *ngx_http_tier_find_slot(
    ngx_http_tier_shctx_t *sh, ngx_str_t *id);
static ngx_http_tier_member_t *ngx_http_tier_find_member(
    ngx_http_tier_group_t *group, u_char *id, size_t len);

static void *ngx_http_tier_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_tier_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_tier_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_tier_group_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tier_member(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf);
static char *ngx_http_tier_records(ngx_conf_t *cf,
    ngx_http_tier_group_t *group);
static char *ngx_http_tier_enum(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tier_admin(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tier_set_handler(ngx_conf_t *cf,
    ngx_http_tier_loc_conf_t *tlcf, ngx_http_handler_pt handler);
static ngx_http_tier_group_t *ngx_http_tier_get_group(ngx_conf_t *cf,
    ngx_str_t *name);
static char *ngx_http_tier_lookup(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_tier_lookup_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_tier_postconfiguration(ngx_conf_t *cf);


static ngx_command_t  ngx_http_tier_commands[] = {

    { ngx_string("tier_group"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_tier_group_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tier_enum"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_tier_enum,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tier_admin"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_tier_admin,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tier_enum_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tier_loc_conf_t, ttl),
      NULL },

    { ngx_string("tier_lookup"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_tier_lookup,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tier_select"),
      NGX_HTTP_UPS_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE12,
      ngx_http_tier_select,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_tier_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_tier_postconfiguration,       /* postconfiguration */

    ngx_http_tier_create_main_conf,        /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_tier_select_create_conf,      /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_tier_create_loc_conf,         /* create location configuration */
    ngx_http_tier_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_tier_module = {
    NGX_MODULE_V1,
    &ngx_http_tier_module_ctx,             /* module context */
    ngx_http_tier_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_tier_relay_flashver = ngx_string("ngx-local-relay");


static ngx_int_t
ngx_http_tier_enum_handler(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_http_tier_args_t  args;

    if (r->method == NGX_HTTP_POST) {

        /* an nginx-rtmp notify call: the form is in the body */

        r->request_body_in_single_buf = 1;

        rc = ngx_http_read_client_request_body(r, ngx_http_tier_notify_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_tier_not_allowed(r);
    }

    ngx_memzero(&args, sizeof(ngx_http_tier_args_t));

    ngx_http_tier_parse_args(r->args.data, r->args.len, &args);

    /* "notify_method get" sends the notify form as the query string */

    if (args.key.data == NULL && args.call.data != NULL) {
        return ngx_http_tier_notify(r, &args);
    }

    return ngx_http_tier_pick(r, &args);
}


static void
ngx_http_tier_notify_body(ngx_http_request_t *r)
{
    u_char                *p;
    size_t                 len;
    ngx_buf_t             *b;
    ngx_chain_t           *cl;
    ngx_http_request_body_t  *rb;
    ngx_http_tier_args_t   args;

    rb = r->request_body;

    if (rb == NULL || rb->temp_file) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier notify: body in a temporary file");

        ngx_http_finalize_request(r,
            ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                     "body_too_large",
                                     "the form exceeds "
                                     "client_body_buffer_size"));
        return;
    }

    len = 0;

    for (cl = rb->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            ngx_http_finalize_request(r,
                ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "body_too_large",
                                         "the form exceeds "
                                         "client_body_buffer_size"));
            return;
        }

        len += cl->buf->last - cl->buf->pos;
    }

    if (rb->bufs && rb->bufs->next == NULL) {
        p = rb->bufs->buf->pos;

    } else {
        p = ngx_pnalloc(r->pool, len + 1);
        if (p == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        len = 0;

        for (cl = rb->bufs; cl; cl = cl->next) {
            b = cl->buf;
            ngx_memcpy(p + len, b->pos, b->last - b->pos);
            len += b->last - b->pos;
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "tier notify: form of %uz bytes", len);

    ngx_memzero(&args, sizeof(ngx_http_tier_args_t));

    ngx_http_tier_parse_args(p, len, &args);

    ngx_http_finalize_request(r, ngx_http_tier_notify(r, &args));
}


static ngx_int_t
ngx_http_tier_pick(ngx_http_request_t *r, ngx_http_tier_args_t *args)
{
    u_char                    *p;
    size_t                     len;
    ngx_int_t                  klen, n;
    ngx_buf_t                 *b;
    ngx_uint_t                 i, count;
    ngx_http_tier_group_t     *group;
    ngx_http_tier_member_t    *m;
    ngx_http_tier_loc_conf_t  *tlcf;
    ngx_uint_t                 order[NGX_HTTP_TIER_MAX_MEMBERS + 1];
    u_char                     key[NGX_HTTP_TIER_KEY_MAX];

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tier_module);
    group = tlcf->group;

    if (args->key.data == NULL) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier pick: no key");

        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_key",
                                        "the \"key\" argument is required");
    }

    klen = ngx_http_live_unescape(key, NGX_HTTP_TIER_KEY_MAX, &args->key);

    if (klen == NGX_DECLINED) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier pick: key too long");

        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "key_too_long",
                                        "the key exceeds 256 bytes");
    }

    if (klen == NGX_ERROR
        || ngx_http_tier_valid_key(key, klen) != NGX_OK)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier pick: invalid key \"%V\"", &args->key);

        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_key",
                                        "the key must be 1 to 256 bytes of "
                                        "printable ASCII without space, "
                                        "quote or backslash");
    }

    n = group->members.nelts;

    if (args->n.data) {
        n = ngx_http_tier_parse_n(args->n.data, args->n.len);

        if (n < 1) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "tier pick: invalid n \"%V\"", &args->n);

            return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_n",
                                            "\"n\" must be 1 to 9 decimal "
                                            "digits, not 0");
        }

        /* a cap: a client may ask a fixed n of a group that shrank */

        n = ngx_min(n, (ngx_int_t) group->members.nelts);
    }

    count = ngx_http_tier_order(group, key, klen, order, n);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "tier pick: group \"%V\" key \"%*s\" servers:%ui",
                   &group->name, (size_t) klen, key, count);

    if (count == 0) {
        return ngx_http_live_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "no_member_up",
                                        "no member of the group is up");
    }

    m = group->members.elts;

    len = sizeof("{\"group\":\"\",\"key\":\"\",\"version\":,\"ttl\":,"
                 "\"servers\":[]}\n") - 1
          + group->name.len + klen + NGX_ATOMIC_T_LEN + NGX_TIME_T_LEN
          + count - 1;

    for (i = 0; i < count; i++) {
        len += m[order[i]].json.len;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, "{\"group\":\"", sizeof("{\"group\":\"") - 1);
    p = ngx_cpymem(p, group->name.data, group->name.len);
    p = ngx_cpymem(p, "\",\"key\":\"", sizeof("\",\"key\":\"") - 1);
    p = ngx_cpymem(p, key, klen);
    p = ngx_sprintf(p, "\",\"version\":%uA,\"ttl\":%T,\"servers\":[",
                    group->version, tlcf->ttl);

    for (i = 0; i < count; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, m[order[i]].json.data, m[order[i]].json.len);
    }

    *p++ = ']';
    *p++ = '}';
    *p++ = LF;

    b->last = p;

    return ngx_http_live_send_json(r, NGX_HTTP_OK, b);
}


static ngx_int_t
ngx_http_tier_notify(ngx_http_request_t *r, ngx_http_tier_args_t *args)
{
    size_t                     len;
    ngx_int_t                  alen, nlen, flen;
    ngx_uint_t                 call;
    ngx_http_tier_group_t     *group;
    ngx_http_tier_loc_conf_t  *tlcf;
    u_char                     key[NGX_HTTP_TIER_KEY_MAX];
    u_char                     flashver[32];

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tier_module);
    group = tlcf->group;

    if (args->app.data == NULL || args->name.data == NULL) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier notify: no app or name");

        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_form",
                                        "a notify form needs \"app\" "
                                        "and \"name\"");
    }

    if (args->flashver.data) {
        flen = ngx_http_live_unescape(flashver, sizeof(flashver),
                                      &args->flashver);

        if (flen == (ngx_int_t) ngx_http_tier_relay_flashver.len
            && ngx_strncmp(flashver, ngx_http_tier_relay_flashver.data,
                           flen)
               == 0)
        {
            /*
             * a relay of nginx-rtmp itself: let it through, never loop;
             * its publish_done and updates are not the origin's either
             */

            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "tier notify: relay session, 200");

            return ngx_http_tier_send_ok(r);
        }
    }

    alen = ngx_http_live_unescape(key, NGX_HTTP_TIER_KEY_MAX - 1,
                                  &args->app);

    nlen = NGX_ERROR;

    if (alen >= 0) {
        key[alen] = '/';
        nlen = ngx_http_live_unescape(key + alen + 1,
                                      NGX_HTTP_TIER_KEY_MAX - alen - 1,
                                      &args->name);
    }

    if (alen == NGX_DECLINED || nlen == NGX_DECLINED) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier notify: key too long");

        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "key_too_long",
                                        "app/name exceeds 256 bytes");
    }

    len = alen + 1 + nlen;

    if (alen <= 0 || nlen <= 0
        || ngx_http_tier_valid_key(key, len) != NGX_OK)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier notify: invalid app or name");

        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_key",
                                        "app and name must be printable "
                                        "ASCII without space, quote or "
                                        "backslash");
    }

    call = ngx_http_tier_call(&args->call);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "tier notify: call \"%V\" (%ui) key \"%*s\"",
                   &args->call, call, len, key);

    switch (call) {

    case NGX_HTTP_TIER_CALL_PLAY:
    case NGX_HTTP_TIER_CALL_PUBLISH:
        return ngx_http_tier_redirect(r, group, key, len, call);

    case NGX_HTTP_TIER_CALL_UPDATE:
        ngx_http_tier_record_update(group, key, len,
                                    NGX_HTTP_TIER_RECORD_TOUCH, NULL,
                                    r->connection->log);
        break;

    case NGX_HTTP_TIER_CALL_DONE:
        ngx_http_tier_record_update(group, key, len,
                                    NGX_HTTP_TIER_RECORD_FORGET, NULL,
                                    r->connection->log);
        break;

    default: /* NGX_HTTP_TIER_CALL_OTHER */
        break;
    }

    return ngx_http_tier_send_ok(r);
}


/* the "call" of a notify form; a form without one is taken for a play */

static ngx_uint_t
ngx_http_tier_call(ngx_str_t *call)
{
    if (call->data == NULL) {
        return NGX_HTTP_TIER_CALL_PLAY;
    }

    if (call->len == 4 && ngx_strncmp(call->data, "play", 4) == 0) {
        return NGX_HTTP_TIER_CALL_PLAY;
    }

    if (call->len == 7 && ngx_strncmp(call->data, "publish", 7) == 0) {
        return NGX_HTTP_TIER_CALL_PUBLISH;
    }

    if (call->len == 14
        && ngx_strncmp(call->data, "update_publish", 14) == 0)
    {
        return NGX_HTTP_TIER_CALL_UPDATE;
    }

    if (call->len == 12 && ngx_strncmp(call->data, "publish_done", 12) == 0)
    {
        return NGX_HTTP_TIER_CALL_DONE;
    }

    return NGX_HTTP_TIER_CALL_OTHER;
}


static ngx_int_t
ngx_http_tier_redirect(ngx_http_request_t *r, ngx_http_tier_group_t *group,
    u_char *key, size_t len, ngx_uint_t call)
{
    u_char                  *p;
    ngx_str_t                location;
    ngx_uint_t               order[2];
    ngx_http_tier_member_t  *m;

    if (ngx_http_tier_order(group, key, len, order, 1) == 0) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier notify: \"%*s\" no member up", len, key);

        return ngx_http_live_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "no_member_up",
                                        "no member of the group is up");
    }

    m = group->members.elts;
    m = &m[order[0]];

    /* nginx-rtmp copies at most 254 bytes of Location */

    if (sizeof("rtmp:///") - 1 + m->addr.len + len
        > NGX_HTTP_TIER_LOCATION_MAX)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier notify: location too long");

        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "key_too_long",
                                        "the Location would exceed the 254 "
                                        "bytes nginx-rtmp accepts");
    }

    location.data = ngx_pnalloc(r->pool,
                                sizeof("rtmp:///") - 1 + m->addr.len + len);
    if (location.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(location.data, "rtmp://", sizeof("rtmp://") - 1);
    p = ngx_cpymem(p, m->addr.data, m->addr.len);
    *p++ = '/';
    p = ngx_cpymem(p, key, len);

    location.len = p - location.data;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "tier notify: \"%V\" -> %V", &m->id, &location);

    /* the stream will be live there: keep it there while it is */

    if (call == NGX_HTTP_TIER_CALL_PUBLISH) {
        ngx_http_tier_record_update(group, key, len,
                                    NGX_HTTP_TIER_RECORD_SET, m,
                                    r->connection->log);
    }

    return ngx_http_live_redirect(r, &location);
}


static ngx_int_t
ngx_http_tier_send_ok(ngx_http_request_t *r)
{
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


static ngx_int_t
ngx_http_tier_admin_handler(ngx_http_request_t *r)
{
    ngx_int_t                  len;
    ngx_uint_t                 down;
    ngx_http_tier_slot_t      *slot;
    ngx_http_tier_args_t       args;
    ngx_http_tier_group_t     *group;
    ngx_http_tier_member_t    *m;
    ngx_http_tier_loc_conf_t  *tlcf;
    u_char                     id[NGX_HTTP_TIER_ID_MAX];

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tier_module);
    group = tlcf->group;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        return ngx_http_tier_not_allowed(r);
    }

    ngx_memzero(&args, sizeof(ngx_http_tier_args_t));

    ngx_http_tier_parse_args(r->args.data, r->args.len, &args);

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_tier_admin_list(r, group,
                                        args.keys.len == 1
                                        && args.keys.data[0] == '1');
    }

    if (args.id.data == NULL) {
        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_id",
                                        "the \"id\" argument is required");
    }

    len = ngx_http_live_unescape(id, NGX_HTTP_TIER_ID_MAX, &args.id);

    m = (len >= 0) ? ngx_http_tier_find_member(group, id, len) : NULL;

    if (m == NULL) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier admin: unknown id \"%V\"", &args.id);

        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "unknown_id",
                                        "no member of the group has "
                                        "this id");
    }

    if (args.state.len == 2 && ngx_strncmp(args.state.data, "up", 2) == 0) {
        down = 0;

    } else if (args.state.len == 4
               && ngx_strncmp(args.state.data, "down", 4) == 0)
    {
        down = 1;

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tier admin: invalid state \"%V\"", &args.state);

        return ngx_http_live_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_state",
                                        "\"state\" must be \"up\" or "
                                        "\"down\"");
    }

    ngx_shmtx_lock(&group->shpool->mutex);

    slot = &group->sh->slots[m->slot];

    if (slot->down != down) {
        slot->down = (u_char) down;

        /* publish the state before the version readers compare */

        ngx_memory_barrier();
        group->sh->version++;
    }

    ngx_shmtx_unlock(&group->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "tier group \"%V\": member \"%V\" set %s",
                  &group->name, &m->id, down ? "down" : "up");

    return ngx_http_tier_admin_list(r, group, 0);
}


static ngx_int_t
ngx_http_tier_admin_list(ngx_http_request_t *r, ngx_http_tier_group_t *group,
    ngx_uint_t keys)
{
    u_char                  *p;
    size_t                   len;
    ngx_buf_t               *b;
    ngx_uint_t               i, j, k;
    ngx_array_t              live;
    ngx_http_tier_live_t    *l;
    ngx_http_tier_member_t  *m;
    ngx_uint_t               count[NGX_HTTP_TIER_MAX_MEMBERS];

    ngx_http_tier_sync(group);

    if (ngx_http_tier_records_copy(r, group, &live) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    l = live.elts;

    ngx_qsort(l, live.nelts, sizeof(ngx_http_tier_live_t),
              ngx_http_tier_live_cmp);

    m = group->members.elts;

    len = sizeof("{\"group\":\"\",\"version\":,\"members\":[]}\n") - 1
          + group->name.len + NGX_ATOMIC_T_LEN;

    for (i = 0; i < group->members.nelts; i++) {
        len += sizeof(",{\"id\":\"\",\"addr\":\"\",\"weight\":,"
                      "\"state\":\"down\",\"records\":,\"keys\":[]}") - 1
               + m[i].id.len + m[i].addr.len + 2 * NGX_INT_T_LEN;
        count[i] = 0;
    }

    for (i = 0; i < live.nelts; i++) {
        count[l[i].member]++;
        len += sizeof(",\"\"") - 1 + l[i].key.len;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(b->last, "{\"group\":\"%V\",\"version\":%uA,\"members\":[",
                    &group->name, group->version);

    j = 0;

    for (i = 0; i < group->members.nelts; i++) {
        p = ngx_sprintf(p, "%s{\"id\":\"%V\",\"addr\":\"%V\",\"weight\":%ui,"
                        "\"state\":\"%s\",\"records\":%ui",
                        i ? "," : "", &m[i].id, &m[i].addr,
                        (ngx_uint_t) m[i].weight,
                        group->down[i] ? "down" : "up", count[i]);

        if (keys) {
            p = ngx_cpymem(p, ",\"keys\":[", sizeof(",\"keys\":[") - 1);

            /* sorted by member: this member's keys are the next ones */

            for (k = j; j < live.nelts && l[j].member == i; j++) {
                if (j != k) {
                    *p++ = ',';
                }

                p = ngx_sprintf(p, "\"%V\"", &l[j].key);
            }

            *p++ = ']';
        }

        *p++ = '}';
    }

    p = ngx_cpymem(p, "]}\n", sizeof("]}\n") - 1);

    b->last = p;

    return ngx_http_live_send_json(r, NGX_HTTP_OK, b);
}


static ngx_int_t
ngx_http_tier_not_allowed(ngx_http_request_t *r)
{
    static ngx_str_t  allow = ngx_string("GET, HEAD, POST");

    if (ngx_http_live_add_header(r, "Allow", &allow) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_live_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                    "method_not_allowed",
                                    "use GET, HEAD or POST");
}


/*
 * The order of the members for a key: the member its stream was
 * published to while that one is up, then the rendezvous order.
 * order[] has room for n + 1 indexes.
 */

static ngx_uint_t
ngx_http_tier_order(ngx_http_tier_group_t *group, u_char *key, size_t len,
    ngx_uint_t *order, ngx_uint_t n)
{
    ngx_int_t   rec;
    ngx_uint_t  i, k, count;

    ngx_http_tier_sync(group);

    rec = ngx_http_tier_record_member(group, key, len);

    if (rec == NGX_DECLINED || group->down[rec]) {
        return ngx_http_tier_rank(group, key, len, order, n);
    }

    /* the best n after it hold the n - 1 others, with or without it */

    count = ngx_http_tier_rank(group, key, len, order + 1, n);

    order[0] = rec;
    k = 1;

    for (i = 1; i <= count && k < n; i++) {
        if (order[i] != (ngx_uint_t) rec) {
            order[k++] = order[i];
        }
    }

    return k;
}


/* the member index of a live record of the key, or NGX_DECLINED */

static ngx_int_t
ngx_http_tier_record_member(ngx_http_tier_group_t *group, u_char *key,
    size_t len)
{
    ngx_int_t                member;
    ngx_str_t                k;
    ngx_http_live_zone_t    *zone;
    ngx_http_tier_record_t  *rec;

    zone = group->records;

    /*
     * No record at all is the common case of a fresh service: no lock.
     * An unlocked read of the queue head may be stale, as any answer
     * racing with a publish elsewhere may be.
     */

    if (ngx_queue_empty(&zone->sh->queue)) {
        return NGX_DECLINED;
    }

    k.data = key;
    k.len = len;

    member = NGX_DECLINED;

    ngx_shmtx_lock(&zone->shpool->mutex);

    rec = (ngx_http_tier_record_t *)
              ngx_http_live_zone_find(zone, &k, ngx_crc32_short(key, len));

    if (rec && (ngx_msec_int_t) (rec->expire - ngx_current_msec) > 0) {
        member = ngx_http_tier_record_index(group, rec);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return member;
}


/* the index of the record's member in this group, or NGX_DECLINED */

static ngx_int_t
ngx_http_tier_record_index(ngx_http_tier_group_t *group,
    ngx_http_tier_record_t *rec)
{
    ngx_http_tier_member_t  *m;

    m = ngx_http_tier_find_member(group, rec->id, rec->idlen);

    if (m == NULL) {
        return NGX_DECLINED;
    }

    return m - (ngx_http_tier_member_t *) group->members.elts;
}


/*
 * NGX_HTTP_TIER_RECORD_SET: record the key at member m (create or move
 * it) and keep it for the group's expiry; NGX_HTTP_TIER_RECORD_TOUCH:
 * keep an existing record alive; NGX_HTTP_TIER_RECORD_FORGET: remove it.
 */

static void
ngx_http_tier_record_update(ngx_http_tier_group_t *group, u_char *key,
    size_t len, ngx_uint_t op, ngx_http_tier_member_t *m, ngx_log_t *log)
{
    ngx_str_t                k;
    uint32_t                 hash;
    ngx_http_live_zone_t    *zone;
    ngx_http_tier_record_t  *rec;

    zone = group->records;

    k.data = key;
    k.len = len;
    hash = ngx_crc32_short(key, len);

    group->evicted = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_http_live_zone_expire(zone, 8);

    rec = (ngx_http_tier_record_t *) ngx_http_live_zone_find(zone, &k, hash);

    if (op == NGX_HTTP_TIER_RECORD_FORGET) {
        if (rec) {
            rec->expire = ngx_current_msec;     /* not an eviction */
            ngx_http_live_zone_delete(zone, &rec->zn);
        }

        goto done;
    }

    if (rec) {
        ngx_http_live_zone_touch(zone, &rec->zn);

    } else {
        if (op == NGX_HTTP_TIER_RECORD_TOUCH) {
            goto done;
        }

        /* a full zone drops the least recently refreshed records */

        rec = (ngx_http_tier_record_t *)
                  ngx_http_live_zone_insert(zone, &k, hash);
        if (rec == NULL) {
            goto done;
        }
    }

    if (op == NGX_HTTP_TIER_RECORD_SET) {
        rec->idlen = (u_char) m->id.len;
        ngx_memcpy(rec->id, m->id.data, m->id.len);
    }

    rec->expire = ngx_current_msec + group->expire;

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (group->evicted) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "tier group \"%V\": records full, %ui live stream "
                      "record%s dropped; enlarge \"records\"",
                      &group->name, group->evicted,
                      group->evicted == 1 ? "" : "s");
    }
}


/* the hooks of the records zone, under its lock */

static ngx_uint_t
ngx_http_tier_record_inactive(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node)
{
    ngx_http_tier_record_t  *rec = (ngx_http_tier_record_t *) node;

    return (ngx_msec_int_t) (rec->expire - ngx_current_msec) <= 0;
}


static void
ngx_http_tier_record_free(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *node)
{
    ngx_http_tier_group_t   *group = zone->data;
    ngx_http_tier_record_t  *rec = (ngx_http_tier_record_t *) node;

    /* a live record evicted to make room: the caller warns */

    if ((ngx_msec_int_t) (rec->expire - ngx_current_msec) > 0) {
        group->evicted++;
    }
}


/* copies the live records of current members out of shared memory */

static ngx_int_t
ngx_http_tier_records_copy(ngx_http_request_t *r,
    ngx_http_tier_group_t *group, ngx_array_t *live)
{
    ngx_int_t                rc, member;
    ngx_queue_t             *q;
    ngx_http_live_zone_t    *zone;
    ngx_http_tier_live_t    *l;
    ngx_http_tier_record_t  *rec;

    zone = group->records;

    if (ngx_array_init(live, r->pool, 16, sizeof(ngx_http_tier_live_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = NGX_OK;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (q = ngx_queue_head(&zone->sh->queue);
         q != ngx_queue_sentinel(&zone->sh->queue);
         q = ngx_queue_next(q))
    {
        rec = (ngx_http_tier_record_t *)
                  ngx_queue_data(q, ngx_http_live_zone_node_t, queue);

        if ((ngx_msec_int_t) (rec->expire - ngx_current_msec) <= 0) {
            continue;
        }

        member = ngx_http_tier_record_index(group, rec);

        if (member == NGX_DECLINED) {
            continue;
        }

        l = ngx_array_push(live);
        if (l == NULL) {
            rc = NGX_ERROR;
            break;
        }

        l->member = member;
        l->key.len = rec->zn.len;
        l->key.data = ngx_pnalloc(r->pool, rec->zn.len);
        if (l->key.data == NULL) {
            rc = NGX_ERROR;
            break;
        }

        ngx_memcpy(l->key.data, rec->zn.key, rec->zn.len);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


static int ngx_libc_cdecl
ngx_http_tier_live_cmp(const void *one, const void *two)
{
    const ngx_http_tier_live_t  *a = one;
    const ngx_http_tier_live_t  *b = two;

    if (a->member != b->member) {
        return (a->member < b->member) ? -1 : 1;
    }

    return ngx_memn2cmp(a->key.data, b->key.data, a->key.len, b->key.len);
}


/*
 * Weighted rendezvous hashing, as README.md specifies it:
 *
 *     k = fnv1a64(key), h_i = fmix64(k ^ fmix64(fnv1a64(id_i))),
 *     u_i = ((h_i >> 12) + 0.5) / 2^52, score_i = -weight_i / ln(u_i),
 *
 * best score first, equal scores by id.  Down members are skipped; the
 * scores of the others do not depend on them, so nothing else moves.
 * Fills order[] with at most n member indexes, returns their number.
 *
 * Since -ln(u) >= 1 - u, weight / (1 - u) bounds a score from above at
 * the cost of a division: a member whose bound is below the n-th best
 * score so far cannot enter, and its log() is never computed.  The
 * margin covers the rounding of both expressions (a few ulps), so the
 * answer is exactly the one of computing every score.
 */

static ngx_uint_t
ngx_http_tier_rank(ngx_http_tier_group_t *group, u_char *key, size_t len,
    ngx_uint_t *order, ngx_uint_t n)
{
    double                   s, u;
    uint64_t                 k, h;
    ngx_int_t                j;
    ngx_uint_t               i, count, o;
    ngx_http_tier_member_t  *m;
    double                   score[NGX_HTTP_TIER_MAX_MEMBERS];

    ngx_http_tier_sync(group);

    k = ngx_http_tier_fnv1a64(key, len);
    m = group->members.elts;
    n = ngx_min(n, group->members.nelts);
    count = 0;

    for (i = 0; i < group->members.nelts; i++) {

        if (group->down[i]) {
            continue;
        }

        h = ngx_http_tier_fmix64(k ^ m[i].hash);
        /* 52 bits and a half: exact in a double, strictly inside (0, 1) */
        u = ((double) (h >> 12) + 0.5) / 4503599627370496.0;

        if (count == n
            && m[i].weight / (1.0 - u) * (1.0 + 1e-9) < score[n - 1])
        {
            continue;
        }

        s = -m[i].weight / log(u);

        /* insertion into the n best so far */

        for (j = (ngx_int_t) ngx_min(count, n) - 1; j >= 0; j--) {
            o = order[j];

            if (score[j] > s
                || (score[j] == s
                    && ngx_memn2cmp(m[o].id.data, m[i].id.data,
                                    m[o].id.len, m[i].id.len)
                       < 0))
            {
                break;
            }

            if ((ngx_uint_t) j + 1 < n) {
                order[j + 1] = o;
                score[j + 1] = score[j];
            }
        }

        if ((ngx_uint_t) (j + 1) < n) {
            order[j + 1] = i;
            score[j + 1] = s;
        }

        if (count < n) {
            count++;
        }
    }

    return count;
}


static void
ngx_http_tier_sync(ngx_http_tier_group_t *group)
{
    ngx_uint_t               i;
    ngx_http_tier_member_t  *m;

    /*
     * The version is bumped after every change, under the lock: while it
     * matches this worker's copy, the copy is current and no lock is
     * taken at all.
     */

    if (group->version == group->sh->version) {
        return;
    }

    m = group->members.elts;

    ngx_shmtx_lock(&group->shpool->mutex);

    for (i = 0; i < group->members.nelts; i++) {
        group->down[i] = group->sh->slots[m[i].slot].down;
    }

    group->version = group->sh->version;

    ngx_shmtx_unlock(&group->shpool->mutex);
}


static uint64_t
ngx_http_tier_fnv1a64(u_char *p, size_t len)
{
    uint64_t  h;

    h = NGX_HTTP_TIER_FNV_OFFSET;

    while (len--) {
        h ^= *p++;
        h *= NGX_HTTP_TIER_FNV_PRIME;
    }

    return h;
}


static uint64_t
ngx_http_tier_fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;

    return x;
}


/* group names and member ids: 1 to 64 bytes of A-Z a-z 0-9 . _ - : ~ */

static ngx_int_t
ngx_http_tier_valid_id(ngx_str_t *id)
{
    u_char      c;
    ngx_uint_t  i;

    if (id->len == 0 || id->len > NGX_HTTP_TIER_ID_MAX) {
        return NGX_ERROR;
    }

    for (i = 0; i < id->len; i++) {
        c = id->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '.' || c == '_' || c == '-' || c == ':' || c == '~')
        {
            continue;
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_tier_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_tier_group_t  *ogroup = data;

    ngx_uint_t               i, j, changed;
    ngx_slab_pool_t         *shpool;
    ngx_http_tier_slot_t    *slot;
    ngx_http_tier_group_t   *group;
    ngx_http_tier_member_t  *m, *om;

    group = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    group->shpool = shpool;

    group->sh = ngx_http_live_shm_init(shm_zone, ogroup ? ogroup->sh : NULL,
                                       sizeof(ngx_http_tier_shctx_t),
                                       "tier_group", &changed);
    if (group->sh == NULL) {
        return NGX_ERROR;
    }

    /*
     * Map the configured members onto slots by id.  A member keeps its
     * run-time state over a reload unless its configured state changed
     * (the operator's latest word wins); a new member takes its
     * configured state.  The master does this before workers start,
     * while old workers may still read: hence the lock.
     */

    m = group->members.elts;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < group->members.nelts; i++) {

        om = NULL;

        if (ogroup) {
            om = ngx_http_tier_find_member(ogroup, m[i].id.data,
                                           m[i].id.len);
        }

        slot = ngx_http_tier_find_slot(group->sh, &m[i].id);

        if (slot == NULL) {

            for (j = 0; j < NGX_HTTP_TIER_SLOTS; j++) {
                if (group->sh->slots[j].len == 0) {
                    break;
                }
            }

            if (j == NGX_HTTP_TIER_SLOTS) {

                /* reclaim the slots of members gone from this config */

                for (j = 0; j < NGX_HTTP_TIER_SLOTS; j++) {
                    slot = &group->sh->slots[j];

                    if (ngx_http_tier_find_member(group, slot->id,
                                                  slot->len)
                        == NULL)
                    {
                        slot->len = 0;
                    }
                }

                for (j = 0; j < NGX_HTTP_TIER_SLOTS; j++) {
                    if (group->sh->slots[j].len == 0) {
                        break;
                    }
                }
            }

            slot = &group->sh->slots[j];
            ngx_memcpy(slot->id, m[i].id.data, m[i].id.len);
            slot->len = (u_char) m[i].id.len;
            slot->down = (u_char) m[i].down;
            changed = 1;

        } else if (om == NULL || om->down != m[i].down) {

            if (slot->down != m[i].down) {
                slot->down = (u_char) m[i].down;
                changed = 1;
            }
        }

        if (om == NULL
            || om->weight != m[i].weight
            || om->addr.len != m[i].addr.len
            || ngx_strncmp(om->addr.data, m[i].addr.data, m[i].addr.len)
               != 0)
        {
            changed = 1;
        }

        m[i].slot = slot - group->sh->slots;
    }

    if (ogroup && ogroup->members.nelts != group->members.nelts) {
        changed = 1;
    }

    if (changed) {
        ngx_memory_barrier();
        group->sh->version++;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


static ngx_http_tier_slot_t *
ngx_http_tier_find_slot(ngx_http_tier_shctx_t *sh, ngx_str_t *id)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_TIER_SLOTS; i++) {
        if (sh->slots[i].len == id->len
            && ngx_memcmp(sh->slots[i].id, id->data, id->len) == 0)
        {
            return &sh->slots[i];
        }
    }

    return NULL;
}


static ngx_http_tier_member_t *
ngx_http_tier_find_member(ngx_http_tier_group_t *group, u_char *id,
    size_t len)
{
    ngx_uint_t               i;
    ngx_http_tier_member_t  *m;

    m = group->members.elts;

    for (i = 0; i < group->members.nelts; i++) {
        if (m[i].id.len == len && ngx_memcmp(m[i].id.data, id, len) == 0) {
            return &m[i];
        }
    }

    return NULL;
}


static void *
ngx_http_tier_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_tier_main_conf_t  *tmcf;

    tmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_tier_main_conf_t));
    if (tmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&tmcf->groups, cf->pool, 4,
                       sizeof(ngx_http_tier_group_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&tmcf->lookups, cf->pool, 4,
                       sizeof(ngx_http_tier_lookup_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return tmcf;
}


static void *
ngx_http_tier_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_tier_loc_conf_t  *tlcf;

    tlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_tier_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     tlcf->group = NULL;
     */

    tlcf->ttl = NGX_CONF_UNSET;
    tlcf->lookup = NGX_CONF_UNSET_PTR;

    return tlcf;
}


static char *
ngx_http_tier_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_tier_loc_conf_t  *prev = parent;
    ngx_http_tier_loc_conf_t  *conf = child;

    ngx_conf_merge_sec_value(conf->ttl, prev->ttl, 30);
    ngx_conf_merge_ptr_value(conf->lookup, prev->lookup, NULL);

    return NGX_CONF_OK;
}


static char *
ngx_http_tier_group_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                   *rv;
    ngx_str_t              *value, name;
    ngx_conf_t              save;
    ngx_http_tier_group_t  *group;

    value = cf->args->elts;

    if (ngx_http_tier_valid_id(&value[1]) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid tier_group name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    group = ngx_http_tier_get_group(cf, &value[1]);
    if (group == NULL) {
        return NGX_CONF_ERROR;
    }

    if (group->defined) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate tier_group \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    group->defined = 1;

    if (ngx_array_init(&group->members, cf->pool, 4,
                       sizeof(ngx_http_tier_member_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    group->records_size = NGX_CONF_UNSET_SIZE;
    group->expire = NGX_CONF_UNSET_MSEC;

    save = *cf;
    cf->handler = ngx_http_tier_member;
    cf->handler_conf = (char *) group;

    rv = ngx_conf_parse(cf, NULL);

    /* cf->args now holds the last member's words: use group->name */

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (group->members.nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no members in tier_group \"%V\"", &group->name);
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_size_value(group->records_size, 1024 * 1024);
    ngx_conf_init_msec_value(group->expire, 90000);


    name.len = sizeof("tier_") - 1 + group->name.len;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(name.data, "tier_%V", &group->name);

    group->shm_zone = ngx_http_live_shm_add(cf, &name,
                                    ngx_align(sizeof(ngx_http_tier_shctx_t),
                                              ngx_pagesize)
                                    + 8 * ngx_pagesize,
                                    &ngx_http_tier_module,
                                    ngx_http_tier_init_zone, group);
    if (group->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (group->records_group) {
        /* another group's records: resolved in postconfiguration */
        return NGX_CONF_OK;
    }

    /* the records: their own zone, so that resizing them keeps the state */

    name.len = sizeof("tier__records") - 1 + group->name.len;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(name.data, "tier_%V_records", &group->name);

    group->records = ngx_http_live_zone_add(cf, &name, group->records_size,
                                            &ngx_http_tier_module,
                                            "tier_group records");
    if (group->records == NULL) {
        return NGX_CONF_ERROR;
    }

    group->records->node_size = sizeof(ngx_http_tier_record_t);
    group->records->inactive = ngx_http_tier_record_inactive;
    group->records->free = ngx_http_tier_record_free;
    group->records->data = group;

    return NGX_CONF_OK;
}


static char *
ngx_http_tier_member(ngx_conf_t *cf, ngx_command_t *dummy, void *conf)
{
    ngx_http_tier_group_t  *group = (ngx_http_tier_group_t *) conf;

    u_char                  *p;
    ngx_int_t                weight;
    ngx_str_t               *value;
    ngx_url_t                u;
    ngx_uint_t               i;
    ngx_http_tier_member_t  *m;

    value = cf->args->elts;

    if (value[0].len == sizeof("records") - 1
        && ngx_strncmp(value[0].data, "records", sizeof("records") - 1) == 0)
    {
        return ngx_http_tier_records(cf, group);
    }

    if (value[0].len != sizeof("member") - 1
        || ngx_strncmp(value[0].data, "member", sizeof("member") - 1) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown directive \"%V\" in tier_group",
                           &value[0]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts < 3 || cf->args->nelts > 5) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of arguments in \"member\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_tier_valid_id(&value[1]) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid member id \"%V\", "
                           "use 1 to 64 of A-Z a-z 0-9 . _ - : ~",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_tier_find_member(group, value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate member id \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (group->members.nelts == NGX_HTTP_TIER_MAX_MEMBERS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many members in tier_group, at most %d",
                           NGX_HTTP_TIER_MAX_MEMBERS);
        return NGX_CONF_ERROR;
    }

    /* nginx-rtmp follows IP literals only, and needs the port */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[2];
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK
        || u.naddrs != 1 || u.no_port || u.uri.len || u.port == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid member address \"%V\", "
                           "an IP address and a port are required",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    m = ngx_array_push(&group->members);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(m, sizeof(ngx_http_tier_member_t));

    m->id = value[1];
    m->addr = u.addrs[0].name;
    m->hash = ngx_http_tier_fmix64(ngx_http_tier_fnv1a64(m->id.data,
                                                         m->id.len));
    weight = 100;

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "weight=", 7) == 0) {

            weight = ngx_atoi(&value[i].data[7], value[i].len - 7);

            if (weight < 1 || weight > NGX_HTTP_TIER_WEIGHT_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid weight \"%V\", "
                                   "use 1 to %d", &value[i],
                                   NGX_HTTP_TIER_WEIGHT_MAX);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "down") == 0) {
            m->down = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    m->weight = (double) weight;

    /* the answer's per-member JSON, made once */

    m->json.len = sizeof("{\"id\":\"\",\"addr\":\"\"}") - 1
                  + m->id.len + m->addr.len;

    p = ngx_pnalloc(cf->pool, m->json.len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    m->json.data = p;

    ngx_sprintf(p, "{\"id\":\"%V\",\"addr\":\"%V\"}", &m->id, &m->addr);

    return NGX_CONF_OK;
}


/* records size [expire=time] | records group=name */

static char *
ngx_http_tier_records(ngx_conf_t *cf, ngx_http_tier_group_t *group)
{
    ssize_t     size;
    ngx_str_t  *value, s;
    ngx_msec_t  expire;

    value = cf->args->elts;

    if (group->records_size != NGX_CONF_UNSET_SIZE || group->records_group) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"records\" is duplicate");
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts < 2 || cf->args->nelts > 3) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of arguments in \"records\"");
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2 && ngx_strncmp(value[1].data, "group=", 6) == 0) {
        s.data = value[1].data + 6;
        s.len = value[1].len - 6;

        if (s.len == group->name.len
            && ngx_strncmp(s.data, group->name.data, s.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"records\" of a group cannot be its own");
            return NGX_CONF_ERROR;
        }

        group->records_group = ngx_http_tier_get_group(cf, &s);
        if (group->records_group == NULL) {
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid records size \"%V\", at least %uz "
                           "bytes", &value[1], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    group->records_size = size;
    group->expire = 90000;

    if (cf->args->nelts == 3) {

        if (ngx_strncmp(value[2].data, "expire=", 7) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        s.data = value[2].data + 7;
        s.len = value[2].len - 7;

        expire = ngx_parse_time(&s, 0);

        if (expire == (ngx_msec_t) NGX_ERROR || expire < 1000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid records expire \"%V\", at least "
                               "1s", &value[2]);
            return NGX_CONF_ERROR;
        }

        group->expire = expire;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_tier_enum(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_tier_set_handler(cf, conf, ngx_http_tier_enum_handler);
}


static char *
ngx_http_tier_admin(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_tier_set_handler(cf, conf, ngx_http_tier_admin_handler);
}


static char *
ngx_http_tier_set_handler(ngx_conf_t *cf, ngx_http_tier_loc_conf_t *tlcf,
    ngx_http_handler_pt handler)
{
    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (tlcf->group) {
        return "is duplicate";
    }

    value = cf->args->elts;

    tlcf->group = ngx_http_tier_get_group(cf, &value[1]);
    if (tlcf->group == NULL) {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = handler;

    return NGX_CONF_OK;
}


/* groups may be used before they are defined, as upstreams can */

static ngx_http_tier_group_t *
ngx_http_tier_get_group(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                  i;
    ngx_http_tier_group_t     **gp, *group;
    ngx_http_tier_main_conf_t  *tmcf;

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_tier_module);

    gp = tmcf->groups.elts;

    for (i = 0; i < tmcf->groups.nelts; i++) {
        if (gp[i]->name.len == name->len
            && ngx_strncmp(gp[i]->name.data, name->data, name->len) == 0)
        {
            return gp[i];
        }
    }

    group = ngx_pcalloc(cf->pool, sizeof(ngx_http_tier_group_t));
    if (group == NULL) {
        return NULL;
    }

    group->name = *name;
    group->file_name = cf->conf_file->file.name.data;
    group->line = cf->conf_file->line;

    gp = ngx_array_push(&tmcf->groups);
    if (gp == NULL) {
        return NULL;
    }

    *gp = group;

    return group;
}


static char *
ngx_http_tier_lookup(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tier_loc_conf_t  *tlcf = conf;

    ngx_http_tier_main_conf_t  *tmcf;

    if (tlcf->lookup != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_tier_module);

    return ngx_http_tier_lookup_conf(cf, &tlcf->lookup, &tmcf->lookups);
}


static ngx_int_t
ngx_http_tier_lookup_handler(ngx_http_request_t *r)
{
    ngx_http_tier_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tier_module);

    /*
     * a background subrequest may be the lookup's own fetch, in a
     * location that inherits tier_lookup: it would wait for itself
     */

    if (tlcf->lookup == NULL || r->background) {
        return NGX_DECLINED;
    }

    return ngx_http_tier_lookup_access(r, tlcf->lookup);
}


static ngx_int_t
ngx_http_tier_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                  i;
    ngx_http_handler_pt        *h;
    ngx_http_tier_group_t     **gp;
    ngx_http_core_main_conf_t  *cmcf;
    ngx_http_tier_main_conf_t  *tmcf;

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_tier_module);

    if (ngx_http_tier_select_init(cf, &tmcf->lookups) != NGX_OK) {
        return NGX_ERROR;
    }

    if (tmcf->lookups.nelts) {
        cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

        h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = ngx_http_tier_lookup_handler;

        /*
         * subrequests skip the access phase, and "satisfy any" may skip
         * the handler: the lookup runs then before the content phase
         */

        h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = ngx_http_tier_lookup_handler;
    }

    gp = tmcf->groups.elts;

    for (i = 0; i < tmcf->groups.nelts; i++) {
        if (!gp[i]->defined) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown tier_group \"%V\" in %s:%ui",
                          &gp[i]->name, gp[i]->file_name, gp[i]->line);
            return NGX_ERROR;
        }
    }

    /* "records group=": one protocol's group reads another's records */

    for (i = 0; i < tmcf->groups.nelts; i++) {

        if (gp[i]->records_group == NULL) {
            continue;
        }

        if (gp[i]->records_group->records_group) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "tier_group \"%V\" takes the records of \"%V\", "
                          "which takes another group's",
                          &gp[i]->name, &gp[i]->records_group->name);
            return NGX_ERROR;
        }

        gp[i]->records = gp[i]->records_group->records;
        gp[i]->expire = gp[i]->records_group->expire;
    }

    return NGX_OK;
}
