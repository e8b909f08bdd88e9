"""Tests for kiosk.decode: real zxing-cpp, zbar and OpenCV on codes rendered with segno, no mocks."""

import itertools

import numpy as np
import pytest
import segno
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from kiosk.decode import DECODER_NAMES, DEFAULT_DECODER, Code, load_gray, make_decoder
from kiosk.decode.robust import RETRIES, RobustDecoder, Retry
from kiosk.errors import DecoderUnavailable, ImageError

cv2 = pytest.importorskip("cv2")

CCCD = (
    "079203001234|123456789|Nguyễn Thị Thuỷ|01021992|Nữ|"
    "Số 12, Đường Lê Lợi, Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh|15082021"
)
# Short payloads that plain pyzbar returned as Shift-JIS mojibake (zbar guessed the encoding).
PAYLOADS = ["Huế", "Nữ", "Xã Tân Lập", "Ngô Bảo Châu", "Tạ Quang Bửu", "Trịnh Công Sơn", CCCD,
            "001099012345||Đặng Văn Ánh|31121999|Nam|Xóm Mới, Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội|01012024"]
BACKEND = {"robust": "zxing", "zxing": "zxing", "zbar": "zbar"}


def render(payload, ppm=4, sigma=0.0, encoding="utf-8", size=(640, 480)):
    """Return a grey frame with ``payload`` as a QR code at ``ppm`` pixels per module, blurred by ``sigma``.

    Byte mode, as on the cards: left to choose, segno takes Kanji mode for UTF-8 that happens to pair up as
    Shift-JIS ("ể0" is e1bb 8330) and cannot encode it exactly, so the code itself would hold other bytes.
    """
    qr = segno.make_qr(payload, error="m", mode="byte", encoding=encoding)
    modules = np.array([list(row) for row in qr.matrix], dtype=np.uint8)
    code = np.where(np.kron(modules, np.ones((8, 8), np.uint8)) > 0, 40.0, 215.0).astype(np.float32)
    code = np.pad(code, 32, constant_values=215.0)
    side = round(code.shape[0] * ppm / 8)
    code = cv2.resize(code, (side, side), interpolation=cv2.INTER_AREA)
    width, height = size
    frame = np.full((height, width), 128.0, np.float32)
    y, x = (height - side) // 2, (width - side) // 2
    frame[y:y + side, x:x + side] = code
    if sigma:
        frame = cv2.GaussianBlur(frame, (0, 0), sigma)
    return np.clip(np.round(frame), 0, 255).astype(np.uint8)


def idle_frames():
    """Return named frames without a code: flat, noise, gradient and clutter."""
    rng = np.random.default_rng(7)
    clutter = np.full((480, 640), 90, np.uint8)
    for i in range(12):
        cv2.rectangle(clutter, (40 * i, 30 * i), (40 * i + 150, 30 * i + 90), 60 + 15 * i, -1)
    gradient = np.tile(np.linspace(0, 255, 640, dtype=np.float32), (480, 1)).astype(np.uint8)
    return {
        "black": np.zeros((480, 640), np.uint8),
        "white": np.full((480, 640), 255, np.uint8),
        "noise": rng.integers(0, 256, (480, 640), dtype=np.uint8),
        "gaussian_noise": np.clip(rng.normal(128, 10, (480, 640)), 0, 255).astype(np.uint8),
        "gradient": gradient,
        "clutter": clutter,
        "tiny": np.full((3, 5), 200, np.uint8),
    }


@pytest.fixture(scope="module")
def decoders():
    """One decoder of each name, shared by the tests of this module."""
    return {name: make_decoder(name) for name in DECODER_NAMES}


@pytest.mark.parametrize("name, payload", list(itertools.product(DECODER_NAMES, PAYLOADS)))
def test_ok__vietnamese_payload_is_byte_exact(decoders, name, payload):
    codes = decoders[name].decode(render(payload))
    assert codes == [Code(text=payload, raw=payload.encode("utf-8"), backend=BACKEND[name])]


@pytest.mark.parametrize("name", DECODER_NAMES)
def test_ok__strided_y_plane_view_is_read(decoders, name):
    # picamera2's YUV420 buffers are wider than the image: the Y plane is a non-contiguous view.
    buffer = np.full((720, 704), 16, np.uint8)
    buffer[:480, :640] = render(CCCD)
    assert [c.text for c in decoders[name].decode(buffer[:480, :640])] == [CCCD]


NON_UTF8 = {"latin-1": "café", "shift_jis": "日本語テキスト", "half-width-kana": "ﾃﾞｻﾞｲﾝQR"}


@pytest.mark.parametrize("name, kind", list(itertools.product(DECODER_NAMES, NON_UTF8)))
def test_ok__non_utf8_payload_falls_back_to_the_backend_text(decoders, name, kind):
    text = NON_UTF8[kind]
    encoding = "latin-1" if kind == "latin-1" else "shift_jis"
    codes = decoders[name].decode(render(text, encoding=encoding))
    assert [(c.text, c.raw) for c in codes] == [(text, text.encode(encoding))]


@pytest.mark.parametrize("name, kind", list(itertools.product(DECODER_NAMES, idle_frames())))
def test_ok__frame_without_code_yields_nothing(decoders, name, kind):
    assert decoders[name].decode(idle_frames()[kind]) == []


