"""The browser viewer in a real browser (Debian's chromium, driven by selenium): the page loads and shows a
rendered image, a drag changes the view, scrubbing shows another frame, a setting applies, a second tab does
not disturb the first, and malformed client messages do not take the server down."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def _require_browser():
    if CHROMIUM and DRIVER:
        return
    if os.environ.get("CI"):
        pytest.fail("chromium and chromium-driver are not installed (CI installs them)")
    pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    _require_browser()
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "k4d_viewer.cli", "serve", "--port", str(port), "--backend",
                                "torch", "--max-size", "640"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", process
    process.terminate()
    out, err = process.communicate(timeout=30)
    assert "Traceback" not in err, err[-3000:]


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,700",
                "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    return webdriver.Chrome(service=Service(DRIVER), options=options)


def view(driver) -> np.ndarray:
    """The middle of the 3D view (away from the panel on the right and notifications at the top left)."""
    image = np.asarray(Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")).astype(np.int16)
    return image[180:540, 330:640]


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value is not None and value is not False:
            return value
        time.sleep(0.25)
    raise AssertionError("timed out")


def shows_model(driver):
    image = view(driver)
    return image if (image.max(-1) > 60).mean() > 0.02 else None


def changed_from(driver, before: np.ndarray, amount: float = 1.5):
    def check():
        image = view(driver)
        return image if np.abs(image - before).mean() > amount else None
    return check


def settled(driver):
    """The view once two screenshots a second apart agree (the full-size image has arrived)."""
    def check():
        first = view(driver)
        time.sleep(1.0)
        second = view(driver)
        return second if np.abs(second - first).mean() < 0.2 else None
    return wait_for(check)


def drag(driver, dx: int):
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = driver.find_element("tag name", "canvas")
    ActionChains(driver).move_to_element_with_offset(canvas, -150, 0).click_and_hold().move_by_offset(
        dx // 2, 0).move_by_offset(dx - dx // 2, 0).release().perform()


def click_button(driver, text: str):
    driver.find_element("xpath", f"//button[normalize-space()='{text}']").click()


def input_for(driver, label: str):
    target = driver.find_element("xpath", f"//label[normalize-space()='{label}']").get_attribute("for")
    return driver.find_element("id", target)


def test_browser_viewer(server):
    url, process = server
    first = browser()
    second = None
    try:
        first.get(url)
        wait_for(lambda: shows_model(first))  # a rendered image appears
        start = settled(first)
        drag(first, 160)
        wait_for(changed_from(first, start))  # a drag changes the view
        dragged = settled(first)
        for _ in range(12):
            click_button(first, "Next")
            time.sleep(0.3)
        wait_for(changed_from(first, dragged, 0.5))  # scrubbing shows another frame
        frame_box = first.find_element("xpath", "//label[normalize-space()='Frame']/ancestor::div[contains("
                                       "@class, 'mantine-Flex-root')][1]//input[@type='text']")
        wait_for(lambda: frame_box.get_attribute("value") == "12", 30)  # the timeline follows
        scrubbed = settled(first)
        first.execute_script("arguments[0].click();", input_for(first, "solid"))
        wait_for(changed_from(first, scrubbed, 0.5))  # a setting applies
        before_second = settled(first)
        second = browser()
        second.get(url)
        wait_for(lambda: shows_model(second))
        second_start = settled(second)
        drag(second, -200)
        wait_for(changed_from(second, second_start))
        time.sleep(2)
        assert np.abs(view(first) - before_second).mean() < 0.3  # the first tab did not move
        assert process.poll() is None
    finally:
        first.quit()
        if second is not None:
            second.quit()


def test_malformed_client_messages_are_ignored(server):
    import msgspec
    import viser
    from websockets.sync.client import connect

    url, process = server
    camera = {"type": "ViewerCameraMessage", "wxyz": [float("nan")] * 4, "position": [1e308, 0, 0], "fov": -1.0,
              "near": 0.0, "far": 0.0, "image_height": 10**9, "image_width": -5, "look_at": [0, 0, 0],
              "up_direction": [0, 0, 1]}
    payloads = (b"\x00\xff garbage", b"\x92\x01\x02", b"\x81\xa4type\xa7nothing", "text frame", b"",
                msgspec.msgpack.encode(camera),
                msgspec.msgpack.encode({"type": "GuiUpdateMessage", "uuid": "nope", "updates": {"value": "x"}}),
                msgspec.msgpack.encode({"type": "ViewerCameraMessage", "wxyz": "not a quaternion"}))
    for payload in payloads:
        try:
            with connect(url.replace("http", "ws"), open_timeout=10,
                         subprotocols=[f"viser-v{viser.__version__}"]) as sock:
                sock.send(payload)
                time.sleep(0.2)
        except Exception:  # noqa: BLE001 - the server may close the socket: that is fine
            pass
    assert process.poll() is None
    driver = browser()
    try:
        driver.get(url)
        wait_for(lambda: shows_model(driver))  # still serving images
    finally:
        driver.quit()


def test_serve_flags(capsys):
    from k4d_viewer.cli import main

    taken = socket.socket()  # a port something else listens on
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    for argv, problem in ((["serve", "--port", "70000"], "--port: 70000 is outside"),
                          (["serve", "--layers", "0"], "--layers: 0 is outside"),
                          (["serve", "--max-size", "4"], "--max-size"),
                          (["serve", "--host", ""], "--host: is empty"),
                          (["serve", "--host", "300.1.1.1"], "--host: '300.1.1.1' is not a name or address"),
                          (["serve", "--host", "192.0.2.1"], "--host: cannot listen on 192.0.2.1:8080"),
                          (["serve", "--port", str(taken.getsockname()[1])], "--port: cannot listen on")):
        assert main(argv) == 2  # at once: the web server's own thread would not report a failed bind
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and problem in err, err
    taken.close()
