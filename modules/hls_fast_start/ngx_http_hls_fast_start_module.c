
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_md5.h>
#include "ngx_http_live_common.h"
#include "ngx_http_live_zone.h"
#include "ngx_http_live_playlist.h"

#if (NGX_LINUX)
#include <sys/inotify.h>
#endif


/* stat poll period of a directory that inotify cannot watch */
#define NGX_HTTP_HLS_FAST_START_POLL  40


#define NGX_HTTP_HLS_FAST_START_NONE     0
#define NGX_HTTP_HLS_FAST_START_FIRST    1
#define NGX_HTTP_HLS_FAST_START_HELD     2
#define NGX_HTTP_HLS_FAST_START_TIMEOUT  3
#define NGX_HTTP_HLS_FAST_START_PASS     4


/* a terminal seen on a playlist: the key is the md5 of its key and URI */
typedef struct {
    ngx_http_live_zone_node_t        zn;
    ngx_msec_t                       expire;
    ngx_http_live_playlist_timeline_t  tl;
} ngx_http_hls_fast_start_node_t;


/* per worker: the directories with held requests */
typedef struct {
    ngx_queue_t                      dirs;
    ngx_connection_t                *inotify;
    ngx_uint_t                       inotify_failed;
    time_t                           watch_logged;
} ngx_http_hls_fast_start_main_conf_t;


typedef struct {
    ngx_shm_zone_t                  *shm_zone;
    ngx_uint_t                       fragments;
    ngx_msec_t                       wait;
    ngx_msec_t                       session;
    ngx_http_complex_value_t        *key;
} ngx_http_hls_fast_start_loc_conf_t;


typedef struct {
    ngx_queue_t                      queue;
    ngx_queue_t                      waiters;
    ngx_event_t                      poll;
    ngx_http_hls_fast_start_main_conf_t  *mcf;
    int                              wd;
    ngx_uint_t                       busy;
    size_t                           len;
    u_char                           path[1];
} ngx_http_hls_fast_start_dir_t;


typedef struct {
    ngx_http_request_t              *request;
    ngx_queue_t                      queue;
    ngx_http_hls_fast_start_dir_t   *dir;
    ngx_str_t                        path;
    ngx_str_t                        name;
    ngx_event_t                      timer;
    ngx_buf_t                       *answer;
    ngx_http_live_playlist_timeline_t  tl;
    ngx_uint_t                       state;
    ngx_uint_t                       fragments;
    ngx_file_uniq_t                  uniq;
    time_t                           mtime;
    off_t                            size;
    u_char                           md5[16];
    unsigned                         exists:1;
    unsigned                         waiting:1;
} ngx_http_hls_fast_start_ctx_t;


static ngx_int_t ngx_http_hls_fast_start_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hls_fast_start_first(ngx_http_request_t *r,
    ngx_http_hls_fast_start_loc_conf_t *lcf,
    ngx_http_hls_fast_start_ctx_t *ctx);
static ngx_int_t ngx_http_hls_fast_start_stock(ngx_http_request_t *r,
    ngx_http_hls_fast_start_loc_conf_t *lcf,
    ngx_http_hls_fast_start_ctx_t *ctx);
static ngx_int_t ngx_http_hls_fast_start_send(ngx_http_request_t *r,
    ngx_buf_t *b, time_t mtime);
static ngx_int_t ngx_http_hls_fast_start_read(ngx_http_request_t *r,
    ngx_str_t *path, ngx_pool_t *pool, ngx_open_file_info_t *of,
    u_char **data);
static ngx_int_t ngx_http_hls_fast_start_lookup(ngx_http_request_t *r,
    ngx_http_hls_fast_start_loc_conf_t *lcf, u_char *md5,
    ngx_http_live_playlist_timeline_t *tl);
static void ngx_http_hls_fast_start_store(ngx_http_request_t *r,
    ngx_http_hls_fast_start_loc_conf_t *lcf, u_char *md5,
    ngx_http_live_playlist_timeline_t *tl);
static ngx_http_hls_fast_start_node_t *ngx_http_hls_fast_start_find(
    ngx_http_live_zone_t *zone, u_char *md5);
static ngx_uint_t ngx_http_hls_fast_start_inactive(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *zn);
static ngx_http_hls_fast_start_dir_t *ngx_http_hls_fast_start_dir(
    ngx_http_request_t *r, ngx_http_hls_fast_start_main_conf_t *mcf,
    u_char *path, size_t len);
static ngx_int_t ngx_http_hls_fast_start_watch(
    ngx_http_hls_fast_start_dir_t *d, ngx_log_t *log);
static void ngx_http_hls_fast_start_dir_done(
    ngx_http_hls_fast_start_dir_t *d);
static ngx_uint_t ngx_http_hls_fast_start_changed(
    ngx_http_hls_fast_start_dir_t *d, u_char *name, size_t len);
static ngx_uint_t ngx_http_hls_fast_start_hold_on(
    ngx_http_hls_fast_start_ctx_t *ctx, ngx_open_file_info_t *of,
    ngx_http_live_playlist_t *pl);
static ngx_uint_t ngx_http_hls_fast_start_same_rules(ngx_http_request_t *r,
    ngx_http_core_loc_conf_t *rules);
static void ngx_http_hls_fast_start_answer(
    ngx_http_hls_fast_start_ctx_t *ctx, ngx_http_live_playlist_t *pl,
    u_char *data);
static void ngx_http_hls_fast_start_release(
    ngx_http_hls_fast_start_ctx_t *ctx, ngx_uint_t state);
static void ngx_http_hls_fast_start_release_all(
    ngx_http_hls_fast_start_main_conf_t *mcf);
