"""The read model's lean decoding (issue 16): each record once, a notification only as far as needed.

The projected read must give exactly the fields the full decode gives, for every
released Notification version, keep the codec's refusals, and feed the view and
the statistics the same answers as before.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from views.view_support import T0, notifications, obligation, report

from seabus.schemas.codec import Codec, decode_model, default_codec, encode_model
from seabus.schemas.errors import CodecError
from seabus.schemas.models import Notification
from seabus.streams.stats.facts import StatsIndex
from seabus.streams.views import Ingested, ViewIndex
from seabus.streams.views.lean import NotificationFacts, RecordDecoder

S = timedelta(seconds=1)


def _notes() -> list[Notification]:
    return notifications(report("SYNTH-LEAN-1", state="KEN"), routed_at=T0 + S)


def test_the_projected_read_gives_the_fields_of_the_full_decode() -> None:
    notes = _notes()
    assert len(notes) >= 2  # at least the Member State and OSC
    decoder = RecordDecoder()
    for note in notes:
        value = encode_model(note)
        assert decoder.notification(value) == NotificationFacts.of(decode_model(value, Notification))


@pytest.mark.parametrize("version", [1, 2])
def test_every_released_writer_version_is_read(version: int) -> None:
    codec = default_codec()
    note = _notes()[0]
    try:
        value = codec.encode("Notification", note.to_avro(), version=version)
    except CodecError:
        pytest.skip(f"this notification does not fit notification v{version}")
    full = decode_model(value, Notification, codec=codec)
    assert RecordDecoder(codec).notification(value) == NotificationFacts.of(full)


def test_the_codec_refusals_stay() -> None:
    decoder = RecordDecoder(Codec(max_bytes=100_000))
    note = encode_model(_notes()[0])
    with pytest.raises(CodecError):
        decoder.notification(b"not avro")
    with pytest.raises(CodecError):
        decoder.notification(note[:-3])  # cut short
    with pytest.raises(CodecError):
        decoder.notification(note + b"\x00")  # something after the datum
    with pytest.raises(CodecError):
        decoder.notification(encode_model(report("SYNTH-LEAN-2")))  # another record type
    with pytest.raises(CodecError):
        RecordDecoder(Codec(max_bytes=len(note) - 1)).notification(note)  # oversized


def test_one_decode_feeds_both_indexes_with_the_same_answers() -> None:
    """Shared decoder: the view and the statistics see what they saw with a decoder each."""
    e = report("SYNTH-LEAN-3", state="KEN")
    records = [("sea.allegations", encode_model(e))]
    records += [(f"sea.notify.{n.recipient}", encode_model(n)) for n in notifications(e, routed_at=T0 + S)]
    update = obligation("SYNTH-LEAN-3", due_at=T0 + 60 * S)
    records.append(("sea.obligations", encode_model(update)))
    decoder = RecordDecoder()
    shared = (ViewIndex(prefix="sea", decoder=decoder), StatsIndex(prefix="sea", decoder=decoder))
    alone = (ViewIndex(prefix="sea"), StatsIndex(prefix="sea"))
    for topic, value in records:
        for view, stats in (shared, alone):
            assert view.ingest(topic, key=b"SYNTH-LEAN-3", value=value) is Ingested.INDEXED
            stats.ingest(topic, key=b"SYNTH-LEAN-3", value=value)
    assert shared[0].timeline("SYNTH-LEAN-3") == alone[0].timeline("SYNTH-LEAN-3")
    assert shared[0].overdue(T0 + 120 * S) == alone[0].overdue(T0 + 120 * S)
    assert shared[1].states == alone[1].states
    assert shared[1].states
    assert shared[1].obligations == alone[1].obligations
    assert shared[1].obligations
    assert shared[1].allegations == alone[1].allegations
    assert shared[1].allegations


def test_a_notification_added_as_a_model_is_the_same_entry_as_one_read_from_bytes() -> None:
    note = _notes()[0]
    from_model, from_bytes = ViewIndex(prefix="sea"), ViewIndex(prefix="sea")
    from_model.add(note)
    from_bytes.ingest(f"sea.notify.{note.recipient}", key=None, value=encode_model(note))
    assert from_model.timeline(note.allegation_id) == from_bytes.timeline(note.allegation_id)
    assert from_bytes.last_notified_at(note.allegation_id, note.recipient) == note.routed_at
