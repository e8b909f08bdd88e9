"""Regenerate kiosk/demo/frames: camera-like frames of invented people's CCCD QR codes.

Run `python -m kiosk.demo.generate` (needs segno, from the test extra). Every person is invented.
"""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from . import FRAMES

WIDTH, HEIGHT = 640, 480

# (file stem, payload or None for an idle frame); the sequence tells a small story for the demo.
SCRIPT = [
    ("00-idle", None),
    ("01-lan", "001190012345|123456789|Nguyễn Thị Lan|15031990|Nữ|Số 12, Đường Lê Lợi, Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh|20042021"),
    ("02-idle", None),
    ("03-hung", "036058001234||Trần Văn Hùng|02111958|Nam|Thôn Đông, Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội|11062021"),
    ("04-url", "https://example.org/not-an-id-card"),
    ("05-idle", None),
    ("06-mai", "048085005678|201234567|Lê Thị Mai|09071985|Nữ|Tổ 5, Phường Thạc Gián, Quận Thanh Khê, Thành phố Đà Nẵng|03032022"),
    ("07-lan-again", "001190012345|123456789|Nguyễn Thị Lan|15031990|Nữ|Số 12, Đường Lê Lợi, Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh|20042021"),
    ("08-idle", None),
    ("09-khoa", "079208009876||Phạm Minh Khoa|21082008|Nam|Ấp Phú Hoà, Xã Quảng Phú, Huyện Củ Chi, Thành phố Hồ Chí Minh|05092024||||"),
]


def render(payload: str | None, rng: random.Random, nrng: np.random.Generator) -> Image.Image:
    """A grey 640x480 frame: a desk-like background, maybe a card with the QR code, mild blur and noise."""
    scene = np.full((HEIGHT, WIDTH), rng.uniform(90, 140), np.float32)
    scene += np.linspace(-20, 20, WIDTH, dtype=np.float32)[None, :]
    image = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8))
    if payload is not None:
        image.paste(*card(payload, rng))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    noisy = np.asarray(image, np.float32) + nrng.normal(0, 3, (HEIGHT, WIDTH))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def card(payload: str, rng: random.Random) -> tuple[Image.Image, tuple[int, int], Image.Image]:
    import segno

    qr = segno.make_qr(unicodedata.normalize("NFC", payload), error="m", mode="byte", encoding="utf-8")
    matrix = np.array([list(row) for row in qr.matrix], np.uint8)
    module = 4
    symbol = np.kron(1 - matrix, np.ones((module, module), np.uint8)) * 215 + 25
    side = symbol.shape[0] + 8 * module
    face = np.full((side, side), 225, np.uint8)
    face[4 * module : 4 * module + symbol.shape[0], 4 * module : 4 * module + symbol.shape[0]] = symbol
    angle = rng.uniform(-12, 12)
    face_image = Image.fromarray(face).rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    mask = Image.new("L", (side, side), 255).rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    x = rng.randint(20, WIDTH - face_image.width - 20)
    y = rng.randint(20, HEIGHT - face_image.height - 20)
    return face_image, (x, y), mask


def main() -> None:
    rng, nrng = random.Random(2021), np.random.default_rng(2021)
    FRAMES.mkdir(exist_ok=True)
    truth = {}
    for stem, payload in SCRIPT:
        name = f"{stem}.jpg"
        render(payload, rng, nrng).save(FRAMES / name, quality=90)
        truth[name] = payload
    (FRAMES / "ground_truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(SCRIPT)} frames to {FRAMES}")


if __name__ == "__main__":
    main()
