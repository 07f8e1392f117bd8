#!/usr/bin/env python3
"""Reference implementation of the tier enumeration hash (README.md,
"ngx_http_tier_module", "The hash"), independent of the C module.

    util/tier-hash.py                    print the test vectors (Markdown)
    util/tier-hash.py KEY ID[:W] ...     print the order for KEY, best first

Python 3 standard library only.
"""

import math
import sys

M64 = (1 << 64) - 1


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & M64
    return h


def fmix64(x):
    x ^= x >> 33
    x = (x * 0xff51afd7ed558ccd) & M64
    x ^= x >> 33
    x = (x * 0xc4ceb9fe1a85ec53) & M64
    x ^= x >> 33
    return x


def score(key, member_id, weight):
    """Returns (k, m, h, u, score) for one member, all IEEE doubles as C
    computes them: u = (double(h >> 12) + 0.5) / 2**52 (exact),
    score = -double(weight) / log(u)."""
    k = fnv1a64(key)
    m = fmix64(fnv1a64(member_id))
    h = fmix64(k ^ m)
    u = (float(h >> 12) + 0.5) / 4503599627370496.0
    s = -float(weight) / math.log(u)
    return k, m, h, u, s


def order(key, members):
    """members: [(id bytes, weight)]; best first, ties by id bytewise."""
    scored = [(score(key, i, w)[4], i) for i, w in members]
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [i for _, i in scored]


VECTORS = [
    (b"live/s1", [(b"mid-a", 100), (b"mid-b", 100), (b"mid-c", 100)]),
    (b"live/s2", [(b"mid-a", 100), (b"mid-b", 100), (b"mid-c", 100)]),
    (b"live/s1", [(b"mid-a", 100), (b"mid-b", 200), (b"mid-c", 50)]),
    (b"a", [(b"x", 1)]),
    (b"a", [(b"x", 1), (b"y", 1)]),
    (b"live/stream0000001", [(b"m1", 100), (b"m2", 100), (b"m3", 100),
                             (b"m4", 100)]),
    (b"live/stream0000002", [(b"m1", 100), (b"m2", 100), (b"m3", 100),
                             (b"m4", 100)]),
    (b"app/name%~!$'()*+,;=:@", [(b"edge.1", 10), (b"edge.2", 1000)]),
    (b"live/" + b"k" * 251, [(b"mid-a", 100), (b"mid-b", 100)]),
    (b"live/s1", [(b"A", 1000000), (b"B", 1), (b"C", 500000)]),
    (b"vod/movie.mp4", [(b"n%02d" % i, 100) for i in range(16)]),
    (b"live/\x7e", [(b"mid-b", 100), (b"mid-a", 100)]),
]


def show(b):
    return b.decode("ascii")


def vectors():
    out = []
    for n, (key, members) in enumerate(VECTORS, 1):
        k = fnv1a64(key)
        shown = show(key) if len(key) < 40 else (
            show(key[:5]) + '"k" x %d' % (len(key) - 5))
        out.append("#### Vector %d\n" % n)
        out.append("key `%s` (%d bytes), k = `%016x`\n" % (shown, len(key), k))
        out.append("| id | weight | m = fmix64(fnv1a64(id)) | h | u | score |")
        out.append("|---|---|---|---|---|---|")
        for i, w in members:
            _, m, h, u, s = score(key, i, w)
            out.append("| `%s` | %d | `%016x` | `%016x` | %.17g | %.17g |"
                       % (show(i), w, m, h, u, s))
        out.append("\norder: " + " ".join("`%s`" % show(i)
                                          for i in order(key, members)))
        out.append("")
    return "\n".join(out)


def main(argv):
    if len(argv) == 1:
        print(vectors())
        return 0

    key = argv[1].encode("ascii")
    members = []
    for a in argv[2:]:
        i, _, w = a.partition(":")
        members.append((i.encode("ascii"), int(w) if w else 100))
    print(" ".join(show(i) for i in order(key, members)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
