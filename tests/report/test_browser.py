"""The report in a real headless browser: it opens, every chart is shown, no broken image.

Needs Chromium and its driver (Debian: chromium, chromium-driver; .ci/run installs them);
skipped with the reason when they are missing.
"""

from __future__ import annotations

import shutil

import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
BROWSER = next((shutil.which(n) for n in BROWSERS if shutil.which(n)), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(BROWSER is None or DRIVER is None,
                                reason="no chromium/chromedriver (apt-get install chromium chromium-driver)")

IMAGES = """
return Array.from(document.images).map(img => ({
  chart: img.dataset.chart, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
  shown: img.getBoundingClientRect().width > 0 && getComputedStyle(img).display !== 'none',
  inline: img.src.startsWith('data:image/png;base64,')}));
"""
EXTERNAL = """
return Array.from(document.querySelectorAll('[src],[href]'))
  .map(e => e.getAttribute('src') || e.getAttribute('href')).filter(u => !u.startsWith('data:'));
"""


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, page):
    browser.get(page.resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    return browser.execute_script(IMAGES)


def _charts(folder, lang: str = "en") -> list[str]:
    """Chart keys of the PNGs beside a page (a Chinese page's are key.zh.png)."""
    suffix = "" if lang == "en" else f".{lang}"
    return sorted(p.name.removesuffix(f"{suffix}.png") for p in folder.glob(f"*{suffix}.png")
                  if lang != "en" or p.name.count(".") == 1)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_model_report_shows_every_chart(browser, model_report, lang):
    page = model_report[lang]
    pngs = _charts(page.parent, lang)
    images = _open(browser, page)
    assert sorted(i["chart"] for i in images) == pngs
    assert len(pngs) == 9
    for image in images:
        assert image["complete"] and image["width"] > 300 and image["height"] > 200, image
        assert image["shown"] and image["inline"], image
    assert browser.execute_script(EXTERNAL) == []
    assert browser.find_element("id", "headline").is_displayed()
    assert browser.title and browser.find_element("tag name", "h1").text == browser.title


def test_loadtest_report_shows_every_chart(browser, loadtest_report):
    page = loadtest_report
    images = _open(browser, page)
    assert sorted(i["chart"] for i in images) == _charts(page.parent)
    assert {i["chart"] for i in images} == {"loadtest_throughput", "loadtest_latency", "loadtest_arrivals",
                                            "loadtest_model"}
    assert all(i["complete"] and i["width"] > 0 and i["shown"] for i in images), images


def test_a_broken_image_would_be_caught(browser, model_report, tmp_path):
    """The check above can fail: a page with a corrupt PNG shows naturalWidth 0."""
    html = model_report["en"].read_text(encoding="utf-8")
    page = tmp_path / "broken.html"
    start = html.index("data:image/png;base64,") + len("data:image/png;base64,")
    page.write_text(html[:start] + "AAAA" + html[start + 4000:], encoding="utf-8")
    images = _open(browser, page)
    assert sum(i["width"] == 0 for i in images) == 1


def test_report_of_a_real_run_opens(browser, real_report):
    images = _open(browser, real_report)
    assert len(images) == 9
    assert all(i["complete"] and i["width"] > 300 and i["shown"] for i in images), images


VERDICT = {"en": ("Verdict", "take part between", "The load peaks at", "Provision with a 25% margin"),
           "zh": ("结论", "期间参加学习", "负载峰值出现在", "建议在最忙时刻所需基础上留 25% 余量")}
CARDS = {"en": ("Teachers taking part", "of 2,000 teachers", "Completed by the deadline", "of participants",
                "Certificates issued", "after the deadline"),
         "zh": ("参加学习的教师", "名教师的", "截止前完成学习", "占参加者的", "颁发证书", "截止日之后")}
ENGLISH_LEFT_IN_CHINESE = (" teachers", " servers", " seed ", "Verdict", "Headline", "SLO compliance", "÷\n")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_rendered_page_leads_with_the_verdict_and_cards(browser, model_report, lang, tmp_path):
    """What a reader sees, as Chromium lays it out: the verdict first, then the cards with their
    denominators and dates, the SLO rule under its table; a screenshot of the page is taken and
    is not blank."""
    _open(browser, model_report[lang])
    verdict = browser.find_element("id", "verdict")
    headline = browser.find_element("id", "headline")
    assert verdict.is_displayed() and verdict.location["y"] < headline.location["y"]
    for words in VERDICT[lang]:
        assert words in verdict.text, words
    cards = " ".join(c.text.replace("\n", " ") for c in browser.find_elements("class name", "card"))
    for words in CARDS[lang]:
        assert words in cards, words
    rules = [n for n in browser.find_elements("class name", "tnote") if n.is_displayed()]
    assert any("Judging rule" in n.text or "评判规则" in n.text for n in rules)
    shot = tmp_path / f"report-{lang}.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    body = browser.find_element("tag name", "body").text
    if lang == "zh":
        for english in ENGLISH_LEFT_IN_CHINESE:
            assert english not in body, english


def test_no_chart_is_blank(browser, model_report):
    """Every chart image carries drawing: a canvas read of its pixels finds more than a few
    distinct colours (a panel of all ~0 values says so in text instead of a flat line)."""
    _open(browser, model_report["en"])
    colours = browser.execute_script("""
      return Array.from(document.images).map(img => {
        const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data, seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
        return [img.dataset.chart, seen.size];
      });""")
    for chart, distinct in colours:
        assert distinct > 8, chart
