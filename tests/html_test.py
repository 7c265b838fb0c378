#!/usr/bin/python3
"""The on-call page in a real browser (Debian's chromium, headless): a stream
built by `invar init` and `invar gate` runs (a feature file whose row count
doubles at 11:20 and is pinned), rendered by `invar status --html` and
`invar history --html`; each page loads with no console message, its DOM holds
the plots and their threshold lines, and its screenshot shows them (the red
of the pinned decisions' markers, the series' blue, the thresholds' orange).
Also: the page is self-contained, and an unreadable state writes no page.

  INVAR=build/release/invar tests/html_test.py

Exit 77 (ctest's SKIP_RETURN_CODE) without chromium or python3-pil."""
import json, os, shutil, subprocess, sys, tempfile

INVAR = os.environ.get("INVAR", "build/release/invar")
CHROMIUM = shutil.which("chromium")
if not CHROMIUM:
    print("SKIP: no chromium (apt-get install chromium) to load the page in")
    sys.exit(77)
try:
    from PIL import Image
except ImportError:
    print("SKIP: no PIL (apt-get install python3-pil) to read the screenshot")
    sys.exit(77)

# The page's colours (src/report/render_html.cpp).
RED, BLUE, ORANGE = (0xD3, 0x2F, 0x2F), (0x33, 0x66, 0xCC), (0xE6, 0x51, 0x00)
failures = []
PINNED = (2,)  # `invar status` of a pinned stream: the probe's exit code (docs/gate.md)


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def invar(*args, expect=0):
    r = subprocess.run([INVAR, *args], capture_output=True, text=True)
    if r.returncode not in (expect if isinstance(expect, tuple) else (expect,)):
        sys.exit("invar %s: exit %d, expected %d\n%s%s" % (" ".join(args), r.returncode, expect, r.stdout, r.stderr))
    return r


def features(version, rows):
    return json.dumps({"version": version, "features": [{"name": "f%03d" % i, "type": "int"} for i in range(rows)]})


def browse(page, work, *mode):
    """Chromium's output and its log lines (stderr) for `page`."""
    profile = tempfile.mkdtemp(dir=work, prefix="profile-")
    r = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                        "--v=0", "--user-data-dir=" + profile, "--window-size=1200,2000", *mode,
                        "file://" + page], capture_output=True, text=True, timeout=60)
    return r.stdout, r.stderr


def colour_pixels(png, colour):
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        return sum(1 for p in rgb.getdata() if p == colour)


def check_page(name, page, work):
    with open(page, encoding="utf-8") as f:
        html = f.read()
    for ref in ("<script", "<link", "http://", "https://", "@import", "url("):
        check(ref not in html, "%s: no %s (self-contained)" % (name, ref))
    png = os.path.join(work, name + ".png")
    _, log = browse(page, work, "--screenshot=" + png)
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    check(not console, "%s: no console message %s" % (name, console))
    dom, log = browse(page, work, "--dump-dom")
    check(not [line for line in log.splitlines() if ":CONSOLE" in line], "%s: no console message (dump-dom)" % name)
    check(dom.count('<svg class="plot"') >= 4, "%s: the DOM holds the plots (bytes, count, ratio, generation)" % name)
    check('class="threshold"' in dom and ">max 200</text>" in dom and ">max ratio 1.5</text>" in dom,
          "%s: the DOM holds the threshold lines, labelled" % name)
    check('class="point bad"' in dom, "%s: the DOM holds red markers" % name)
    check(os.path.exists(png), "%s: a screenshot was taken" % name)
    if os.path.exists(png):
        red, blue, orange = (colour_pixels(png, c) for c in (RED, BLUE, ORANGE))
        print("      %s: %d red, %d blue, %d orange pixels" % (name, red, blue, orange))
        check(red > 100, "%s: the screenshot shows the red markers of the pinned decisions" % name)
        check(blue > 100, "%s: the screenshot shows the series' line" % name)
        check(orange > 100, "%s: the screenshot shows the threshold lines" % name)
    return html


def main():
    work = tempfile.mkdtemp(prefix="invar-html-test-")
    try:
        state = os.path.join(work, "state")
        contract = os.path.join(work, "features.contract.json")
        with open(contract, "w") as f:
            json.dump({"contract": "bot-features", "invariants": [
                {"id": "rows", "count": "$.features[*]", "min": 1, "max": 200},
                {"id": "growth", "delta": "count($.features[*])", "max_increase": "50%", "max_decrease": "50%"},
                {"id": "version", "monotonic": "$.version"}]}, f)

        def artifact(version, rows):
            path = os.path.join(work, "v%d.json" % version)
            with open(path, "w") as f:
                f.write(features(version, rows))
            return path

        invar("init", "--contract", contract, "--stream", "features", "--state", state, "--by", "test",
              "--reason", "first", "--now", "2026-12-01T10:50:00Z", artifact(40, 100))
        out = os.path.join(work, "published.json")
        for version, rows, at, expect in [(41, 104, "11:00", 0), (42, 110, "11:10", 0), (43, 220, "11:20", 2),
                                          (44, 220, "11:30", 2), (45, 440, "11:40", 2)]:
            invar("gate", "--contract", contract, "--stream", "features", "--state", state, "--out", out,
                  "--now", "2026-12-01T%s:00Z" % at, "--quiet", artifact(version, rows), expect=expect)

        status_page = os.path.join(work, "status.html")
        r = invar("status", "--state", state, "--now", "2026-12-01T11:45:00Z", "--html", status_page, expect=PINNED)
        check("stream features" in r.stdout, "status --html FILE still prints the human status")
        html = check_page("status", status_page, work)
        check('class="banner pinned"' in html, "status: the pinned banner")
        check("rows: " in html[html.find('class="quarantine"'):], "status: the quarantine shows the violations' messages")

        history_page = os.path.join(work, "history.html")
        r = invar("history", "--state", state, "features", "--html", history_page)
        check("pin" in r.stdout, "history --html FILE still prints the journal")
        check_page("history", history_page, work)

        r = invar("status", "--state", state, "features", "--html", "-", expect=PINNED)
        check(r.stdout.startswith("<!DOCTYPE html>") and "LKG:" not in r.stdout, "--html -: only the page on stdout")

        # Fail closed: a corrupted LKG record writes no page.
        with open(os.path.join(state, "streams", "features", "lkg.json"), "a") as f:
            f.write("garbage")
        broken = os.path.join(work, "broken.html")
        invar("status", "--state", state, "--html", broken, expect=3)
        check(not os.path.exists(broken), "an unreadable state writes no page (exit 3)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit("%d check(s) failed" % len(failures))
    print("all checks passed")


if __name__ == "__main__":
    main()
