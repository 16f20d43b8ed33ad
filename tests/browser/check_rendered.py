#!/usr/bin/env python3
"""Checks what headless Chromium rendered of a bwplan search report (standard library only).

Usage: check_rendered.py SEARCH.json DOM.html SCREENSHOT.png
- the DOM has the page title, every section heading, three SVG charts and every plan id listed
  in SEARCH.json (the same search's JSON);
- the screenshot is not blank: enough non-white pixels, many colours, and the colours of the
  parameters segment (#0072B2) and the capacity lines (#a4161a) are on screen.
"""
import json
import struct
import sys
import zlib


def fail(msg):
    print(f"check_rendered: {msg}", file=sys.stderr)
    sys.exit(1)


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                fail(f"unsupported PNG layout (depth {depth}, colour type {colour})")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return width, height, channels, rows


def main():
    search_json, dom_path, png_path = sys.argv[1:4]
    plans = json.load(open(search_json))["plans"]
    dom = open(dom_path, encoding="utf-8").read()
    for text in ["<h1>bwplan search: llama-3.1-70b</h1>", "Memory per GPU at the peak",
                 "Throughput, cost and memory", "Ranked plans", "Rejected candidates", "Inputs",
                 "Sources and limits", "nearest miss ml.p6-b300.48xlarge"]:
        if text not in dom:
            fail(f"rendered DOM lacks {text!r}")
    if dom.count("<svg") != 3:
        fail(f"rendered DOM has {dom.count('<svg')} SVG charts, expected 3")
    if not plans:
        fail("the search listed no plans")
    for p in plans:
        if p["id"] not in dom:
            fail(f"rendered DOM lacks plan {p['id']}")

    width, height, channels, rows = read_png(png_path)
    total = width * height
    non_white = 0
    colours = set()
    near = {"parameters #0072B2": (0, 114, 178), "capacity #a4161a": (164, 22, 26)}
    hits = dict.fromkeys(near, 0)
    for line in rows:
        for x in range(0, width * channels, channels):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if r < 245 or g < 245 or b < 245:
                non_white += 1
            colours.add((r >> 3, g >> 3, b >> 3))
            for name, (cr, cg, cb) in near.items():
                if abs(r - cr) < 12 and abs(g - cg) < 12 and abs(b - cb) < 12:
                    hits[name] += 1
    share = non_white / total
    if share < 0.03:
        fail(f"screenshot {width}x{height} is nearly blank ({100 * share:.2f}% non-white)")
    if len(colours) < 20:
        fail(f"screenshot has only {len(colours)} colours")
    for name, n in hits.items():
        if n < 200:
            fail(f"screenshot shows {n} pixels of {name}, expected the bars and lines")
    print(f"check_rendered: ok: {len(plans)} plans in the DOM; screenshot {width}x{height}, "
          f"{100 * share:.1f}% non-white, {len(colours)} colours, "
          + ", ".join(f"{n} px {k}" for k, n in hits.items()))


if __name__ == "__main__":
    main()
