"""Make the README's pictures of the built-in demo that come from the command line and the browser:
docs/images/demo.png (headless renders), orbit.png (frames of an orbit) and browser.png (the browser viewer).

    python docs/images/make_readme_images.py [demo] [orbit] [browser]   # default: all three

The browser picture needs Debian's chromium and chromium-driver (as the browser tests do).
viewer.png and compare.png come from make_viewer_screenshot.py.
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).parent
CLI = [sys.executable, "-m", "k4d_viewer.cli"]


def render(work: Path, name: str, *args: str) -> Image.Image:
    """One headless render through the CLI, as a user would run it."""
    out = work / f"{name}.png"
    subprocess.run([*CLI, "render", *args, "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
    return Image.open(out).convert("RGB")


def side_by_side(images: list[Image.Image]) -> Image.Image:
    sheet = Image.new("RGB", (sum(image.width for image in images), max(image.height for image in images)))
    x = 0
    for image in images:
        sheet.paste(image, (x, 0))
        x += image.width
    return sheet


def demo(work: Path) -> None:
    panels = [render(work, "default", "--size", "416x540"),
              render(work, "view1", "--view", "1", "--size", "416x540"),
              render(work, "view1_depth", "--view", "1", "--size", "416x540", "--mode", "depth")]
    side_by_side(panels).save(HERE / "demo.png", optimize=True)


def orbit(work: Path) -> None:
    frames = work / "orbit"
    frames.mkdir()
    subprocess.run([*CLI, "render", "--orbit", "--play", "--seconds", "4", "--size", "640x360", "-o",
                    str(frames / "o.png")], check=True, stdout=subprocess.DEVNULL)
    stills = [Image.open(frames / f"o_{index:04d}.png").convert("RGB").crop((140, 0, 500, 360))  # the middle
              for index in (0, 20, 40, 60)]
    side_by_side(stills).save(HERE / "orbit.png", optimize=True)


def browser(work: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([*CLI, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,720"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or ""
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or ""), options=options)
    try:
        deadline = time.time() + 120
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("the browser viewer did not start")
            time.sleep(0.5)
        driver.get(f"http://127.0.0.1:{port}")
        time.sleep(20)  # the full-size image follows the first, smaller one
        for close in driver.find_elements("css selector", "[class*=Notification] button"):
            close.click()  # the browser's note that WebGL runs in software here (no GPU on this machine)
        time.sleep(1)
        Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB").save(HERE / "browser.png",
                                                                                    optimize=True)
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    makers = {"demo": demo, "orbit": orbit, "browser": browser}
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", help=f"any of {', '.join(makers)} (default: all)")
    args = parser.parse_args()
    if unknown := set(args.images) - set(makers):
        parser.error(f"unknown image {sorted(unknown)[0]!r}")
    with tempfile.TemporaryDirectory() as work:
        for name in args.images or makers:
            makers[name](Path(work))
            print(f"wrote {HERE / (name + '.png')}")


if __name__ == "__main__":
    main()