static void ngx_http_hls_fast_start_timeout_handler(ngx_event_t *ev);
static void ngx_http_hls_fast_start_poll_handler(ngx_event_t *ev);
#if (NGX_LINUX)
static void ngx_http_hls_fast_start_inotify_open(
    ngx_http_hls_fast_start_main_conf_t *mcf, ngx_log_t *log);
static void ngx_http_hls_fast_start_inotify_handler(ngx_event_t *rev);
#endif
static void ngx_http_hls_fast_start_cleanup(void *data);
static ngx_int_t ngx_http_hls_fast_start_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void *ngx_http_hls_fast_start_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_hls_fast_start_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hls_fast_start_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_hls_fast_start_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hls_fast_start(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hls_fast_start_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hls_fast_start_positive(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_hls_fast_start_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_hls_fast_start_init(ngx_conf_t *cf);


static ngx_conf_num_bounds_t  ngx_http_hls_fast_start_fragments_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS
};


static ngx_conf_post_t  ngx_http_hls_fast_start_positive_post = {
    ngx_http_hls_fast_start_positive
};


static ngx_command_t  ngx_http_hls_fast_start_commands[] = {

    { ngx_string("hls_fast_start_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hls_fast_start_zone,
      0,
      0,
      NULL },

    { ngx_string("hls_fast_start"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hls_fast_start,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hls_fast_start_fragments"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hls_fast_start_loc_conf_t, fragments),
      &ngx_http_hls_fast_start_fragments_bounds },

    { ngx_string("hls_fast_start_wait"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hls_fast_start_loc_conf_t, wait),
      &ngx_http_hls_fast_start_positive_post },

    { ngx_string("hls_fast_start_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hls_fast_start_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hls_fast_start_loc_conf_t, key),
      NULL },

    { ngx_string("hls_fast_start_session"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hls_fast_start_loc_conf_t, session),
      &ngx_http_hls_fast_start_positive_post },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hls_fast_start_module_ctx = {
    ngx_http_hls_fast_start_add_variables, /* preconfiguration */
    ngx_http_hls_fast_start_init,          /* postconfiguration */

    ngx_http_hls_fast_start_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hls_fast_start_create_loc_conf, /* create location configuration */
    ngx_http_hls_fast_start_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_hls_fast_start_module = {
    NGX_MODULE_V1,
    &ngx_http_hls_fast_start_module_ctx,   /* module context */
    ngx_http_hls_fast_start_commands,      /* module directives */
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


static ngx_str_t  ngx_http_hls_fast_start_states[] = {
    ngx_null_string,
    ngx_string("first"),
    ngx_string("held"),
    ngx_string("timeout"),
    ngx_string("pass")
};


static ngx_str_t  ngx_http_hls_fast_start_default_key =
    ngx_string("$remote_addr$http_user_agent");


static ngx_http_variable_t  ngx_http_hls_fast_start_vars[] = {

    { ngx_string("hls_fast_start"), NULL,
      ngx_http_hls_fast_start_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_hls_fast_start_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_md5_t                            md5;
    ngx_str_t                            key;
    ngx_http_hls_fast_start_ctx_t       *ctx;
    ngx_http_hls_fast_start_loc_conf_t  *lcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hls_fast_start_module);

    if (ctx) {

        /* phases run again after a hold */

        if (ctx->waiting) {
            return NGX_AGAIN;
        }

        lcf = ngx_http_get_module_loc_conf(r, ngx_http_hls_fast_start_module);

        if (ctx->answer == NULL) {
            return ngx_http_hls_fast_start_stock(r, lcf, ctx);
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hls fast start: answer %uz bytes",
                       (size_t) (ctx->answer->last - ctx->answer->pos));

        /* a trimmed playlist is for this terminal only: no-store */

        ngx_http_finalize_request(r, ngx_http_live_send(r, NGX_HTTP_OK, NULL,
                                                        ctx->answer));
        return NGX_DONE;
    }

    if (r != r->main || !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_DECLINED;
    }

    if (r->exten.len != sizeof("m3u8") - 1
        || ngx_strncmp(r->exten.data, "m3u8", sizeof("m3u8") - 1) != 0)
    {
        return NGX_DECLINED;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_hls_fast_start_module);

    if (lcf->shm_zone == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_complex_value(r, lcf->key, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hls_fast_start_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->fragments = lcf->fragments;

    ngx_http_set_ctx(r, ctx, ngx_http_hls_fast_start_module);

    /* the terminal is the key on this playlist URI */

    ngx_md5_init(&md5);
    ngx_md5_update(&md5, key.data, key.len);
    ngx_md5_update(&md5, "\0", 1);
    ngx_md5_update(&md5, r->uri.data, r->uri.len);
    ngx_md5_final(ctx->md5, &md5);

    rc = ngx_http_hls_fast_start_lookup(r, lcf, ctx->md5, &ctx->tl);

    if (rc == NGX_ERROR) {
        return NGX_DECLINED;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hls fast start: pass, key \"%V\"", &key);
        ctx->state = NGX_HTTP_HLS_FAST_START_PASS;
        return ngx_http_hls_fast_start_stock(r, lcf, ctx);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hls fast start: first request, key \"%V\"", &key);

    ctx->state = NGX_HTTP_HLS_FAST_START_FIRST;

    if (ngx_exiting) {
        return ngx_http_hls_fast_start_stock(r, lcf, ctx);
    }

    return ngx_http_hls_fast_start_first(r, lcf, ctx);
}


static ngx_int_t
ngx_http_hls_fast_start_first(ngx_http_request_t *r,
    ngx_http_hls_fast_start_loc_conf_t *lcf,
    ngx_http_hls_fast_start_ctx_t *ctx)
{
    u_char                               *last, *p, *data;
    size_t                                root;
    time_t                                age;
    ngx_int_t                             rc;
    ngx_pool_t                           *pool;
    ngx_http_cleanup_t                   *cln;
    ngx_open_file_info_t                  of;
    ngx_http_hls_fast_start_dir_t        *d;
    ngx_http_live_playlist_t              pl;
    ngx_http_hls_fast_start_main_conf_t  *mcf;

    last = ngx_http_map_uri_to_path(r, &ctx->path, &root, 0);
    if (last == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->path.len = last - ctx->path.data;

    p = ngx_strlchr(ctx->path.data, last, '/');
    if (p == NULL) {
        return NGX_DECLINED;
    }

    for (p = last; p[-1] != '/'; p--) { /* void */ }

    ctx->name.data = p;
    ctx->name.len = last - p;

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_hls_fast_start_cleanup;
    cln->data = ctx;

    /*
     * Watch the directory before looking at the playlist, so that a
     * rename between the look and the hold is not missed.  A directory
     * that cannot be watched for any reason but "not there yet" is
     * answered at once, as the static module would.
     */

    mcf = ngx_http_get_module_main_conf(r, ngx_http_hls_fast_start_module);

    d = ngx_http_hls_fast_start_dir(r, mcf, ctx->path.data,
                                    p - 1 - ctx->path.data);
    if (d == NULL) {
        return NGX_DECLINED;
    }

    /* the playlist is read into a pool of its own, not kept while held */

    pool = ngx_create_pool(1024, r->connection->log);
    if (pool == NULL) {
        ngx_http_hls_fast_start_dir_done(d);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_hls_fast_start_read(r, &ctx->path, pool, &of, &data);

    if (rc == NGX_ERROR) {
        ngx_destroy_pool(pool);
        ngx_http_hls_fast_start_dir_done(d);
        return NGX_DECLINED;
    }

    if (rc == NGX_OK) {
        rc = ngx_http_live_playlist_parse(data, (size_t) of.size, &pl);
        ngx_destroy_pool(pool);

        if (rc != NGX_OK) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "hls fast start: \"%s\" is not a live media "
                           "playlist", ctx->path.data);
            ngx_http_hls_fast_start_dir_done(d);
            return NGX_DECLINED;
        }

        age = ngx_time() - of.mtime;

        if (age > (time_t) (2 * pl.target_duration)) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "hls fast start: stale playlist, %T s old, "
                           "target duration %ui", age, pl.target_duration);
            ngx_http_hls_fast_start_dir_done(d);
            return ngx_http_hls_fast_start_stock(r, lcf, ctx);
        }

        ctx->exists = 1;
        ctx->uniq = of.uniq;
        ctx->mtime = of.mtime;
        ctx->size = of.size;

    } else {
        ngx_destroy_pool(pool);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hls fast start: hold \"%V\" in \"%s\"%s", &ctx->name,
                   d->path, ctx->exists ? "" : ", no playlist yet");

    ctx->dir = d;
    ctx->waiting = 1;
    ngx_queue_insert_tail(&d->waiters, &ctx->queue);

    ctx->timer.handler = ngx_http_hls_fast_start_timeout_handler;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;

    ngx_add_timer(&ctx->timer, lcf->wait);

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_AGAIN;
}


/*
 * Any answer but a held one: the playlist as it is when it keeps to the
 * terminal's timeline, else that timeline's view of it.  Whatever cannot
 * be read or is not a media playlist goes to the static module, which
 * answers and logs it as it always does.
 */

static ngx_int_t
ngx_http_hls_fast_start_stock(ngx_http_request_t *r,
    ngx_http_hls_fast_start_loc_conf_t *lcf,
    ngx_http_hls_fast_start_ctx_t *ctx)
{
    u_char                         *last, *data;
    size_t                          root;
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_open_file_info_t            of;
    ngx_http_live_playlist_t        pl;
    ngx_http_live_playlist_view_t   view;

    if (ctx->path.data == NULL) {
        last = ngx_http_map_uri_to_path(r, &ctx->path, &root, 0);
        if (last == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->path.len = last - ctx->path.data;
    }

    if (ngx_http_hls_fast_start_read(r, &ctx->path, r->pool, &of, &data)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ngx_http_live_playlist_parse(data, (size_t) of.size, &pl) != NGX_OK) {
        return NGX_DECLINED;
    }

    rc = ngx_http_live_playlist_update(&pl, &ctx->tl, &view);

    ngx_http_hls_fast_start_store(r, lcf, ctx->md5, &ctx->tl);

    if (rc == NGX_OK) {
        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->pos = data;
        b->last = data + of.size;
        b->memory = 1;

        ngx_http_finalize_request(r, ngx_http_hls_fast_start_send(r, b,
                                                                  of.mtime));
        return NGX_DONE;
    }

    b = ngx_create_temp_buf(r->pool, ngx_http_live_playlist_size(&pl, &view));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_http_live_playlist_render(&pl, data, &view, b->pos);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hls fast start: reload from %uL, discontinuity "
                   "sequence %uL of %uL", view.ms, view.ds,
                   pl.discontinuity_sequence);

    ngx_http_finalize_request(r, ngx_http_live_send(r, NGX_HTTP_OK, NULL, b));
    return NGX_DONE;
}


/* the playlist as the static module would send it */

static ngx_int_t
ngx_http_hls_fast_start_send(ngx_http_request_t *r, ngx_buf_t *b,
    time_t mtime)
{
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.last_modified_time = mtime;

    if (ngx_http_set_etag(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_set_content_type(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->allow_ranges = 1;

    return ngx_http_live_send_body(r, b);
}


/*
 * Opens the playlist as the static module would (disable_symlinks and
 * all), never through open_file_cache, whose descriptor would be an old
 * playlist; reads it into "pool".  NGX_DECLINED: it does not exist (yet);
 * NGX_ERROR: anything else, for the static module to answer.
 */

static ngx_int_t
ngx_http_hls_fast_start_read(ngx_http_request_t *r, ngx_str_t *path,
    ngx_pool_t *pool, ngx_open_file_info_t *of, u_char **data)
{
    u_char                    *buf;
    ssize_t                    n;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ngx_memzero(of, sizeof(ngx_open_file_info_t));

    of->read_ahead = clcf->read_ahead;
    of->directio = NGX_OPEN_FILE_DIRECTIO_OFF;
    of->valid = clcf->open_file_cache_valid;
    of->min_uses = clcf->open_file_cache_min_uses;
    of->errors = clcf->open_file_cache_errors;
    of->events = clcf->open_file_cache_events;

    if (ngx_http_set_disable_symlinks(r, clcf, path, of) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_open_cached_file(NULL, path, of, pool) != NGX_OK) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, of->err,
                       "hls fast start: %s \"%V\" failed%s", of->failed,
                       path, of->err == NGX_ENOENT ? ", not yet" : "");

        return (of->err == NGX_ENOENT) ? NGX_DECLINED : NGX_ERROR;
    }

    if (!of->is_file) {
        return NGX_ERROR;
    }

    if (of->size > NGX_HTTP_LIVE_PLAYLIST_MAX_SIZE) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hls fast start: playlist \"%V\" too big, %O bytes",
                      path, of->size);
        ngx_pool_run_cleanup_file(pool, of->fd);
        return NGX_ERROR;
    }

    buf = ngx_pnalloc(pool, (size_t) of->size + 1);
    if (buf == NULL) {
        ngx_pool_run_cleanup_file(pool, of->fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(of->fd, buf, (size_t) of->size);

    if (n != (ssize_t) of->size) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                      "hls fast start: " ngx_read_fd_n " \"%V\" returned "
                      "%z bytes of %O", path, n, of->size);
        ngx_pool_run_cleanup_file(pool, of->fd);
        return NGX_ERROR;
    }

    /* the bytes are all we need: no descriptor kept while held */

    ngx_pool_run_cleanup_file(pool, of->fd);

    *data = buf;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hls_fast_start_lookup(ngx_http_request_t *r,
    ngx_http_hls_fast_start_loc_conf_t *lcf, u_char *md5,
    ngx_http_live_playlist_timeline_t *tl)
{
    ngx_int_t                        rc;
    ngx_str_t                        key;
    ngx_msec_t                       now;
    ngx_rbtree_key_t                 hash;
    ngx_http_live_zone_t            *zone;
    ngx_http_hls_fast_start_node_t  *fs;

    zone = lcf->shm_zone->data;
    now = ngx_current_msec;

    key.data = md5;
    key.len = 16;
    ngx_memcpy(&hash, md5, sizeof(ngx_rbtree_key_t));

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_http_live_zone_expire(zone, 2);

    fs = (ngx_http_hls_fast_start_node_t *)
             ngx_http_live_zone_find(zone, &key, hash);

    if (fs) {

        /* an idle terminal is new again */

        if ((ngx_msec_int_t) (now - fs->expire) > 0) {
            rc = NGX_OK;
            fs->tl.end = 0;

        } else {
            rc = NGX_DECLINED;
            *tl = fs->tl;
        }

        fs->expire = now + lcf->session;
        ngx_http_live_zone_touch(zone, &fs->zn);

        ngx_shmtx_unlock(&zone->shpool->mutex);

        return rc;
    }

    /* a full zone forgets the least recently seen terminals */

    fs = (ngx_http_hls_fast_start_node_t *)
             ngx_http_live_zone_insert(zone, &key, hash);

    if (fs == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    fs->expire = now + lcf->session;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


/*
 * After an answer: the terminal's session goes on from now, with the
 * timeline "tl" if there is one (a terminal evicted meanwhile is not
 * brought back).
 */

static void
ngx_http_hls_fast_start_store(ngx_http_request_t *r,
    ngx_http_hls_fast_start_loc_conf_t *lcf, u_char *md5,
    ngx_http_live_playlist_timeline_t *tl)
{
    ngx_http_live_zone_t            *zone;
    ngx_http_hls_fast_start_node_t  *fs;

    zone = lcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    fs = ngx_http_hls_fast_start_find(zone, md5);

    if (fs) {
        fs->expire = ngx_current_msec + lcf->session;

        if (tl) {
            fs->tl = *tl;
        }

        ngx_http_live_zone_touch(zone, &fs->zn);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* the terminal's node, the zone locked */

static ngx_http_hls_fast_start_node_t *
ngx_http_hls_fast_start_find(ngx_http_live_zone_t *zone, u_char *md5)
{
    ngx_str_t         key;
    ngx_rbtree_key_t  hash;

    key.data = md5;
    key.len = 16;
    ngx_memcpy(&hash, md5, sizeof(ngx_rbtree_key_t));

    return (ngx_http_hls_fast_start_node_t *)
               ngx_http_live_zone_find(zone, &key, hash);
}


/* a terminal idle for its session may go */

static ngx_uint_t
ngx_http_hls_fast_start_inactive(ngx_http_live_zone_t *zone,
    ngx_http_live_zone_node_t *zn)
{
    ngx_http_hls_fast_start_node_t  *fs;

    fs = (ngx_http_hls_fast_start_node_t *) zn;

    return (ngx_msec_int_t) (ngx_current_msec - fs->expire) > 0;
}


static ngx_http_hls_fast_start_dir_t *
ngx_http_hls_fast_start_dir(ngx_http_request_t *r,
    ngx_http_hls_fast_start_main_conf_t *mcf, u_char *path, size_t len)
{
    ngx_queue_t                    *q;
    ngx_http_hls_fast_start_dir_t  *d;

    for (q = ngx_queue_head(&mcf->dirs);
         q != ngx_queue_sentinel(&mcf->dirs);
         q = ngx_queue_next(q))
    {
        d = ngx_queue_data(q, ngx_http_hls_fast_start_dir_t, queue);

        if (d->len == len && ngx_strncmp(d->path, path, len) == 0) {
            return d;
        }
    }

    d = ngx_alloc(sizeof(ngx_http_hls_fast_start_dir_t) + len, ngx_cycle->log);
    if (d == NULL) {
        return NULL;
    }

    ngx_memzero(d, sizeof(ngx_http_hls_fast_start_dir_t));

    ngx_memcpy(d->path, path, len);
    d->path[len] = '\0';
    d->len = len;
    d->wd = -1;
    d->mcf = mcf;

    ngx_queue_init(&d->waiters);
    ngx_queue_insert_tail(&mcf->dirs, &d->queue);

    d->poll.handler = ngx_http_hls_fast_start_poll_handler;
    d->poll.data = d;
    d->poll.log = ngx_cycle->log;
    d->poll.cancelable = 1;

    if (ngx_http_hls_fast_start_watch(d, r->connection->log) == NGX_ERROR) {
        ngx_http_hls_fast_start_dir_done(d);
        return NULL;
    }

    if (d->wd == -1) {
        ngx_add_timer(&d->poll, NGX_HTTP_HLS_FAST_START_POLL);
    }

    return d;
}


/*
 * NGX_OK: watched; NGX_DECLINED: to be polled (no inotify, or a nested
 * stream directory that is not there yet); NGX_ERROR: it cannot be, and
 * its requests are answered at once, as the static module would.
 */

static ngx_int_t
ngx_http_hls_fast_start_watch(ngx_http_hls_fast_start_dir_t *d,
    ngx_log_t *log)
{
#if (NGX_LINUX)

    ngx_err_t                             err;
    ngx_http_hls_fast_start_main_conf_t  *mcf;

    mcf = d->mcf;

    if (mcf->inotify == NULL && !mcf->inotify_failed) {
        ngx_http_hls_fast_start_inotify_open(mcf, log);
    }

    if (mcf->inotify == NULL) {
        return NGX_DECLINED;
    }

    /* nginx-rtmp renames the playlist into place; others rewrite it */

    d->wd = inotify_add_watch(mcf->inotify->fd, (char *) d->path,
                              IN_MOVED_TO|IN_CLOSE_WRITE|IN_ONLYDIR);

    if (d->wd == -1) {
        err = ngx_errno;

        /* a nested stream directory appears when the stream starts */

        if (err == NGX_ENOENT) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                           "hls fast start: no \"%s\" yet, polling",
                           d->path);
            return NGX_DECLINED;
        }

        /*
         * The static module logs what is wrong with the path itself; the
         * watch limit (ENOSPC) is ours to say, once a minute at most.
         */

        if (err == NGX_ENOSPC || err == NGX_ENOMEM) {
            if (ngx_time() - mcf->watch_logged >= 60) {
                mcf->watch_logged = ngx_time();
                ngx_log_error(NGX_LOG_WARN, log, err,
                              "hls fast start: inotify_add_watch(\"%s\") "
                              "failed, answering at once", d->path);
            }

        } else {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, err,
                           "hls fast start: inotify_add_watch(\"%s\") "
                           "failed", d->path);
        }

        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "hls fast start: watch %d \"%s\"", d->wd, d->path);

    return NGX_OK;

#else

    return NGX_DECLINED;

#endif
}


static void
ngx_http_hls_fast_start_dir_done(ngx_http_hls_fast_start_dir_t *d)
{
#if (NGX_LINUX)
    ngx_queue_t                    *q;
    ngx_http_hls_fast_start_dir_t  *o;
#endif

    if (d->busy || !ngx_queue_empty(&d->waiters)) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hls fast start: unwatch \"%s\"", d->path);

    if (d->poll.timer_set) {
        ngx_del_timer(&d->poll);
    }

    ngx_queue_remove(&d->queue);

#if (NGX_LINUX)
    if (d->wd != -1 && d->mcf->inotify) {

        /* another path to the same directory may still use the watch */

        for (q = ngx_queue_head(&d->mcf->dirs);
             q != ngx_queue_sentinel(&d->mcf->dirs);
             q = ngx_queue_next(q))
        {
            o = ngx_queue_data(q, ngx_http_hls_fast_start_dir_t, queue);

            if (o->wd == d->wd) {
                break;
            }
        }

        if (q == ngx_queue_sentinel(&d->mcf->dirs)) {
            (void) inotify_rm_watch(d->mcf->inotify->fd, d->wd);
        }
    }
#endif

    ngx_free(d);
}


/*
 * Wakes the requests held for the file "name" in "d" if it differs from
 * what they saw.  Returns how many it released: none means the queue is
 * unchanged.
 */

static ngx_uint_t
ngx_http_hls_fast_start_changed(ngx_http_hls_fast_start_dir_t *d,
    u_char *name, size_t len)
{
    u_char                         *data;
    ngx_int_t                       rc;
    ngx_uint_t                      n;
    ngx_pool_t                     *pool;
    ngx_queue_t                    *q, *next, ready;
    ngx_open_file_info_t            of;
    ngx_http_live_playlist_t        pl;
    ngx_http_core_loc_conf_t       *rules;
    ngx_http_hls_fast_start_ctx_t  *ctx;

    ngx_queue_init(&ready);

    data = NULL;
    pool = NULL;
    rules = NULL;
    rc = NGX_ERROR;

    for (q = ngx_queue_head(&d->waiters);
         q != ngx_queue_sentinel(&d->waiters);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_hls_fast_start_ctx_t, queue);

        if (ctx->name.len != len
            || ngx_strncmp(ctx->name.data, name, len) != 0)
        {
            continue;
        }

        /*
         * The playlist is read and parsed once for all its waiters, with
         * the first one's rules (disable_symlinks), into a pool of its own
         * that outlives them (so not with their connection's log).
         */

        if (pool == NULL) {
            pool = ngx_create_pool(1024, ngx_cycle->log);
            if (pool == NULL) {
                return 0;
            }

            /* location confs outlive the requests, unlike "ctx" */

            rules = ngx_http_get_module_loc_conf(ctx->request,
                                                 ngx_http_core_module);

            rc = ngx_http_hls_fast_start_read(ctx->request, &ctx->path, pool,
                                              &of, &data);

            if (rc == NGX_DECLINED) {
                /* gone again: wait for the next event */
                ngx_destroy_pool(pool);
                return 0;
            }

            if (rc == NGX_OK) {
                rc = ngx_http_live_playlist_parse(data, (size_t) of.size,
                                                  &pl);
                if (rc == NGX_DECLINED) {
                    ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log,
                                  0, "hls fast start: \"%V\" is not a "
                                  "media playlist", &ctx->path);
                    rc = NGX_ERROR;
                }
            }
        }

        if (data && ngx_http_hls_fast_start_hold_on(ctx, &of,
                                                    rc == NGX_OK ? &pl : NULL))
        {
            continue;
        }

        ngx_queue_remove(q);
        ngx_queue_insert_tail(&ready, q);
    }

    n = 0;

    d->busy++;

    while (!ngx_queue_empty(&ready)) {
        q = ngx_queue_head(&ready);
        ctx = ngx_queue_data(q, ngx_http_hls_fast_start_ctx_t, queue);

        /* back in the directory queue, so that release unlinks it */

        ngx_queue_remove(q);
        ngx_queue_insert_tail(&d->waiters, q);

        n++;

        /*
         * Unreadable or not a media playlist, or read with symlink rules
         * other than the request's own: the stock answer, as the static
         * module gives it under the request's rules.
         */

        if (rc != NGX_OK
            || !ngx_http_hls_fast_start_same_rules(ctx->request, rules))
        {
            ngx_http_hls_fast_start_release(ctx,
                                            NGX_HTTP_HLS_FAST_START_FIRST);
            continue;
        }

        ngx_http_hls_fast_start_answer(ctx, &pl, data);
    }

    if (pool) {
        ngx_destroy_pool(pool);
    }

    d->busy--;
    ngx_http_hls_fast_start_dir_done(d);

    return n;
}


/*
 * Whether a held request stays held on the playlist just read: it is the
 * one the request has seen (an older event), or "pl" is a stream that has
 * just started (its window does not slide yet) with fewer fragments than
 * the answer lists, on which a player would start with too little buffer.
 */

static ngx_uint_t
ngx_http_hls_fast_start_hold_on(ngx_http_hls_fast_start_ctx_t *ctx,
    ngx_open_file_info_t *of, ngx_http_live_playlist_t *pl)
{
    if (ctx->exists
        && ctx->uniq == of->uniq
        && ctx->mtime == of->mtime
        && ctx->size == of->size)
    {
        return 1;
    }

    if (pl == NULL
        || pl->nsegments >= ctx->fragments
        || pl->media_sequence != 0)
    {
        return 0;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "hls fast start: hold \"%V\" on, %ui of %ui fragments",
                   &ctx->name, pl->nsegments, ctx->fragments);

    ctx->exists = 1;
    ctx->uniq = of->uniq;
    ctx->mtime = of->mtime;
    ctx->size = of->size;

    return 1;
}


/* whether "r" opens files under the symlink rules of "rules" */

static ngx_uint_t
ngx_http_hls_fast_start_same_rules(ngx_http_request_t *r,
    ngx_http_core_loc_conf_t *rules)
{
#if (NGX_HAVE_OPENAT)
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    return clcf->disable_symlinks == rules->disable_symlinks
           && clcf->disable_symlinks_from == rules->disable_symlinks_from;
#else
    return 1;
#endif
}


/* a held request's answer: the last fragments of "pl" */

static void
ngx_http_hls_fast_start_answer(ngx_http_hls_fast_start_ctx_t *ctx,
    ngx_http_live_playlist_t *pl, u_char *data)
{
    ngx_buf_t                      *b;
    ngx_http_live_playlist_view_t   view;

    ngx_http_live_playlist_first(pl, ctx->fragments, &view, &ctx->tl);

    b = ngx_create_temp_buf(ctx->request->pool,
                            ngx_http_live_playlist_size(pl, &view));

    if (b == NULL) {
        ctx->tl.end = 0;
        ngx_http_hls_fast_start_release(ctx, NGX_HTTP_HLS_FAST_START_FIRST);
        return;
    }

    b->last = ngx_http_live_playlist_render(pl, data, &view, b->pos);
    ctx->answer = b;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "hls fast start: wake \"%V\", %ui of %ui fragments",
                   &ctx->name, pl->nsegments - view.first, pl->nsegments);

    ngx_http_hls_fast_start_release(ctx, NGX_HTTP_HLS_FAST_START_HELD);
}


static void
ngx_http_hls_fast_start_release(ngx_http_hls_fast_start_ctx_t *ctx,
    ngx_uint_t state)
{
    ngx_connection_t                    *c;
    ngx_http_request_t                  *r;
    ngx_http_hls_fast_start_loc_conf_t  *lcf;

    r = ctx->request;
    c = r->connection;

    ngx_queue_remove(&ctx->queue);
    ctx->waiting = 0;
    ctx->state = state;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    /*
     * A long hold must not age the terminal out of its session; a held
     * answer starts its timeline.
     */

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_hls_fast_start_module);
    ngx_http_hls_fast_start_store(r, lcf, ctx->md5,
                                  ctx->answer ? &ctx->tl : NULL);

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_hls_fast_start_release_all(ngx_http_hls_fast_start_main_conf_t *mcf)
{
    ngx_queue_t                    *q, *next;
    ngx_http_hls_fast_start_ctx_t  *ctx;
    ngx_http_hls_fast_start_dir_t  *d;

    for (q = ngx_queue_head(&mcf->dirs);
         q != ngx_queue_sentinel(&mcf->dirs);
         q = next)
    {
        d = ngx_queue_data(q, ngx_http_hls_fast_start_dir_t, queue);

        d->busy++;

        while (!ngx_queue_empty(&d->waiters)) {
            ctx = ngx_queue_data(ngx_queue_head(&d->waiters),
                                 ngx_http_hls_fast_start_ctx_t, queue);

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                           "hls fast start: release \"%V\" on exit",
                           &ctx->name);

            ngx_http_hls_fast_start_release(ctx,
                                            NGX_HTTP_HLS_FAST_START_TIMEOUT);
        }

        d->busy--;

        next = ngx_queue_next(q);
        ngx_http_hls_fast_start_dir_done(d);
    }
}


static void
ngx_http_hls_fast_start_timeout_handler(ngx_event_t *ev)
{
    ngx_http_hls_fast_start_ctx_t  *ctx;
    ngx_http_hls_fast_start_dir_t  *d;

    ctx = ev->data;
    d = ctx->dir;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "hls fast start: wait for \"%V\" timed out", &ctx->name);

    d->busy++;
    ngx_http_hls_fast_start_release(ctx, NGX_HTTP_HLS_FAST_START_TIMEOUT);
    d->busy--;

    ngx_http_hls_fast_start_dir_done(d);
}


static void
ngx_http_hls_fast_start_poll_handler(ngx_event_t *ev)
{
    ngx_int_t                       changed;
    ngx_queue_t                    *q;
    ngx_file_info_t                 fi;
    ngx_http_hls_fast_start_dir_t  *d;
    ngx_http_hls_fast_start_ctx_t  *ctx;

    d = ev->data;

    if (ngx_exiting) {
        ngx_http_hls_fast_start_release_all(d->mcf);
        return;
    }

    /*
     * A nested stream directory may have appeared: watch it from now, or,
     * if it cannot be watched, answer its requests at once.
     */

    d->busy++;

    if (ngx_http_hls_fast_start_watch(d, ev->log) == NGX_ERROR) {

        while (!ngx_queue_empty(&d->waiters)) {
            ctx = ngx_queue_data(ngx_queue_head(&d->waiters),
                                 ngx_http_hls_fast_start_ctx_t, queue);

            ngx_http_hls_fast_start_release(ctx,
                                            NGX_HTTP_HLS_FAST_START_FIRST);
        }
    }

    do {
        changed = 0;

        for (q = ngx_queue_head(&d->waiters);
             q != ngx_queue_sentinel(&d->waiters);
             q = ngx_queue_next(q))
        {
            ctx = ngx_queue_data(q, ngx_http_hls_fast_start_ctx_t, queue);

            if (ngx_file_info(ctx->path.data, &fi) == NGX_FILE_ERROR) {
                continue;
            }

            if (ctx->exists
                && ctx->uniq == ngx_file_uniq(&fi)
                && ctx->mtime == ngx_file_mtime(&fi)
                && ctx->size == ngx_file_size(&fi))
            {
                continue;
            }

            /* the queue changes under a release: look again */

            if (ngx_http_hls_fast_start_changed(d, ctx->name.data,
                                                ctx->name.len))
            {
                changed = 1;
                break;
            }
        }

    } while (changed);

    d->busy--;

    if (d->wd == -1 && !ngx_queue_empty(&d->waiters)) {
        ngx_add_timer(&d->poll, NGX_HTTP_HLS_FAST_START_POLL);
    }

    ngx_http_hls_fast_start_dir_done(d);
}


#if (NGX_LINUX)

static void
ngx_http_hls_fast_start_inotify_open(ngx_http_hls_fast_start_main_conf_t *mcf,
    ngx_log_t *log)
{
    int                fd;
    ngx_connection_t  *c;

    fd = inotify_init1(IN_NONBLOCK|IN_CLOEXEC);

    if (fd == -1) {
        ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                      "hls fast start: inotify_init1() failed, polling");
        mcf->inotify_failed = 1;
        return;
    }

    c = ngx_get_connection(fd, ngx_cycle->log);
    if (c == NULL) {
        (void) close(fd);
        return;
    }

    /*
     * An idle connection: on a graceful shutdown or reload nginx calls
     * its read handler with c->close set, and the held requests go.
     */

    c->data = mcf;
    c->idle = 1;
    c->read->handler = ngx_http_hls_fast_start_inotify_handler;
    c->read->log = c->log;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) == NGX_ERROR) {
        ngx_close_connection(c);
        return;
    }

    mcf->inotify = c;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "hls fast start: inotify fd %d", fd);
}


