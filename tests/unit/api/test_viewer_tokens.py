"""Viewer tokens as data: what a token names, which key signs it, how a master playlist
carries it to the playlists it links."""

from __future__ import annotations

import uuid

import jwt
import pytest
from litestar.exceptions import NotAuthorizedException
from litestar.security.jwt import Token
from reelay_api.viewer import tokens

SECRET = "unit-test-secret-" + "x" * 32

MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="audio.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2800000,RESOLUTION=1280x720
720p.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360
360p.m3u8?v=2
#EXT-X-I-FRAME-STREAM-INF:URI="https://storage.example/iframes.m3u8?X-Amz-Signature=ab"
https://storage.example/seg.ts?X-Amz-Signature=cd
"""


def test_the_master_playlist_carries_the_token_to_its_own_playlists_only() -> None:
    carried = tokens.carry_token(MASTER, "TKN").splitlines()
    assert "720p.m3u8?token=TKN" in carried
    assert "360p.m3u8?v=2&token=TKN" in carried
    assert any('URI="audio.m3u8?token=TKN"' in line for line in carried)
    # Presigned storage URLs keep their own signature and never see the token.
    assert not [line for line in carried if "storage.example" in line and "TKN" in line]
    assert carried[:2] == ["#EXTM3U", "#EXT-X-VERSION:6"]


def test_a_token_names_its_owner_and_item_and_expires() -> None:
    owner, media = uuid.uuid4(), uuid.uuid4()
    encoded, expires_at = tokens.issue(SECRET, owner, media, ttl_seconds=600)
    claims = jwt.decode(encoded, tokens.signing_key(SECRET), algorithms=["HS256"])
    assert claims["sub"] == str(owner) and claims["extras"]["media"] == str(media)
    assert claims["exp"] == int(expires_at.timestamp())


def test_viewer_and_session_tokens_are_signed_with_different_keys() -> None:
    encoded, _ = tokens.issue(SECRET, uuid.uuid4(), uuid.uuid4(), ttl_seconds=600)
    assert tokens.signing_key(SECRET) != SECRET
    with pytest.raises(NotAuthorizedException):
        Token.decode(encoded, SECRET, "HS256")  # as the session middleware reads tokens
    assert tokens.signing_key(SECRET) != tokens.signing_key(SECRET + "y")
