"""Codec overhead: seabus encode/decode versus bare fastavro, same datum, same run.

Run:  .venv/bin/python bench/codec/run.py [--number N] [--repeat R]

The datum is a typical allegation event (two subjects, one victim count, an
interim action, a short confidential narrative; see schemas.testing). Bare
fastavro is ``schemaless_writer``/``schemaless_reader`` on a BytesIO with the
already-parsed schema: the floor any Avro codec in Python pays. Seabus adds
the single-object header, fingerprint lookup, size limit, trailing-byte check
and strict field checking (codec rows); the model rows add pydantic
(``model_dump``/``model_validate``) and, last, the semantic validation of
schemas.validation. Cases are interleaved within each repeat and the best
repeat is reported, which is the figure least disturbed by other load.
"""

from __future__ import annotations

import argparse
import io
import platform
import sys
import timeit
from collections.abc import Callable

import fastavro

from seabus.schemas import testing
from seabus.schemas.codec import decode, decode_model, encode, encode_model
from seabus.schemas.models import AllegationEvent
from seabus.schemas.registry import default_registry
from seabus.schemas.validation import validate_allegation_event


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000, help="calls per timing")
    parser.add_argument("--repeat", type=int, default=7, help="timings per case")
    args = parser.parse_args(argv)

    event = testing.synthetic_allegation_event()
    datum = event.to_avro()
    parsed = default_registry().latest("AllegationEvent").parsed
    message = encode_model(event)
    body = message[10:]
    entities = frozenset({"MINUSCA"})
    now = testing.SYNTH_NOW

    def bare_encode() -> bytes:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, parsed, datum)
        return out.getvalue()

    def bare_decode() -> object:
        return fastavro.schemaless_reader(io.BytesIO(body), parsed, None)

    def model_decode_validate() -> None:
        validate_allegation_event(decode_model(message, AllegationEvent), known_entities=entities, now=now)

    assert bare_encode() == body
    cases: dict[str, Callable[[], object]] = {
        "fastavro encode": bare_encode,
        "fastavro decode": bare_decode,
        "seabus encode (dict)": lambda: encode("AllegationEvent", datum),
        "seabus decode (dict)": lambda: decode(message, expected_type="AllegationEvent"),
        "seabus encode_model": lambda: encode_model(event),
        "seabus decode_model": lambda: decode_model(message, AllegationEvent),
        "decode_model + validate": model_decode_validate,
    }
    best = {name: float("inf") for name in cases}
    for _ in range(args.repeat):
        for name, case in cases.items():
            seconds = timeit.timeit(case, number=args.number)
            best[name] = min(best[name], seconds / args.number * 1e6)

    base = {"encode": best["fastavro encode"], "decode": best["fastavro decode"]}
    print(
        f"typical AllegationEvent: {len(message)} bytes on the wire ({len(body)} datum); "
        f"Python {platform.python_version()}, fastavro {fastavro.__version__}, "
        f"{args.repeat}x{args.number} calls, best repeat"
    )
    print(f"{'case':<26}{'us/event':>10}{'ratio':>8}")
    for name, micros in best.items():
        kind = "encode" if "encode" in name else "decode"
        print(f"{name:<26}{micros:>10.2f}{micros / base[kind]:>8.2f}")
    codec_ratios = [
        best["seabus encode (dict)"] / base["encode"],
        best["seabus decode (dict)"] / base["decode"],
    ]
    goal = max(codec_ratios) < 1.5
    print(f"codec goal (framing + checks under 1.5x bare fastavro): {'met' if goal else 'NOT met'}")
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())
