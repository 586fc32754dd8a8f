"""Secrets at rest: a key per purpose, fallbacks, the legacy scheme, rotation, errors."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from marketsync.config import Settings
from marketsync.crypto import Purpose, Vault, derive_key
from marketsync.errors import ConfigurationError, UnreadableSecretError
from marketsync.runtime import open_vault, resolve_secret_key

OLD = "old-secret-key-0123456789-0123456789-abcdef"
NEW = "new-secret-key-9876543210-9876543210-fedcba"
OTHER = "unrelated-secret-key-aaaaaaaaaaaaaaaaaaaaaaaa"


def legacy_ciphertext(secret_key: str, plaintext: str) -> str:
    """What the first scheme wrote: Fernet under SHA-256(SECRET_KEY), for every purpose."""
    key = base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest())
    return Fernet(key).encrypt(plaintext.encode()).decode()


def test_each_purpose_has_its_own_key_and_cannot_read_another_purposes_ciphertext() -> None:
    keys = {purpose: derive_key(NEW, purpose) for purpose in Purpose}
    vault = Vault(NEW)

    token = vault.store_tokens.encrypt("shop-token")

    assert len(set(keys.values())) == 3
    assert derive_key(NEW, Purpose.STORE_TOKEN) == keys[Purpose.STORE_TOKEN]  # deterministic
    assert derive_key(OLD, Purpose.STORE_TOKEN) != keys[Purpose.STORE_TOKEN]
    assert vault.store_tokens.decrypt(token) == "shop-token"
    with pytest.raises(UnreadableSecretError):
        vault.webhook_secrets.decrypt(token)
    with pytest.raises(UnreadableSecretError):
        vault.token_cache.decrypt(token)


def test_a_ciphertext_under_the_old_key_decrypts_with_it_as_a_fallback_only() -> None:
    token = Vault(OLD).store_tokens.encrypt("shop-token")

    assert Vault(NEW, fallbacks=[OTHER, OLD]).store_tokens.decrypt(token) == "shop-token"
    with pytest.raises(UnreadableSecretError):
        Vault(NEW).store_tokens.decrypt(token)


@pytest.mark.parametrize("written_with", [NEW, OLD])
def test_legacy_sha256_ciphertexts_decrypt_for_the_current_key_and_the_fallbacks(
    written_with: str,
) -> None:
    token = legacy_ciphertext(written_with, "whsec_abc")
    vault = Vault(NEW, fallbacks=[OLD])

    assert vault.webhook_secrets.decrypt(token) == "whsec_abc"
    assert vault.store_tokens.decrypt(token) == "whsec_abc"  # the legacy key was shared
    assert vault.webhook_secrets.is_current(token) is False
    with pytest.raises(UnreadableSecretError):
        Vault(OTHER).webhook_secrets.decrypt(token)


def test_new_ciphertexts_are_never_written_under_the_legacy_or_a_fallback_key() -> None:
    token = Vault(NEW, fallbacks=[OLD]).store_tokens.encrypt("shop-token")

    assert Vault(NEW).store_tokens.decrypt(token) == "shop-token"
    assert Vault(NEW).store_tokens.is_current(token) is True
    with pytest.raises(UnreadableSecretError):
        Vault(OLD).store_tokens.decrypt(token)
    with pytest.raises(InvalidToken):
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(NEW.encode()).digest())).decrypt(
            token.encode()
        )


@pytest.mark.parametrize(
    "token",
    [Vault(OLD).store_tokens.encrypt("shop-token"), legacy_ciphertext(OLD, "shop-token")],
    ids=["old-key", "legacy"],
)
def test_rotation_gives_a_current_key_ciphertext_and_a_second_rotation_is_not_needed(
    token: str,
) -> None:
    box = Vault(NEW, fallbacks=[OLD]).store_tokens

    rotated = box.rotate(token)

    assert rotated != token
    assert box.is_current(token) is False
    assert box.is_current(rotated) is True
    assert Vault(NEW).store_tokens.decrypt(rotated) == "shop-token"  # no fallback needed
    assert box.rotate(rotated) != rotated  # rotate always re-encrypts: callers check first


@pytest.mark.parametrize(
    "ciphertext", ["", "not-a-fernet-token", "gAAAAA" + "A" * 80, "é" * 10], ids=repr
)
def test_a_wrong_key_or_garbage_is_a_domain_error_that_carries_no_content(
    ciphertext: str,
) -> None:
    box = Vault(NEW).store_tokens
    wrong_key = Vault(OTHER).store_tokens.encrypt("the-plaintext")

    for token in (ciphertext, wrong_key):
        with pytest.raises(UnreadableSecretError) as caught:
            box.decrypt(token)
        with pytest.raises(UnreadableSecretError) as rotated:
            box.rotate(token)
        for error in (caught.value, rotated.value):
            assert "the-plaintext" not in str(error)
            assert not token or token not in str(error)
            assert "SECRET_KEY" in str(error)
        assert box.is_current(token) is False


def test_reprs_hide_the_keys() -> None:
    vault = Vault(NEW, fallbacks=[OLD])

    assert NEW not in repr(vault)
    assert OLD not in repr(vault.store_tokens)
    assert repr(vault.store_tokens) == "SecretBox(STORE_TOKEN, <hidden>)"


def test_settings_read_comma_separated_fallbacks_as_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SECRET_KEY", NEW)
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", f" {OLD} ,,{OTHER}")

    settings = Settings()
    token = Vault(OTHER).webhook_secrets.encrypt("whsec_x")

    assert [key.get_secret_value() for key in settings.secret_key_fallbacks] == [OLD, OTHER]
    assert OLD not in repr(settings)
    assert open_vault(settings).webhook_secrets.decrypt(token) == "whsec_x"


def test_secret_key_outside_dev_is_required_and_at_least_32_characters() -> None:
    with pytest.raises(ConfigurationError, match="required"):
        resolve_secret_key(Settings(marketsync_mode="serve", secret_key=None))
    with pytest.raises(ConfigurationError, match="at least 32"):
        resolve_secret_key(Settings(marketsync_mode="serve", secret_key=SecretStr("x" * 31)))
    assert resolve_secret_key(Settings(secret_key=SecretStr("x" * 32))) == "x" * 32


def test_the_dev_key_file_is_generated_once_private_and_long_enough(tmp_path: Path) -> None:
    path = tmp_path / ".marketsync-secret"
    settings = Settings(marketsync_mode="dev", secret_key=None, secret_key_file=str(path))

    first = resolve_secret_key(settings)
    second = resolve_secret_key(settings)

    assert first == second == path.read_text()
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_short_dev_key_file_is_refused_not_used(tmp_path: Path) -> None:
    path = tmp_path / ".marketsync-secret"
    path.write_text("short\n")
    settings = Settings(marketsync_mode="dev", secret_key=None, secret_key_file=str(path))

    with pytest.raises(ConfigurationError, match="at least 32") as caught:
        resolve_secret_key(settings)

    assert "short" not in str(caught.value).replace(str(path), "")
    assert path.read_text() == "short\n"
