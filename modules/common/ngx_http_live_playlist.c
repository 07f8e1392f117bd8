
/*
 * Copyright (C) nginx-live-cdn authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_live_playlist.h"


#define ngx_http_live_playlist_tag(p, last, tag)                             \
    ((size_t) ((last) - (p)) >= sizeof(tag) - 1                              \
     && ngx_strncmp(p, tag, sizeof(tag) - 1) == 0)

#define ngx_http_live_playlist_is_tag(p, last, tag)                          \
    ((size_t) ((last) - (p)) == sizeof(tag) - 1                              \
     && ngx_strncmp(p, tag, sizeof(tag) - 1) == 0)


static ngx_int_t ngx_http_live_playlist_header_tag(
    ngx_http_live_playlist_t *pl, u_char *p, u_char *line, u_char *last,
    ngx_uint_t header);
static ngx_uint_t ngx_http_live_playlist_known(ngx_http_live_playlist_t *pl);
static uint64_t ngx_http_live_playlist_before(ngx_http_live_playlist_t *pl,
    ngx_uint_t i);
static ngx_int_t ngx_http_live_playlist_number(u_char *p, u_char *last,
    uint64_t *value);
static ngx_uint_t ngx_http_live_playlist_digits(uint64_t value);
static u_char *ngx_http_live_playlist_write_number(u_char *dst,
    uint64_t value);
static ngx_uint_t ngx_http_live_playlist_segment_tag(u_char *p,
    u_char *last);


ngx_int_t
ngx_http_live_playlist_parse(u_char *p, size_t len,
    ngx_http_live_playlist_t *pl)
{
    size_t                             start, next, key_start, key_end,
                                       map_start, map_end;
    u_char                            *line, *last, *end;
    ngx_int_t                          rc;
    ngx_uint_t                         header, disc;
    ngx_http_live_playlist_segment_t  *seg;

    ngx_memzero(pl, sizeof(ngx_http_live_playlist_t));

    pl->len = len;

    header = 1;
    disc = 0;
    start = 0;
    key_start = 0;
    key_end = 0;
    map_start = 0;
    map_end = 0;

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
            if (!ngx_http_live_playlist_is_tag(line, last, "#EXTM3U")) {
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
                                % NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS];

            seg->start = start;
            seg->end = next;
            seg->key_start = key_start;
            seg->key_end = key_end;
            seg->map_start = map_start;
            seg->map_end = map_end;
            seg->discontinuities = disc;

            pl->nsegments++;
            pl->ndiscontinuities += disc;

            start = next;
            disc = 0;
            continue;
        }

        rc = ngx_http_live_playlist_header_tag(pl, p, line, last, header);

        if (rc == NGX_ERROR) {
            return NGX_DECLINED;
        }

        if (rc == NGX_OK) {
            continue;
        }

        if (!ngx_http_live_playlist_segment_tag(line, last)) {
            /* a playlist tag or a comment: stays where it is */
            continue;
        }

        if (header) {
            header = 0;
            pl->header_end = line - p;
            start = pl->header_end;
        }

        if (ngx_http_live_playlist_is_tag(line, last, "#EXT-X-DISCONTINUITY"))
        {
            disc++;

        } else if (ngx_http_live_playlist_tag(line, last, "#EXT-X-KEY:")) {
            key_start = line - p;
            key_end = last - p;

        } else if (ngx_http_live_playlist_tag(line, last, "#EXT-X-MAP:")) {
            map_start = line - p;
            map_end = last - p;
        }
    }

    if (pl->target_duration == 0 || pl->nsegments == 0) {
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


void
ngx_http_live_playlist_first(ngx_http_live_playlist_t *pl, ngx_uint_t n,
    ngx_http_live_playlist_view_t *view,
    ngx_http_live_playlist_timeline_t *tl)
{
    if (n > pl->nsegments) {
        n = pl->nsegments;
    }

    if (n > NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS) {
        n = NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS;
    }

    view->first = pl->nsegments - n;
    view->ms = pl->media_sequence + view->first;
    view->ds = pl->discontinuity_sequence
               + ngx_http_live_playlist_before(pl, view->first);

    tl->floor = pl->media_sequence + view->first;
    tl->end = pl->media_sequence + pl->nsegments;
    tl->shift = 0;
    tl->dsn = pl->discontinuity_sequence + pl->ndiscontinuities;
}


ngx_int_t
ngx_http_live_playlist_update(ngx_http_live_playlist_t *pl,
    ngx_http_live_playlist_timeline_t *tl,
    ngx_http_live_playlist_view_t *view)
{
    uint64_t    ms, last, told, total, known, base, up, down;
    ngx_uint_t  lo, first;

    total = pl->discontinuity_sequence + pl->ndiscontinuities;

    lo = ngx_http_live_playlist_known(pl);

    /* the terminal's numbers are the playlist's plus tl->shift */

    if (tl->end == 0
        || tl->floor >= tl->end
        || tl->shift > (uint64_t) -1 - pl->media_sequence - pl->nsegments)
    {
        goto restart;
    }

    told = tl->end - 1;
    ms = pl->media_sequence + tl->shift;
    last = ms + pl->nsegments - 1;

    if (last < told) {

        /*
         * The playlist went back behind the terminal's last segment (a
         * stream restarted with nginx-rtmp's "hls_continuous off"): its
         * segments are numbered on from there, as a stream that was
         * never interrupted would have been.
         */

        if (told >= (uint64_t) -1 - pl->nsegments) {
            goto restart;
        }

        tl->shift = tl->end - pl->media_sequence;
        ms = tl->end;
        last = ms + pl->nsegments - 1;
    }

    /*
     * The stock discontinuity sequence number of the terminal's last
     * segment; if that has left the window, of the point just before the
     * first segment known, as if no discontinuity was in the gap.
     */

    if (told >= ms + lo) {
        known = pl->discontinuity_sequence
                + ngx_http_live_playlist_before(pl,
                                                (ngx_uint_t) (told - ms)
                                                + 1);
    } else {
        known = pl->discontinuity_sequence
                + ngx_http_live_playlist_before(pl, lo);
    }

    up = (tl->dsn > known) ? tl->dsn - known : 0;
    down = (known > tl->dsn) ? known - tl->dsn : 0;

    /* never before the terminal's last answer */

    first = (tl->floor > ms) ? (ngx_uint_t) (tl->floor - ms) : 0;

    if (first == 0 && up == 0 && down == 0 && tl->shift == 0) {
        tl->floor = ms;
        tl->end = last + 1;
        tl->dsn = total;
        return NGX_OK;
    }

    if (first < lo) {
        first = lo;
    }

    base = pl->discontinuity_sequence
           + ngx_http_live_playlist_before(pl, first);

    if (base < down || total - down > (uint64_t) -1 - up) {
        goto restart;
    }

    view->first = first;
    view->ms = ms + first;
    view->ds = base - down + up;

    tl->floor = ms + first;
    tl->end = last + 1;
    tl->dsn = total - down + up;

    return NGX_AGAIN;

restart:

    /* a new timeline, or one that cannot go on: it starts here */

    tl->floor = pl->media_sequence;
    tl->end = pl->media_sequence + pl->nsegments;
    tl->dsn = total;
    tl->shift = 0;

    return NGX_OK;
}


size_t
ngx_http_live_playlist_size(ngx_http_live_playlist_t *pl,
    ngx_http_live_playlist_view_t *view)
{
    size_t                             size;
    ngx_http_live_playlist_segment_t  *seg;

    seg = &pl->segments[view->first % NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS];

    size = pl->header_end + ngx_http_live_playlist_digits(view->ms);

    if (pl->has_ms) {
        size -= pl->ms_end - pl->ms_start;

    } else {
        size += sizeof("#EXT-X-MEDIA-SEQUENCE:\n") - 1;
    }

    if (pl->has_ds) {
        size += ngx_http_live_playlist_digits(view->ds)
                - (pl->ds_end - pl->ds_start);

    } else if (view->ds) {
        size += sizeof("#EXT-X-DISCONTINUITY-SEQUENCE:\n") - 1
                + ngx_http_live_playlist_digits(view->ds);
    }

    if (seg->key_end > seg->key_start && seg->key_start < seg->start) {
        size += seg->key_end - seg->key_start + 1;
    }

    if (seg->map_end > seg->map_start && seg->map_start < seg->start) {
        size += seg->map_end - seg->map_start + 1;
    }

    return size + pl->len - seg->start;
}


u_char *
ngx_http_live_playlist_render(ngx_http_live_playlist_t *pl, u_char *src,
    ngx_http_live_playlist_view_t *view, u_char *dst)
{
    size_t                             pos;
    uint64_t                           ms, ds;
    ngx_http_live_playlist_segment_t  *seg;

    seg = &pl->segments[view->first % NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS];
    ms = view->ms;
    ds = view->ds;

    /*
     * The header, with the sequence numbers of the first listed segment;
     * MEDIA-SEQUENCE and DISCONTINUITY-SEQUENCE may come in either order.
     */

    pos = 0;

    if (pl->has_ds && (!pl->has_ms || pl->ds_start < pl->ms_start)) {
        dst = ngx_cpymem(dst, src, pl->ds_start);
        dst = ngx_http_live_playlist_write_number(dst, ds);
        pos = pl->ds_end;
    }

    if (pl->has_ms) {
        dst = ngx_cpymem(dst, src + pos, pl->ms_start - pos);
        dst = ngx_http_live_playlist_write_number(dst, ms);
        pos = pl->ms_end;
    }

    if (pl->has_ds && pl->has_ms && pl->ds_start > pl->ms_start) {
        dst = ngx_cpymem(dst, src + pos, pl->ds_start - pos);
        dst = ngx_http_live_playlist_write_number(dst, ds);
        pos = pl->ds_end;
    }

    dst = ngx_cpymem(dst, src + pos, pl->header_end - pos);

    if (!pl->has_ms) {
        dst = ngx_cpymem(dst, "#EXT-X-MEDIA-SEQUENCE:",
                         sizeof("#EXT-X-MEDIA-SEQUENCE:") - 1);
        dst = ngx_http_live_playlist_write_number(dst, ms);
        *dst++ = '\n';
    }

    /* dropped discontinuities are counted (nginx-rtmp writes no tag) */

    if (!pl->has_ds && ds) {
        dst = ngx_cpymem(dst, "#EXT-X-DISCONTINUITY-SEQUENCE:",
                         sizeof("#EXT-X-DISCONTINUITY-SEQUENCE:") - 1);
        dst = ngx_http_live_playlist_write_number(dst, ds);
        *dst++ = '\n';
    }

    /*
     * The key and the media initialization section in effect for the
     * first listed segment, if set before it: both apply until replaced
     * (RFC 8216 4.3.2.4, 4.3.2.5).
     */

    if (seg->key_end > seg->key_start && seg->key_start < seg->start) {
        dst = ngx_cpymem(dst, src + seg->key_start,
                         seg->key_end - seg->key_start);
        *dst++ = '\n';
    }

    if (seg->map_end > seg->map_start && seg->map_start < seg->start) {
        dst = ngx_cpymem(dst, src + seg->map_start,
                         seg->map_end - seg->map_start);
        *dst++ = '\n';
    }

    return ngx_cpymem(dst, src + seg->start, pl->len - seg->start);
}


/*
 * The playlist tags a trimmed playlist's header depends on: NGX_OK, taken;
 * NGX_ERROR, not a media playlist we can trim (a master playlist, or a
 * tag after the first segment or twice); NGX_DECLINED, another line.
 */

static ngx_int_t
ngx_http_live_playlist_header_tag(ngx_http_live_playlist_t *pl, u_char *p,
    u_char *line, u_char *last, ngx_uint_t header)
{
    uint64_t  value;

    if (ngx_http_live_playlist_tag(line, last, "#EXT-X-STREAM-INF:")
        || ngx_http_live_playlist_tag(line, last,
                                      "#EXT-X-I-FRAME-STREAM-INF:"))
    {
        pl->master = 1;
        return NGX_ERROR;
    }

    if (ngx_http_live_playlist_tag(line, last, "#EXT-X-TARGETDURATION:")) {
        /* a header tag: a trimmed playlist must keep it */

        if (!header || pl->target_duration) {
            return NGX_ERROR;
        }

        line += sizeof("#EXT-X-TARGETDURATION:") - 1;

        if (ngx_http_live_playlist_number(line, last, &value) != NGX_OK
            || value == 0 || value > 86400)
        {
            return NGX_ERROR;
        }

        pl->target_duration = (ngx_uint_t) value;
        return NGX_OK;
    }

    if (ngx_http_live_playlist_tag(line, last, "#EXT-X-MEDIA-SEQUENCE:")) {
        /* only valid before the first segment, and only once */

        if (!header || pl->has_ms) {
            return NGX_ERROR;
        }

        line += sizeof("#EXT-X-MEDIA-SEQUENCE:") - 1;

        if (ngx_http_live_playlist_number(line, last, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        pl->media_sequence = value;
        pl->ms_start = line - p;
        pl->ms_end = last - p;
        pl->has_ms = 1;
        return NGX_OK;
    }

    if (ngx_http_live_playlist_tag(line, last,
                                   "#EXT-X-DISCONTINUITY-SEQUENCE:"))
    {
        if (!header || pl->has_ds) {
            return NGX_ERROR;
        }

        line += sizeof("#EXT-X-DISCONTINUITY-SEQUENCE:") - 1;

        if (ngx_http_live_playlist_number(line, last, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        pl->discontinuity_sequence = value;
        pl->ds_start = line - p;
        pl->ds_end = last - p;
        pl->has_ds = 1;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* the index of the first segment whose lines the ring still has */

static ngx_uint_t
ngx_http_live_playlist_known(ngx_http_live_playlist_t *pl)
{
    if (pl->nsegments > NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS) {
        return pl->nsegments - NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS;
    }

    return 0;
}


/* EXT-X-DISCONTINUITY tags before segment i, which the ring must have */

static uint64_t
ngx_http_live_playlist_before(ngx_http_live_playlist_t *pl,
    ngx_uint_t i)
{
    uint64_t  n;

    n = pl->ndiscontinuities;

    for ( /* void */ ; i < pl->nsegments; i++) {
        n -= pl->segments[i % NGX_HTTP_LIVE_PLAYLIST_MAX_SEGMENTS]
             .discontinuities;
    }

    return n;
}


static ngx_int_t
ngx_http_live_playlist_number(u_char *p, u_char *last, uint64_t *value)
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
ngx_http_live_playlist_digits(uint64_t value)
{
    ngx_uint_t  n;

    for (n = 1; value >= 10; n++) {
        value /= 10;
    }

    return n;
}


static u_char *
ngx_http_live_playlist_write_number(u_char *dst, uint64_t value)
{
    u_char      *p;
    ngx_uint_t   n;

    n = ngx_http_live_playlist_digits(value);
    p = dst + n;

    do {
        *--p = (u_char) ('0' + value % 10);
        value /= 10;
    } while (value);

    return dst + n;
}


static ngx_uint_t
ngx_http_live_playlist_segment_tag(u_char *p, u_char *last)
{
    /* the media segment tags of RFC 8216 4.3.2 */

    return ngx_http_live_playlist_tag(p, last, "#EXTINF:")
           || ngx_http_live_playlist_is_tag(p, last, "#EXT-X-DISCONTINUITY")
           || ngx_http_live_playlist_tag(p, last, "#EXT-X-KEY:")
           || ngx_http_live_playlist_tag(p, last, "#EXT-X-BYTERANGE:")
           || ngx_http_live_playlist_tag(p, last, "#EXT-X-MAP:")
           || ngx_http_live_playlist_tag(p, last, "#EXT-X-PROGRAM-DATE-TIME:")
           || ngx_http_live_playlist_tag(p, last, "#EXT-X-DATERANGE:")
           || ngx_http_live_playlist_is_tag(p, last, "#EXT-X-GAP");
}
