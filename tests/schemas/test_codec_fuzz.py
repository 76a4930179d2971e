"""Property: whatever the bytes, decoding returns a datum or raises CodecError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seabus.schemas import testing
from seabus.schemas.codec import HEADER_SIZE, MAGIC, decode, decode_model, encode_model
from seabus.schemas.errors import CodecError
from seabus.schemas.models import RECORD_MODELS, SeabusRecord
from seabus.schemas.registry import default_registry

# No deadline: the property is about exceptions, not speed (benchmarks are separate).
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SAMPLES = [
    encode_model(build(3))
    for build in (
        testing.synthetic_allegation_event,
        testing.synthetic_notification,
        testing.synthetic_response,
        testing.synthetic_escalation,
        testing.synthetic_dead_letter,
        testing.synthetic_delivery_attempt,
    )
]
HEADERS = sorted(
    {
        MAGIC + fp
        for sv in default_registry().all_versions()
        for fp in (sv.fingerprint, *sv.alternate_fingerprints)
    }
)


def _decodes_or_raises_codec_error(data: bytes) -> None:
    error: CodecError | None = None
    try:
        name, datum = decode(data)
    except CodecError as err:
        error = err
    if error is not None:
        assert str(error).startswith(f"{error.reason.value}: ")
        return
    assert name in RECORD_MODELS
    assert isinstance(datum, dict)
    # Whatever decodes also fits its model: the models mirror the schemas.
    assert isinstance(decode_model(data), SeabusRecord)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    _decodes_or_raises_codec_error(data)


@FUZZ
@given(st.sampled_from(HEADERS), st.binary(max_size=600))
def test_random_datum_behind_a_known_header(header: bytes, body: bytes) -> None:
    _decodes_or_raises_codec_error(header + body)


@FUZZ
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_corrupted_messages(sample: bytes, edits: list[tuple[int, int]]) -> None:
    data = bytearray(sample)
    for position, value in edits:
        data[HEADER_SIZE + position % (len(data) - HEADER_SIZE)] = value
    _decodes_or_raises_codec_error(bytes(data))


@FUZZ
@given(st.sampled_from(SAMPLES), st.integers(min_value=0), st.binary(min_size=1, max_size=40))
def test_cut_and_spliced_messages(sample: bytes, cut: int, splice: bytes) -> None:
    cut = HEADER_SIZE + cut % (len(sample) - HEADER_SIZE)
    _decodes_or_raises_codec_error(sample[:cut])
    _decodes_or_raises_codec_error(sample[:cut] + splice)
    _decodes_or_raises_codec_error(sample[:cut] + splice + sample[cut:])