static void
ngx_http_hls_fast_start_inotify_handler(ngx_event_t *rev)
{
    u_char                               *p;
    ssize_t                               n;
    ngx_err_t                             err;
    ngx_queue_t                          *q, *next;
    ngx_connection_t                     *c;
    struct inotify_event                 *ev;
    ngx_http_hls_fast_start_dir_t        *d;
    ngx_http_hls_fast_start_main_conf_t  *mcf;
    u_char                                buf[4096]
        __attribute__ ((aligned(__alignof__(struct inotify_event))));

    c = rev->data;
    mcf = c->data;

    if (c->close) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, rev->log, 0,
                       "hls fast start: shutting down");

        mcf->inotify = NULL;
        mcf->inotify_failed = 1;
        ngx_close_connection(c);

        ngx_http_hls_fast_start_release_all(mcf);
        return;
    }

    for ( ;; ) {

        n = read(c->fd, buf, sizeof(buf));

        if (n == -1) {
            err = ngx_errno;

            if (err == NGX_EINTR) {
                continue;
            }

            if (err != NGX_EAGAIN) {
                ngx_log_error(NGX_LOG_ALERT, rev->log, err,
                              "hls fast start: inotify read() failed");
            }

            return;
        }

        for (p = buf; p < buf + n; p += sizeof(struct inotify_event) + ev->len)
        {
            ev = (struct inotify_event *) p;

            /*
             * Every directory with this watch: two paths to one directory
             * (a symlink, two aliases) share it.  "d" is pinned while its
             * requests are woken; others may go meanwhile, and are
             * unlinked when they do.
             */

            for (q = ngx_queue_head(&mcf->dirs);
                 q != ngx_queue_sentinel(&mcf->dirs);
                 q = next)
            {
                d = ngx_queue_data(q, ngx_http_hls_fast_start_dir_t, queue);
                next = ngx_queue_next(q);

                if (ev->mask & IN_Q_OVERFLOW) {

                    /* events were lost: every directory looks for itself */

                    if (!d->poll.timer_set) {
                        ngx_add_timer(&d->poll, 1);
                    }

                    continue;
                }

                if (d->wd != ev->wd) {
                    continue;
                }

                if (ev->mask & IN_IGNORED) {

                    /* the directory is gone: poll until it is back */

                    ngx_log_error(NGX_LOG_INFO, rev->log, 0,
                                  "hls fast start: \"%s\" unwatched, "
                                  "polling", d->path);

                    d->wd = -1;

                    if (!d->poll.timer_set) {
                        ngx_add_timer(&d->poll, 1);
                    }

                    continue;
                }

                if (ev->len == 0) {
                    continue;
                }

                ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rev->log, 0,
                               "hls fast start: inotify \"%s\" in \"%s\"",
                               ev->name, d->path);

                d->busy++;

                (void) ngx_http_hls_fast_start_changed(d, (u_char *) ev->name,
                                                       ngx_strlen(ev->name));

                next = ngx_queue_next(q);

                d->busy--;
                ngx_http_hls_fast_start_dir_done(d);
            }
        }
    }
}

