"""Config: defaults, TOML, environment, credentials, and clear errors naming the key."""

import pytest

from kiosk import config as configuration
from kiosk.errors import ConfigError


def load_text(tmp_path, text, environ=None):
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return configuration.load(path, environ or {})


def test_ok__embedded_defaults_need_no_file():
    config = configuration.load(None, {})
    assert config.camera.source == "auto"
    assert config.scanner.hold_seconds == 3.0


def test_ok__file_values_are_typed(tmp_path):
    config = load_text(tmp_path, '[web]\nport = 9000\n[scanner]\nbudget_ms = 10\n[camera]\nreplay_loop = false\n')
    assert config.web.port == 9000
    assert config.scanner.budget_ms == 10.0 and isinstance(config.scanner.budget_ms, float)
    assert config.camera.replay_loop is False


@pytest.mark.parametrize(
    "text, named",
    [
        ("[camera]\nresolution = 3\n", "camera.resolution"),
        ("[kamera]\nsource = 'auto'\n", "[kamera]"),
        ("[web]\nport = 'eighty'\n", "web.port"),
        ("[feedback]\nenabled = 1\n", "feedback.enabled"),
        ("camera = 3\n", "[camera]"),
        ("[web\n", "not valid TOML"),
    ],
)
def test_fail__bad_file_names_the_key(tmp_path, text, named):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load_text(tmp_path, text)


def test_fail__missing_file_says_which(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        configuration.load(tmp_path / "nope.toml", {})


def test_ok__environment_overrides_file(tmp_path):
    config = load_text(tmp_path, "[web]\nport = 9000\n", {"KIOSK_WEB_PORT": "9100", "KIOSK_FEEDBACK_ENABLED": "no"})
    assert config.web.port == 9100
    assert config.feedback.enabled is False


@pytest.mark.parametrize("environ, named", [({"KIOSK_WEB_PROT": "1"}, "KIOSK_WEB_PROT"), ({"KIOSK_WEB_PORT": "x"}, "web.port")])
def test_fail__bad_environment_names_the_variable(environ, named):
    with pytest.raises(ConfigError, match=named):
        configuration.load(None, environ)


def test_ok__kiosk_config_variable_picks_the_file(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text("[kiosk]\nsite = 'ward-7'\n", encoding="utf-8")
    assert configuration.load(None, {"KIOSK_CONFIG": str(path)}).kiosk.site == "ward-7"


def test_ok__secret_from_credentials_directory(tmp_path):
    (tmp_path / "kiosk-secret-key").write_text("s3cret\n", encoding="utf-8")
    config = configuration.load(None, {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert config.web.secret_key == "s3cret"


def test_ok__replace_validates_like_the_file():
    config = configuration.load(None, {}).replace("web", port=0)
    assert config.web.port == 0
    with pytest.raises(ConfigError, match="web.port"):
        config.replace("web", port="x")


def test_ok__every_key_has_a_doc_line():
    docs = configuration.documented_keys()
    assert "camera.source" in docs and all(docs.values())


def test_ok__decoder_budget_default_is_the_benchmarked_one():
    from kiosk.decode import DEFAULT_BUDGET_MS

    assert configuration.load(None, {}).scanner.budget_ms == DEFAULT_BUDGET_MS
