from reelay_core.media.playlists import Segment, media_playlist, parse_segment_list, segment_uris

LISTED = "seg_00000.ts,0.000000,2.100000\nseg_00001.ts,2.100000,8.100000\nseg_00002.ts,8.1"


def test_a_segment_list_being_written_yields_its_finished_lines():
    assert parse_segment_list(LISTED) == [
        Segment("seg_00000.ts", 0.0, 2.1),
        Segment("seg_00001.ts", 2.1, 8.1),
    ]
    assert parse_segment_list("") == []


def test_the_growing_playlist_and_the_final_one_name_the_same_segments():
    segments = parse_segment_list(LISTED)
    growing = media_playlist(segments[:1], 6, ended=False)
    final = media_playlist(segments, 6, ended=True)
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in growing and "#EXT-X-ENDLIST" not in growing
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in final and final.endswith("#EXT-X-ENDLIST\n")
    # The target duration does not change as the playlist grows.
    assert "#EXT-X-TARGETDURATION:6" in growing and "#EXT-X-TARGETDURATION:6" in final
    assert segment_uris(final)[: len(segment_uris(growing))] == segment_uris(growing)
    assert "#EXTINF:2.100000,\nseg_00000.ts\n#EXTINF:6.000000,\nseg_00001.ts" in final


def test_a_segment_longer_than_configured_raises_the_target_duration():
    playlist = media_playlist([Segment("a.ts", 0, 9.4)], 6, ended=True)
    assert "#EXT-X-TARGETDURATION:9" in playlist
