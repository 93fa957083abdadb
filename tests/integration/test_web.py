"""
The web view (issue 13) in a real browser: Debian's chromium, headless,
driven by chromium-driver through python3-selenium.  The node page loads
without console errors, shows the right peer count and a transaction sent
during the test; the network page draws the four nodes of a cluster and
the wave of a traced transaction.  Screenshots go to the test's tmp dir
(their paths are printed: pytest -s, or the report of a failure) and copied
to build/web-screenshots/ ($WEB_SCREENSHOTS), which outlives pytest's tmp dirs.
Skipped, saying why, when chromium, its driver or selenium is missing
(tools/deps.sh --list integration names the packages).
"""

import os
import shutil

import pytest

from conftest import wait_until
from txlib import Wallet

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
NO_PEX = ["--peer-exchange", "off"]

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER and HAVE_SELENIUM),
    reason="the browser test needs Debian's chromium, chromium-driver and "
           "python3-selenium (missing: %s); install them with tools/deps.sh integration"
           % ", ".join(n for n, ok in (("chromium", CHROMIUM), ("chromium-driver", DRIVER),
                                       ("python3-selenium", HAVE_SELENIUM)) if not ok))


@pytest.fixture
def browser(tmp_path):
    o = Options()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1200,1000", "--user-data-dir=%s" % (tmp_path / "chromium")):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(DRIVER), options=o)
    d.set_page_load_timeout(30)
    try:
        yield d
    finally:
        d.quit()


def console_errors(d):
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]


# Beside the test's tmp dir (pytest keeps only the last few), a copy where it stays.
SHOTS = os.environ.get("WEB_SCREENSHOTS") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "web-screenshots")


def shot(d, tmp_path, name):
    path = str(tmp_path / ("%s.png" % name))
    d.save_screenshot(path)
    os.makedirs(SHOTS, exist_ok=True)
    keep = os.path.abspath(os.path.join(SHOTS, "%s.png" % name))
    shutil.copyfile(path, keep)
    print("screenshot: %s (copy: %s)" % (path, keep))
    return path


def by_css(d, sel):
    return d.find_elements("css selector", sel)


def test_web_view_in_chromium(cluster, browser, tmp_path):
    a = cluster.start("w1", args=NO_PEX)
    others = [cluster.start("w%d" % i, peers=[a], args=NO_PEX) for i in (2, 3, 4)]
    # b-c too, so that the graph is more than a star.
    nodes = [a] + others
    wait_until(lambda: len(a.peer_ids()) == 3, 20, "w1's 3 peers")

    d = browser
    d.get("http://%s/" % a.api_addr)
    wait_until(lambda: by_css(d, "#peer-count")[0].text == "3", 20, "peer count 3 on the page")
    wait_until(lambda: by_css(d, "#stream")[0].text == "live", 20, "the event stream")
    assert d.title == "noded w1", d.title
    assert len(by_css(d, "#peers tbody tr")) == 3
    t = Wallet().tx(amount=42)
    code, body = others[1].submit(t.hex())
    assert code == 200, body
    sel = "#events li[data-tx='%s']" % t.id_hex()
    wait_until(lambda: by_css(d, sel), 20, "the tx in the page's event list")
    assert "tx_accepted %s from" % t.id_hex()[:16] in by_css(d, sel)[0].text
    wait_until(lambda: by_css(d, "#c-mempool")[0].text == "1", 10, "the mempool counter")
    shot(d, tmp_path, "node")
    errs = console_errors(d)
    assert not errs, errs

    # The network page: four nodes, their links, the wave of the tx.
    wait_until(lambda: all(n.has_tx(t.id_hex()) for n in nodes), 20, "the tx everywhere")
    d.get("http://%s/net.html?nodes=%s&tx=%s" % (a.api_addr, ",".join(n.api_addr for n in nodes),
                                               t.id_hex()))
    wait_until(lambda: len(by_css(d, "#graph circle.node")) == 4, 20, "4 nodes drawn")
    names = sorted(c.get_attribute("data-name") for c in by_css(d, "#graph circle.node"))
    assert names == ["w1", "w2", "w3", "w4"], names
    assert len(by_css(d, "#graph line:not(.wave)")) == 3
    wait_until(lambda: by_css(d, "#graph")[0].get_attribute("data-reached") == "4", 20,
               "the wave to reach 4 nodes")
    entry = by_css(d, "#graph circle.entry")
    assert [c.get_attribute("data-name") for c in entry] == ["w3"]
    assert len(by_css(d, "#graph circle.reached")) == 4
    # Three edges of the wave: w3 -> w1 -> w2, w4.
    wave = sorted((l.get_attribute("data-a"), l.get_attribute("data-b"))
                  for l in by_css(d, "#graph line.wave"))
    assert wave == [("w1", "w2"), ("w1", "w4"), ("w3", "w1")], wave
    status = by_css(d, "#wave-status")[0].text
    assert status.startswith("tx %s: reached 4 of 4 nodes" % t.id_hex()[:16]), status
    assert len(by_css(d, "#wave tbody tr")) == 4
    shot(d, tmp_path, "network")
    errs = console_errors(d)
    assert not errs, errs


def test_web_view_asks_for_the_token(cluster, browser, tmp_path):
    tok = "tok-" + os.urandom(8).hex()
    path = tmp_path / "token"
    path.write_text(tok + "\n")
    os.chmod(path, 0o600)
    from conftest import Node

    class TokNode(Node):
        def request(self, method, p, body=None, timeout=10, headers=None):
            h = dict(headers or {})
            h.setdefault("Authorization", "Bearer " + tok)
            return Node.request(self, method, p, body, timeout, h)
    n = TokNode("wtok", cluster.workdir, args=NO_PEX + ["--api-token-file", str(path)])
    cluster.nodes.append(n)
    n.start()
    d = browser
    d.get("http://%s/" % n.api_addr)
    form = by_css(d, "#tokenform")[0]
    wait_until(lambda: "hidden" not in form.get_attribute("class"), 20, "the token form")
    assert by_css(d, "#peer-count")[0].text == "-"
    by_css(d, "#token")[0].send_keys(tok)
    by_css(d, "#tokenform button")[0].click()
    wait_until(lambda: by_css(d, "#stream")[0].text == "live", 20, "the event stream with the token")
    wait_until(lambda: by_css(d, "#peer-count")[0].text == "0", 20, "the counters with the token")
    assert by_css(d, "#title")[0].text == "wtok"
    t = Wallet().tx(amount=3)
    assert n.submit(t.hex())[0] == 200
    wait_until(lambda: by_css(d, "#events li[data-tx='%s']" % t.id_hex()), 20, "the tx event")
    shot(d, tmp_path, "token")
    # The only errors: the 401s before the token was given.
    errs = [e for e in console_errors(d) if "401" not in e.get("message", "")]
    assert not errs, errs
