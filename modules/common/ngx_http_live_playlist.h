
/*
 * Copyright (C) nginx-live-cdn authors
 */


#ifndef _NGX_HTTP_LIVE_PLAYLIST_H_INCLUDED_
#define _NGX_HTTP_LIVE_PLAYLIST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_live_parse.h"


/* the most segments a trimmed playlist may list */
#define NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS  16

/* longest playlist read from disk */
#define NGX_HTTP_LIVE_PLAYLIST_MAX_SIZE      (1024 * 1024)


typedef struct {
    size_t                      start;     /* first byte of the segment's
                                              lines */
    size_t                      end;       /* byte after its URI line */
    size_t                      key_start; /* EXT-X-KEY line in effect */
    size_t                      key_end;
    size_t                      map_start; /* EXT-X-MAP line in effect */
    size_t                      map_end;
    ngx_uint_t                  discontinuities;
} ngx_http_live_playlist_segment_t;


typedef struct {
    uint64_t                    media_sequence;
    uint64_t                    discontinuity_sequence;
    ngx_uint_t                  target_duration;
    ngx_uint_t                  nsegments;
    ngx_uint_t                  ndiscontinuities;

    size_t                      len;
    size_t                      header_end;
    size_t                      ms_start;  /* MEDIA-SEQUENCE value */
    size_t                      ms_end;
    size_t                      ds_start;  /* DISCONTINUITY-SEQUENCE value */
    size_t                      ds_end;

    unsigned                    has_ms:1;
    unsigned                    has_ds:1;
    unsigned                    master:1;

    /* ring of the last NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS segments */
    ngx_http_live_playlist_segment_t
                        segments[NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS];
} ngx_http_live_playlist_t;


/*
 * What a terminal has been told: the MEDIA-SEQUENCE of its last answer,
 * the media sequence number after the last segment that answer listed
 * (0: no timeline yet) and that segment's discontinuity sequence number,
 * in its numbering: the playlist's media sequence numbers plus "shift"
 * (not 0 once the playlist went back).  Later answers keep to it
 * (RFC 8216 6.2.1, 6.2.2).  32 bytes: a zone node stays in a 128-byte
 * slab.
 */
typedef struct {
    uint64_t                    floor;
    uint64_t                    end;
    uint64_t                    dsn;
    uint64_t                    shift;
} ngx_http_live_playlist_timeline_t;


/* an answer: the segments from index "first" on, with these sequences */
typedef struct {
    ngx_uint_t                  first;
    uint64_t                    ms;
    uint64_t                    ds;
} ngx_http_live_playlist_view_t;


/*
 * Pure functions over the playlist bytes: no allocation and no nginx core
 * calls, so the parser builds and is fuzzed without nginx.
 *
 * parse: NGX_OK for a media playlist with at least one segment and a
 * target duration; NGX_DECLINED otherwise (master playlist, garbage).
 *
 * first: the view of the last n segments, and the timeline it starts.
 *
 * update: a reload of a terminal with timeline "tl" (updated in place):
 * NGX_OK if the playlist as it is keeps to it, NGX_AGAIN if "view" must
 * be rendered instead.
 */
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_playlist_parse(u_char *p, size_t len,
    ngx_http_live_playlist_t *pl);
NGX_HTTP_LIVE_HIDDEN
void ngx_http_live_playlist_first(ngx_http_live_playlist_t *pl, ngx_uint_t n,
    ngx_http_live_playlist_view_t *view,
    ngx_http_live_playlist_timeline_t *tl);
NGX_HTTP_LIVE_HIDDEN
ngx_int_t ngx_http_live_playlist_update(ngx_http_live_playlist_t *pl,
    ngx_http_live_playlist_timeline_t *tl,
    ngx_http_live_playlist_view_t *view);
NGX_HTTP_LIVE_HIDDEN
size_t ngx_http_live_playlist_size(ngx_http_live_playlist_t *pl,
    ngx_http_live_playlist_view_t *view);
NGX_HTTP_LIVE_HIDDEN
u_char *ngx_http_live_playlist_render(ngx_http_live_playlist_t *pl,
    u_char *src, ngx_http_live_playlist_view_t *view, u_char *dst);


#endif /* _NGX_HTTP_LIVE_PLAYLIST_H_INCLUDED_ */
