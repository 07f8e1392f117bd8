
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hls_fast_start_playlist.h"


#define ngx_http_hls_fast_start_tag(p, last, tag)                            \
    ((size_t) ((last) - (p)) >= sizeof(tag) - 1                              \
     && ngx_strncmp(p, tag, sizeof(tag) - 1) == 0)

#define ngx_http_hls_fast_start_is_tag(p, last, tag)                         \
    ((size_t) ((last) - (p)) == sizeof(tag) - 1                              \
     && ngx_strncmp(p, tag, sizeof(tag) - 1) == 0)


static ngx_http_hls_fast_start_segment_t *ngx_http_hls_fast_start_window(
    ngx_http_hls_fast_start_playlist_t *pl, ngx_uint_t n, uint64_t *ms,
    uint64_t *ds);
static ngx_int_t ngx_http_hls_fast_start_number(u_char *p, u_char *last,
    uint64_t *value);
static ngx_uint_t ngx_http_hls_fast_start_digits(uint64_t value);
static u_char *ngx_http_hls_fast_start_write_number(u_char *dst,
    uint64_t value);
static ngx_uint_t ngx_http_hls_fast_start_segment_tag(u_char *p,
    u_char *last);


ngx_int_t
ngx_http_hls_fast_start_playlist_parse(u_char *p, size_t len,
    ngx_http_hls_fast_start_playlist_t *pl)
{
    size_t                              start, next, key_start, key_end;
    u_char                             *line, *last, *end;
    uint64_t                            value;
    ngx_uint_t                          header, disc, has_td;
    ngx_http_hls_fast_start_segment_t  *seg;

    ngx_memzero(pl, sizeof(ngx_http_hls_fast_start_playlist_t));

    pl->len = len;

    header = 1;
    has_td = 0;
    disc = 0;
    start = 0;
    key_start = 0;
    key_end = 0;

    end = p + len;

    for (line = p; line < end; line = p + next) {

        last = ngx_strlchr(line, end, '\n');

        if (last == NULL) {
            last = end;
            next = len;

        } else {
            next = last - p + 1;
        }

        if (last > line && last[-1] == '\r') {
            last--;
        }

        if (line == p) {
            if (!ngx_http_hls_fast_start_is_tag(line, last, "#EXTM3U")) {
                return NGX_DECLINED;
            }

            continue;
        }

        if (last == line) {
            continue;
        }

        if (*line != '#') {

            /* a URI line completes a segment */

            if (header) {
                header = 0;
                pl->header_end = line - p;
                start = pl->header_end;
            }

            seg = &pl->segments[pl->nsegments
                                % NGX_HTTP_HLS_FAST_START_MAX_FRAGMENTS];

            seg->start = start;
            seg->end = next;
            seg->key_start = key_start;
            seg->key_end = key_end;
            seg->discontinuities = disc;

            pl->nsegments++;
            pl->ndiscontinuities += disc;

            start = next;
            disc = 0;
            continue;
        }

        if (ngx_http_hls_fast_start_tag(line, last, "#EXT-X-STREAM-INF:")
            || ngx_http_hls_fast_start_tag(line, last,
                                           "#EXT-X-I-FRAME-STREAM-INF:"))
        {
            pl->master = 1;
            return NGX_DECLINED;
        }

        if (ngx_http_hls_fast_start_tag(line, last, "#EXT-X-TARGETDURATION:"))
        {
            /* a header tag: a trimmed playlist must keep it */

            if (!header || has_td) {
                return NGX_DECLINED;
            }

            line += sizeof("#EXT-X-TARGETDURATION:") - 1;

            if (ngx_http_hls_fast_start_number(line, last, &value) != NGX_OK
                || value == 0 || value > 86400)
            {
                return NGX_DECLINED;
            }

            pl->target_duration = (ngx_uint_t) value;
            has_td = 1;
            continue;
        }

        if (ngx_http_hls_fast_start_tag(line, last, "#EXT-X-MEDIA-SEQUENCE:"))
        {
            /* only valid before the first segment, and only once */

            if (!header || pl->has_ms) {
                return NGX_DECLINED;
            }

            line += sizeof("#EXT-X-MEDIA-SEQUENCE:") - 1;

            if (ngx_http_hls_fast_start_number(line, last, &value) != NGX_OK) {
                return NGX_DECLINED;
            }

            pl->media_sequence = value;
            pl->ms_start = line - p;
            pl->ms_end = last - p;
            pl->has_ms = 1;
            continue;
        }

        if (ngx_http_hls_fast_start_tag(line, last,
                                        "#EXT-X-DISCONTINUITY-SEQUENCE:"))
        {
            if (!header || pl->has_ds) {
                return NGX_DECLINED;
            }

            line += sizeof("#EXT-X-DISCONTINUITY-SEQUENCE:") - 1;

            if (ngx_http_hls_fast_start_number(line, last, &value) != NGX_OK) {
                return NGX_DECLINED;
            }

            pl->discontinuity_sequence = value;
            pl->ds_start = line - p;
            pl->ds_end = last - p;
            pl->has_ds = 1;
            continue;
        }

        if (!ngx_http_hls_fast_start_segment_tag(line, last)) {
            /* a playlist tag or a comment: stays where it is */
            continue;
        }

        if (header) {
            header = 0;
            pl->header_end = line - p;
            start = pl->header_end;
        }

        if (ngx_http_hls_fast_start_is_tag(line, last, "#EXT-X-DISCONTINUITY"))
        {
            disc++;

        } else if (ngx_http_hls_fast_start_tag(line, last, "#EXT-X-KEY:")) {
            key_start = line - p;
            key_end = last - p;
        }
    }

    if (!has_td || pl->nsegments == 0) {
        return NGX_DECLINED;
    }

    /* the new sequence numbers must not wrap */

    if (pl->media_sequence > (uint64_t) -1 - pl->nsegments
        || pl->discontinuity_sequence
           > (uint64_t) -1 - pl->ndiscontinuities)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


size_t
ngx_http_hls_fast_start_playlist_size(ngx_http_hls_fast_start_playlist_t *pl,
    ngx_uint_t n)
{
    size_t                              size;
    uint64_t                            ms, ds;
    ngx_http_hls_fast_start_segment_t  *seg;

    seg = ngx_http_hls_fast_start_window(pl, n, &ms, &ds);

    size = pl->header_end + ngx_http_hls_fast_start_digits(ms);

    if (pl->has_ms) {
        size -= pl->ms_end - pl->ms_start;

    } else {
        size += sizeof("#EXT-X-MEDIA-SEQUENCE:\n") - 1;
    }

    if (pl->has_ds) {
        size += ngx_http_hls_fast_start_digits(ds)
                - (pl->ds_end - pl->ds_start);
    }

    if (seg->key_end > seg->key_start && seg->key_start < seg->start) {
        size += seg->key_end - seg->key_start + 1;
    }

    return size + pl->len - seg->start;
}


u_char *
ngx_http_hls_fast_start_playlist_render(
    ngx_http_hls_fast_start_playlist_t *pl, u_char *src, ngx_uint_t n,
    u_char *dst)
{
    size_t                              pos;
    uint64_t                            ms, ds;
    ngx_http_hls_fast_start_segment_t  *seg;

    seg = ngx_http_hls_fast_start_window(pl, n, &ms, &ds);

    /*
     * The header, with the sequence numbers of the first listed segment;
     * MEDIA-SEQUENCE and DISCONTINUITY-SEQUENCE may come in either order.
     */

    pos = 0;

    if (pl->has_ds && (!pl->has_ms || pl->ds_start < pl->ms_start)) {
        dst = ngx_cpymem(dst, src, pl->ds_start);
        dst = ngx_http_hls_fast_start_write_number(dst, ds);
        pos = pl->ds_end;
    }

    if (pl->has_ms) {
        dst = ngx_cpymem(dst, src + pos, pl->ms_start - pos);
        dst = ngx_http_hls_fast_start_write_number(dst, ms);
        pos = pl->ms_end;
    }

    if (pl->has_ds && pl->has_ms && pl->ds_start > pl->ms_start) {
        dst = ngx_cpymem(dst, src + pos, pl->ds_start - pos);
        dst = ngx_http_hls_fast_start_write_number(dst, ds);
        pos = pl->ds_end;
    }

    dst = ngx_cpymem(dst, src + pos, pl->header_end - pos);

    if (!pl->has_ms) {
        dst = ngx_cpymem(dst, "#EXT-X-MEDIA-SEQUENCE:",
                         sizeof("#EXT-X-MEDIA-SEQUENCE:") - 1);
        dst = ngx_http_hls_fast_start_write_number(dst, ms);
        *dst++ = '\n';
    }

    /* the key in effect for the first listed segment, if set before it */

    if (seg->key_end > seg->key_start && seg->key_start < seg->start) {
        dst = ngx_cpymem(dst, src + seg->key_start,
                         seg->key_end - seg->key_start);
        *dst++ = '\n';
    }

    return ngx_cpymem(dst, src + seg->start, pl->len - seg->start);
}


/*
 * The last n segments (at most all, at most MAX_FRAGMENTS): returns the
 * first of them and the media and discontinuity sequence numbers it has.
 */

static ngx_http_hls_fast_start_segment_t *
ngx_http_hls_fast_start_window(ngx_http_hls_fast_start_playlist_t *pl,
    ngx_uint_t n, uint64_t *ms, uint64_t *ds)
{
    ngx_uint_t  i, first;

    if (n > pl->nsegments) {
        n = pl->nsegments;
    }

    if (n > NGX_HTTP_HLS_FAST_START_MAX_FRAGMENTS) {
        n = NGX_HTTP_HLS_FAST_START_MAX_FRAGMENTS;
    }

    first = pl->nsegments - n;

    *ms = pl->media_sequence + first;
    *ds = pl->discontinuity_sequence + pl->ndiscontinuities;

    for (i = first; i < pl->nsegments; i++) {
        *ds -= pl->segments[i % NGX_HTTP_HLS_FAST_START_MAX_FRAGMENTS]
               .discontinuities;
    }

    return &pl->segments[first % NGX_HTTP_HLS_FAST_START_MAX_FRAGMENTS];
}


static ngx_int_t
ngx_http_hls_fast_start_number(u_char *p, u_char *last, uint64_t *value)
{
    uint64_t  v;

    if (p == last || last - p > 20) {
        return NGX_ERROR;
    }

    for (v = 0; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        if (v > ((uint64_t) -1 - (*p - '0')) / 10) {
            return NGX_ERROR;
        }

        v = v * 10 + (*p - '0');
    }

    *value = v;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_hls_fast_start_digits(uint64_t value)
{
    ngx_uint_t  n;

    for (n = 1; value >= 10; n++) {
        value /= 10;
    }

    return n;
}


static u_char *
ngx_http_hls_fast_start_write_number(u_char *dst, uint64_t value)
{
    u_char      *p;
    ngx_uint_t   n;

    n = ngx_http_hls_fast_start_digits(value);
    p = dst + n;

    do {
        *--p = (u_char) ('0' + value % 10);
        value /= 10;
    } while (value);

    return dst + n;
}


static ngx_uint_t
ngx_http_hls_fast_start_segment_tag(u_char *p, u_char *last)
{
    /* the media segment tags of RFC 8216 4.3.2 */

    return ngx_http_hls_fast_start_tag(p, last, "#EXTINF:")
           || ngx_http_hls_fast_start_is_tag(p, last, "#EXT-X-DISCONTINUITY")
           || ngx_http_hls_fast_start_tag(p, last, "#EXT-X-KEY:")
           || ngx_http_hls_fast_start_tag(p, last, "#EXT-X-BYTERANGE:")
           || ngx_http_hls_fast_start_tag(p, last, "#EXT-X-MAP:")
           || ngx_http_hls_fast_start_tag(p, last,
                                          "#EXT-X-PROGRAM-DATE-TIME:")
           || ngx_http_hls_fast_start_tag(p, last, "#EXT-X-DATERANGE:")
           || ngx_http_hls_fast_start_is_tag(p, last, "#EXT-X-GAP");
}