def held(decoder, frame, frames=4 * len(RETRIES)):
    """Return what ``decoder`` reads of ``frame`` held still: the codes of the first of ``frames`` copies that reads.

    One frame's budget holds as many retries as the machine's speed allows, and the shared decoder's ladder
    may stand anywhere after the last test; held still, every retry runs within a few frames on any machine.
    """
    for _ in range(frames):
        codes = decoder.decode(frame)
        if codes:
            return codes
    return []


@pytest.mark.parametrize("ppm, sigma", [(3, 1.5), (3, 1.8)])
def test_ok__robust_retries_read_a_blurred_code_the_first_pass_misses(decoders, ppm, sigma):
    frame = render(CCCD, ppm=ppm, sigma=sigma)
    first_pass, _ = decoders["robust"].first_pass(frame)
    assert first_pass == [], "precondition: plain zxing-cpp must miss this frame"
    assert [c.text for c in held(decoders["robust"], frame)] == [CCCD]


def test_ok__robust_runs_one_retry_per_frame_when_the_budget_is_spent():
    clock = itertools.count(0.0, 1.0).__next__  # every reading of the clock is one second later
    decoder = RobustDecoder(budget_ms=40, clock=clock)
    frame = render(CCCD, ppm=3, sigma=1.5)
    for held in range(len(RETRIES)):
        if decoder.decode(frame):
            break
        assert decoder.ladder.next == held + 1, "one retry per frame, and the next frame goes on from there"
    assert held >= 1 and [c.text for c in decoder.decode(frame)] == [CCCD]


VIETNAMESE = st.text(st.sampled_from("aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ |0123456789"),
                     min_size=1, max_size=120)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=VIETNAMESE, ppm=st.sampled_from([3, 4, 6]), sigma=st.sampled_from([0.0, 0.8]))
@example(text="ể0", ppm=3, sigma=0.0)  # segno's Kanji mode, once: see render
def test_ok__robust_reads_white_on_black_codes(decoders, text, ppm, sigma):
    # Phone screens in dark mode and some printed slips: raw zxing-cpp reads these (try_invert), so must we.
    frame = 255 - render(text, ppm=ppm, sigma=sigma)
    assert [c.raw for c in held(decoders["robust"], frame)] == [text.encode("utf-8")]


def test_ok__decoder_names_and_default():
    assert DEFAULT_DECODER == DECODER_NAMES[0] == "robust"
    assert set(DECODER_NAMES) == {"robust", "zxing", "zbar"}
    assert all(make_decoder(name).name == name for name in DECODER_NAMES)


BAD_IMAGES = {
    "colour": np.zeros((48, 64, 3), np.uint8),
    "float": np.zeros((48, 64), np.float32),
    "uint16": np.zeros((48, 64), np.uint16),
    "one_d": np.zeros(64, np.uint8),
    "empty": np.zeros((0, 64), np.uint8),
    "list": [[0, 255], [255, 0]],
    "none": None,
}


@pytest.mark.parametrize("name, kind", list(itertools.product(DECODER_NAMES, BAD_IMAGES)))
def test_fail__wrong_image_raises_value_error(decoders, name, kind):
    with pytest.raises(ValueError):
        decoders[name].decode(BAD_IMAGES[kind])


@pytest.mark.parametrize("name", ["", "opencv", "ROBUST", "zxing-cpp"])
def test_fail__unknown_decoder_name_raises_value_error(name):
    with pytest.raises(ValueError, match="unknown decoder"):
        make_decoder(name)


@pytest.mark.parametrize("budget_ms", [0, -5, float("nan")])
def test_fail__non_positive_budget_raises_value_error(budget_ms):
    with pytest.raises(ValueError, match="budget_ms"):
        make_decoder("robust", budget_ms=budget_ms)


def test_fail__unknown_retry_fix_raises_value_error():
    with pytest.raises(ValueError, match="unknown fix"):
        Retry(320, "magic")


def test_ok__decoder_unavailable_is_an_import_error():
    assert issubclass(DecoderUnavailable, ImportError)


FORMATS = {"png": {}, "jpeg": {"quality": 92}, "webp": {"lossless": True}}


@pytest.mark.parametrize("fmt", FORMATS)
def test_ok__load_gray_reads_image_files(tmp_path, decoders, fmt):
    path = tmp_path / f"code.{fmt}"
    Image.fromarray(render(CCCD)).convert("RGB").save(path, format=fmt.upper(), **FORMATS[fmt])
    gray = load_gray(path)
    assert gray.shape == (480, 640) and gray.dtype == np.uint8
    assert [c.text for c in decoders["robust"].decode(gray)] == [CCCD]


def bad_files(tmp_path):
    """Return named paths that are not readable images."""
    text = tmp_path / "notes.txt"
    text.write_text("không phải ảnh\n", encoding="utf-8")
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"hello, not a PNG")
    truncated = tmp_path / "truncated.png"
    Image.fromarray(render(CCCD)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    return {"text": text, "fake_png": fake, "truncated": truncated, "missing": tmp_path / "nope.png",
            "directory": tmp_path}


@pytest.mark.parametrize("kind", ["text", "fake_png", "truncated", "missing", "directory"])
def test_fail__load_gray_raises_image_error(tmp_path, kind):
    path = bad_files(tmp_path)[kind]
    with pytest.raises(ImageError) as caught:
        load_gray(path)
    assert isinstance(caught.value, OSError)
    assert str(path) in str(caught.value)
