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


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_model_report_shows_every_chart(browser, model_report, lang):
    page = model_report[lang]
    pngs = sorted(p.stem for p in page.parent.glob("*.png"))
    images = _open(browser, page)
    assert sorted(i["chart"] for i in images) == pngs
    assert len(pngs) == 8
    for image in images:
        assert image["complete"] and image["width"] > 300 and image["height"] > 200, image
        assert image["shown"] and image["inline"], image
    assert browser.execute_script(EXTERNAL) == []
    assert browser.find_element("id", "headline").is_displayed()
    assert browser.title and browser.find_element("tag name", "h1").text == browser.title


def test_loadtest_report_shows_every_chart(browser, loadtest_report):
    page = loadtest_report
    images = _open(browser, page)
    assert sorted(i["chart"] for i in images) == sorted(p.stem for p in page.parent.glob("*.png"))
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
    assert len(images) == 8
    assert all(i["complete"] and i["width"] > 300 and i["shown"] for i in images), images
