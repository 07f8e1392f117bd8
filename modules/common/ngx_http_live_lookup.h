
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_LIVE_LOOKUP_H_INCLUDED_
#define _NGX_HTTP_LIVE_LOOKUP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_live_common.h"
#include "ngx_http_live_zone.h"


/*
 * The lookup cache of SPEC 1.1: answers of an outside service, fetched
 * with in-memory subrequests to an internal location, kept in an LRU
 * zone of the kit (ngx_http_live_zone.h) that every worker sees.
 *
 * Use: ngx_http_live_lookup_zone_add() from the directive that declares
 * the zone (then set refresh, stale, ... as the directive says); the
 * referring directives keep the ngx_shm_zone_t of that name;
 * ngx_http_live_lookup_init() from the module's postconfiguration; per
 * request, ngx_http_live_lookup().  One fetch per key is in flight
 * across all workers; it outlives the client that started it, and a
 * fetch cut short by a client never counts as a failure of the service.
 */


#define NGX_HTTP_LIVE_LOOKUP_NONE   0      /* no usable answer */
#define NGX_HTTP_LIVE_LOOKUP_FRESH  1      /* the last refresh succeeded */
#define NGX_HTTP_LIVE_LOOKUP_STALE  2      /* refreshes fail since then */


typedef struct {
    ngx_http_live_zone_t           *lru;     /* lru->data is this */

    ngx_msec_t                      refresh;
    ngx_msec_t                      stale;
    ngx_msec_t                      inactive;
    ngx_msec_t                      lock;    /* longest claim of a fetch */
    ngx_msec_t                      retry;   /* back-off after a failure */
    ngx_msec_t                      poll;    /* first re-check of a waiter */

    /* this worker's requests that wait for a fetch of another one */
    ngx_queue_t                     waiting;
} ngx_http_live_lookup_zone_t;


/*
 * The parser of a service answer: reads status and body, and on
 * success sets value (what gets cached; any pool memory) and ttl
 * (seconds; 0 means "use the zone's refresh"); on failure returns
 * NGX_DECLINED with err set to a static text for the error log.
 */

typedef struct {
    ngx_uint_t                      status;
    ngx_str_t                       body;
    ngx_str_t                       value;
    time_t                          ttl;
    char                           *err;
} ngx_http_live_lookup_answer_t;

typedef ngx_int_t (*ngx_http_live_lookup_parse_pt)(ngx_http_request_t *r,
    ngx_http_live_lookup_answer_t *a, void *data);


/*
 * One lookup of one request: allocated zeroed by the caller (in its own
 * request ctx), the "in" fields set before the first call; the same
 * structure is passed again when the request is resumed.
 */

typedef struct {
    /* in */
    ngx_str_t                       key;
    ngx_str_t                       uri;
    ngx_str_t                       args;
    ngx_http_live_lookup_parse_pt   parse;
    void                           *data;

    /* out, when ngx_http_live_lookup() returns NGX_OK */
    ngx_str_t                       value;
    time_t                          ttl;     /* remaining seconds */
    ngx_uint_t                      source;

    /* private */
    ngx_http_request_t             *request;
    ngx_http_live_lookup_zone_t    *zone;
    uint32_t                        hash;
    ngx_uint_t                      state;
    ngx_msec_t                      started;
    ngx_event_t                     wake;
    ngx_queue_t                     queue;
    void                           *fetch;
} ngx_http_live_lookup_t;


/* from the postconfiguration of every module that uses the cache */
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_lookup_init(ngx_conf_t *cf);

NGX_HTTP_LIVE_HIDDEN
ngx_http_live_lookup_zone_t *ngx_http_live_lookup_zone_add(ngx_conf_t *cf,
    ngx_str_t *name, size_t size, void *tag);

/*
 * NGX_OK: the "out" fields are set; NGX_AGAIN: the request waits and its
 * r->write_event_handler is called when it should call again; NGX_ERROR.
 */
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_lookup(ngx_http_request_t *r,
    ngx_shm_zone_t *shm_zone, ngx_http_live_lookup_t *lk);


#endif /* _NGX_HTTP_LIVE_LOOKUP_H_INCLUDED_ */