#endif


static void
ngx_http_hls_fast_start_cleanup(void *data)
{
    ngx_http_hls_fast_start_ctx_t *ctx = data;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    if (!ctx->waiting) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "hls fast start: held request for \"%V\" gone",
                   &ctx->name);

    ngx_queue_remove(&ctx->queue);
    ctx->waiting = 0;

    ngx_http_hls_fast_start_dir_done(ctx->dir);
}


static ngx_int_t
ngx_http_hls_fast_start_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_hls_fast_start_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hls_fast_start_module);

    if (ctx == NULL || ctx->state == NGX_HTTP_HLS_FAST_START_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ngx_http_hls_fast_start_states[ctx->state].len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = ngx_http_hls_fast_start_states[ctx->state].data;

    return NGX_OK;
}


static void *
ngx_http_hls_fast_start_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hls_fast_start_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hls_fast_start_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->inotify = NULL;
     *     mcf->inotify_failed = 0;
     */

    ngx_queue_init(&mcf->dirs);

    return mcf;
}


static void *
ngx_http_hls_fast_start_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hls_fast_start_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hls_fast_start_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->shm_zone = NGX_CONF_UNSET_PTR;
    conf->fragments = NGX_CONF_UNSET_UINT;
    conf->wait = NGX_CONF_UNSET_MSEC;
    conf->session = NGX_CONF_UNSET_MSEC;
    conf->key = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_hls_fast_start_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_hls_fast_start_loc_conf_t *prev = parent;
    ngx_http_hls_fast_start_loc_conf_t *conf = child;

    ngx_http_compile_complex_value_t   ccv;

    ngx_conf_merge_ptr_value(conf->shm_zone, prev->shm_zone, NULL);
    ngx_conf_merge_uint_value(conf->fragments, prev->fragments, 2);
    ngx_conf_merge_msec_value(conf->wait, prev->wait, 10000);
    ngx_conf_merge_msec_value(conf->session, prev->session, 30000);
    ngx_conf_merge_ptr_value(conf->key, prev->key, NULL);

    if (conf->key) {
        return NGX_CONF_OK;
    }

    conf->key = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (conf->key == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &ngx_http_hls_fast_start_default_key;
    ccv.complex_value = conf->key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the parent shares the default, compiled once */

    if (prev->key == NULL) {
        prev->key = conf->key;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_hls_fast_start_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ssize_t                size;
    ngx_str_t             *value, name;
    ngx_http_live_zone_t  *zone;

    value = cf->args->elts;

    if (ngx_http_live_zone_parse(cf, &value[1], &name, &size) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    zone = ngx_http_live_zone_add(cf, &name, size,
                                  &ngx_http_hls_fast_start_module,
                                  "hls_fast_start_zone");
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->node_size = sizeof(ngx_http_hls_fast_start_node_t);
    zone->inactive = ngx_http_hls_fast_start_inactive;

    return NGX_CONF_OK;
}


static char *
ngx_http_hls_fast_start(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hls_fast_start_loc_conf_t *lcf = conf;

    ngx_str_t  *value;

    if (lcf->shm_zone != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        lcf->shm_zone = NULL;
        return NGX_CONF_OK;
    }

    /* the zone may be declared later; an undeclared one fails at start */

    lcf->shm_zone = ngx_shared_memory_add(cf, &value[1], 0,
                                          &ngx_http_hls_fast_start_module);
    if (lcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_hls_fast_start_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty key: every terminal would be the same");
        return NGX_CONF_ERROR;
    }

    return ngx_http_set_complex_value_slot(cf, cmd, conf);
}


static char *
ngx_http_hls_fast_start_positive(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *msp = data;

    if (*msp == 0) {
        return "must be positive";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hls_fast_start_add_variables(ngx_conf_t *cf)
{
    return ngx_http_live_add_variables(cf, ngx_http_hls_fast_start_vars);
}


static ngx_int_t
ngx_http_hls_fast_start_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_hls_fast_start_handler;

    return NGX_OK;
}
